"""`EhFrameRegistrar`: register JIT'd ``.eh_frame`` sections with the libgcc unwinder.

On Linux with libgcc, LLVM's executor calls ``__register_frame(start)`` with the start of the
whole section and ``__deregister_frame(start)`` to undo it (simple-remote-epc.md §7.3); libgcc
walks the CIE/FDE records up to the 4-byte zero terminator, which JITLink puts at the end of
the range. Registration is what makes C++ exceptions thrown through JIT'd frames work.

libgcc aborts the process when asked to deregister a section it does not know, and walks
records past the end if the terminator is missing, so this module checks first: the section
must be readable (checked through process_vm_readv, never faulting), start with a CIE, and end
with a terminator within the given size; deregistration is accepted only for sections this
registrar registered and whose memory is still readable.

The unwinder's table is process-global (libgcc's), but each registrar tracks only its own
registrations: one per Session, and `close()` deregisters what is left. Fast; any thread, but
one owner (not thread-safe).
"""

import ctypes
import functools
import struct
from typing import Any, Final

from ._errors import EhFrameError, MemoryAccessError
from ._memory import MAX_READ_SIZE, checked_read

__all__ = ["EhFrameRegistrar"]

_U32: Final = struct.Struct("=I")
_U64: Final = struct.Struct("=Q")
_EXTENDED_LENGTH: Final = 0xFFFFFFFF


class _Libgcc:
    def __init__(self, lib: ctypes.CDLL) -> None:
        self.register_frame: Any = lib[
            "__register_frame"
        ]  # item access: a dunder attribute would be name-mangled
        self.register_frame.restype = None
        self.register_frame.argtypes = (ctypes.c_void_p,)
        self.deregister_frame: Any = lib["__deregister_frame"]
        self.deregister_frame.restype = ctypes.c_void_p
        self.deregister_frame.argtypes = (ctypes.c_void_p,)


@functools.cache
def _libgcc() -> _Libgcc:
    # Same soname as the unwinder libstdc++ uses, so C++ throws see our registrations.
    return _Libgcc(ctypes.CDLL("libgcc_s.so.1"))


def _check_section(address: int, size: int) -> None:
    """Validate the record chain of the section at [address, address+size)."""
    if size < 4 or size > MAX_READ_SIZE:
        raise EhFrameError(
            f"eh-frame section at {address:#x}: size {size:#x} is not between 4 and "
            f"{MAX_READ_SIZE:#x} bytes",
            address=address,
        )
    try:
        data = checked_read(address, size)
    except MemoryAccessError as exc:
        raise EhFrameError(f"eh-frame section at {address:#x}: {exc}", address=address) from exc
    offset = 0
    while offset + 4 <= size:
        (length,) = _U32.unpack_from(data, offset)
        if length == 0:
            return
        header = 4
        if length == _EXTENDED_LENGTH:
            if offset + 12 > size:
                break
            (length,) = _U64.unpack_from(data, offset + 4)
            header = 12
        if offset == 0 and (header + 4 > size or _U32.unpack_from(data, header)[0] != 0):
            raise EhFrameError(
                f"eh-frame section at {address:#x} does not start with a CIE", address=address
            )
        if length > size - offset - header:
            raise EhFrameError(
                f"eh-frame section at {address:#x}: record at offset {offset:#x} "
                f"({length:#x} bytes) runs past the end of the {size:#x}-byte section",
                address=address,
            )
        offset += header + length
    raise EhFrameError(
        f"eh-frame section at {address:#x} has no zero terminator within {size:#x} bytes",
        address=address,
    )


class EhFrameRegistrar:
    """Registers eh-frame sections with libgcc's unwinder and remembers which it registered."""

    def __init__(self) -> None:
        """Create a registrar with nothing registered (loads libgcc_s on first use)."""
        self._registered: list[int] = []  # in registration order

    def __repr__(self) -> str:
        return f"<EhFrameRegistrar registered={len(self._registered)}>"

    def register_eh_frame(self, address: int, size: int) -> None:
        """Register the ``.eh_frame`` section at [address, address+size) (terminator included).

        Raises:
            EhFrameError: unreadable memory, malformed record chain, no terminator, or the
                section is already registered by this registrar.
        """
        if address in self._registered:
            raise EhFrameError(
                f"eh-frame section at {address:#x} is already registered", address=address
            )
        _check_section(address, size)
        _libgcc().register_frame(address)
        self._registered.append(address)

    def deregister_eh_frame(self, address: int) -> None:
        """Deregister a section this registrar registered (before its memory is freed).

        Raises:
            EhFrameError: not registered here, or its memory is no longer readable (it is then
                forgotten; libgcc keeps a stale entry, since touching it would crash).
        """
        if address not in self._registered:
            raise EhFrameError(
                f"eh-frame section at {address:#x} is not registered", address=address
            )
        self._registered.remove(address)
        try:
            checked_read(address, 4)
        except MemoryAccessError as exc:
            raise EhFrameError(
                f"eh-frame section at {address:#x} was freed before deregistration: {exc}",
                address=address,
            ) from exc
        _libgcc().deregister_frame(address)

    def registered(self) -> tuple[int, ...]:
        """Start addresses currently registered by this registrar, oldest first."""
        return tuple(self._registered)

    def close(self) -> None:
        """Deregister everything still registered, newest first. Idempotent.

        Raises:
            EhFrameError: the collected failures, one per line, after trying all.
        """
        errors = []
        while self._registered:
            try:
                self.deregister_eh_frame(self._registered[-1])
            except EhFrameError as exc:
                errors.append(str(exc))
        if errors:
            raise EhFrameError("\n".join(errors), address=0)
