"""GDB JIT interface: tell an attached debugger about JIT'd debug objects.

The C shim defines GDB's well-known ``__jit_debug_descriptor`` (version 1) and a non-inlined
``__jit_debug_register_code`` on which a debugger sets a breakpoint. Registering appends a
``jit_code_entry`` pointing at an in-memory object file, sets ``action_flag`` to
JIT_REGISTER_FN (1) and calls ``__jit_debug_register_code``; deregistering unlinks it with
JIT_UNREGISTER_FN (2). Without a debugger attached this costs a few list operations.

The descriptor is process-global by nature (a debugger looks up exactly one symbol of that
name), so all Sessions of a process share it; the shim serializes every change with one mutex,
so these functions are safe from any thread. `DebugObjectRegistrar` tracks one owner's
registrations so its `close()` removes exactly those. The registered memory must stay mapped
until deregistration (the debugger reads it).

This is LLVM 22's ``llvm_orc_registerJITLoaderGDBAllocAction`` and LLVM 14's
``llvm_orc_registerJITLoaderGDBWrapper`` (simple-remote-epc.md §7.3).
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Final

from ._shim import load_shim

if TYPE_CHECKING:
    from ._records import JitDebugDescriptor

__all__ = [
    "JIT_NOACTION",
    "JIT_REGISTER_FN",
    "JIT_UNREGISTER_FN",
    "DebugObjectRegistrar",
    "deregister_debug_object",
    "jit_debug_descriptor",
    "register_debug_object",
]

JIT_NOACTION: Final = 0
"""``action_flag`` before any registration."""
JIT_REGISTER_FN: Final = 1
"""``action_flag`` after `register_debug_object`: ``relevant_entry`` was added."""
JIT_UNREGISTER_FN: Final = 2
"""``action_flag`` after `deregister_debug_object`: ``relevant_entry`` was removed."""
_U64_LIMIT: Final = 1 << 64


class _Descriptor(ctypes.Structure):
    _fields_ = (
        ("version", ctypes.c_uint32),
        ("action_flag", ctypes.c_uint32),
        ("relevant_entry", ctypes.c_void_p),
        ("first_entry", ctypes.c_void_p),
    )


def register_debug_object(address: int, size: int) -> int:
    """Announce the object file at [address, address+size) to a debugger; returns its handle.

    Raises:
        ValueError: address 0, size 0, or outside the 64-bit address space.
        MemoryError: the entry could not be allocated.
    """
    if not (0 < address < _U64_LIMIT and 0 < size <= _U64_LIMIT - address):
        raise ValueError(
            f"debug object at {address:#x} of {size:#x} bytes is not a non-empty range"
        )
    handle = load_shim().gdb_register(address, size)
    if not handle:
        raise MemoryError("cannot allocate a jit_code_entry")
    return int(handle)


def deregister_debug_object(handle: int) -> None:
    """Withdraw an object registered by `register_debug_object`.

    Raises:
        ValueError: `handle` is not currently registered (nothing changes).
    """
    if not 0 < handle < _U64_LIMIT or load_shim().gdb_deregister(handle) != 0:
        raise ValueError(f"debug object handle {handle:#x} is not registered")


def jit_debug_descriptor() -> JitDebugDescriptor:
    """Read the descriptor (entries are copied under the shim's lock)."""
    shim = load_shim()
    address = int(shim.gdb_descriptor())
    count = int(shim.gdb_entries(None, 0))
    while True:
        pairs = (ctypes.c_uint64 * (2 * count + 2))()
        total = int(shim.gdb_entries(pairs, count + 1))
        if total <= count + 1:
            break
        count = total  # entries were added meanwhile; read again with room for them
    descriptor = _Descriptor.from_address(address)
    from ._records import JitDebugDescriptor

    return JitDebugDescriptor(
        address=address,
        version=descriptor.version,
        action_flag=descriptor.action_flag,
        relevant_entry=descriptor.relevant_entry or 0,
        entries=tuple((pairs[2 * i], pairs[2 * i + 1]) for i in range(total)),
    )


class DebugObjectRegistrar:
    """One owner's debug-object registrations; `close()` withdraws those still registered.

    Not thread-safe (one owner); the underlying descriptor updates are.
    """

    def __init__(self) -> None:
        """Create a registrar with nothing registered."""
        self._handles: list[int] = []

    def __repr__(self) -> str:
        return f"<DebugObjectRegistrar registered={len(self._handles)}>"

    def register(self, address: int, size: int) -> int:
        """`register_debug_object`, remembered for `close`."""
        handle = register_debug_object(address, size)
        self._handles.append(handle)
        return handle

    def deregister(self, handle: int) -> None:
        """`deregister_debug_object` for a handle this registrar returned.

        Raises:
            ValueError: not one of this registrar's current handles.
        """
        if handle not in self._handles:
            raise ValueError(f"debug object handle {handle:#x} is not registered here")
        self._handles.remove(handle)
        deregister_debug_object(handle)

    def handles(self) -> tuple[int, ...]:
        """Handles currently registered through this registrar, oldest first."""
        return tuple(self._handles)

    def close(self) -> None:
        """Deregister everything still registered, newest first. Idempotent."""
        while self._handles:
            deregister_debug_object(self._handles.pop())
