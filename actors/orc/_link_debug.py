"""`DebugObjectPlugin`: objects with debug info registered with the GDB JIT interface.

What LLVM's debug-object plugins do for an object with DWARF sections (jitlink-elf-x86-64.md
§9.2): copy the **whole original object file**, set ``sh_addr`` of each loaded section
(SHF_ALLOC, SHT_PROGBITS or SHT_X86_64_UNWIND; NOBITS ones are left alone) to where the link
put it, place the copy in read-only executor memory of its own, and register that range with
the executor's GDB JIT interface (``__jit_debug_descriptor`` and ``__jit_debug_register_code``),
where a debugger finds it and relocates the DWARF with the patched addresses:

| | LLVM 14-21 (``DebugObjectManagerPlugin``) | LLVM 22 (``ELFDebugObjectPlugin``) |
|---|---|---|
| register | ``llvm_orc_registerJITLoaderGDBWrapper(range)`` (19, 17-21 inferred: ``(range, true)``) after finalize (looked up in the process, required) | finalize action ``llvm_orc_registerJITLoaderGDBAllocAction(range, true)`` on the code graph |
| memory | one reservation per debug object | the same |

(The row's `protocol.DebugObjectRegistration`.)

The copy's memory is kept for the session's life, as LLVM 22 keeps it: the executor's list of
registered objects (and a debugger) points into it, and entries are never removed. An object
without ``.debug_*`` sections gets nothing. A link that fails releases its copy.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

import protocol
from protocol import (
    NULL_WRAPPER_CALL,
    AllocActionCallPair,
    ExecutorAddrRange,
    MemProt,
    WrapperFunctionCall,
)

from ._epc_errors import ExecutorCallError
from ._epc_memory import Segment
from ._link_plugin import LinkedGraph, LinkPlugin

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._epc import ExecutorProcessControl
    from ._link_driver import MemoryManager
    from ._materialization import MaterializationResponsibility
    from .jitlink import LinkGraph

__all__ = ["DebugObjectPlugin", "debug_object", "has_debug_info"]

_REGISTER_14: Final = protocol.REGISTER_JITLOADER_GDB_WRAPPER
_REGISTER_AUTO: Final = protocol.REGISTER_JITLOADER_GDB_WRAPPER_AUTO
_REGISTER_22: Final = protocol.REGISTER_JITLOADER_GDB_ALLOC_ACTION
_SHF_ALLOC: Final = 0x2
_PATCHED_TYPES: Final = (1, 0x70000001)  # SHT_PROGBITS, SHT_X86_64_UNWIND
_SHDR: Final = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr: name type flags addr offset size ...
_U64: Final = struct.Struct("<Q")


def _sections(data: bytes) -> list[tuple[int, bytes, int, int, int]]:
    """(index, name, type, flags, header offset) of every section of a checked ELF64 file."""
    (shoff,) = _U64.unpack_from(data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
    strings_offset, strings_size = headers[shstrndx][4], headers[shstrndx][5]
    strings = data[strings_offset : strings_offset + strings_size]
    found = []
    for index, header in enumerate(headers):
        name_offset = header[0]
        name = strings[name_offset : strings.find(b"\0", name_offset)]
        found.append((index, name, header[1], header[2], shoff + index * shentsize))
    return found


def has_debug_info(data: bytes) -> bool:
    """Whether the (already checked) object has DWARF sections (``.debug_*``)."""
    return any(name.startswith(b".debug_") for _, name, _, _, _ in _sections(data))


def debug_object(data: bytes, load_addresses: Mapping[int, int]) -> bytes:
    """A copy of the object with each loaded section's ``sh_addr`` set to its load address.

    Args:
        data: the original object (already checked by the reader).
        load_addresses: ELF section index -> address (`LinkResult.elf_sections`); sections
            the link dropped keep ``sh_addr`` 0.
    """
    image = bytearray(data)
    for index, _name, kind, flags, header in _sections(data):
        address = load_addresses.get(index)
        if address is not None and flags & _SHF_ALLOC and kind in _PATCHED_TYPES:
            _U64.pack_into(image, header + 16, address)
    return bytes(image)


class DebugObjectPlugin(LinkPlugin):
    """Registers objects that carry debug info with the executor's GDB JIT interface
    (module docstring). Add it to an ObjectLinkingLayer; orcrt-jitlink does when it runs
    code (llvm-jitlink's ``-debugger-support`` default).

    Args:
        epc: the executor's EPC.
        memory_manager: where the copies get memory (default: the EPC's).
        page_size: default: the EPC's.

    Raises:
        MissingBootstrapSymbolError: an LLVM 22 executor without the GDB alloc action
            (llvm-jitlink then warns ``Debugger support not available`` and goes on).
    """

    def __init__(
        self,
        epc: ExecutorProcessControl,
        memory_manager: MemoryManager | None = None,
        *,
        page_size: int | None = None,
    ) -> None:
        self._epc = epc
        self._memory: MemoryManager = memory_manager or epc.memory_manager
        self._page_size = page_size or epc.page_size
        style = epc.llvm_protocol.debug_objects
        self._direct = style is not protocol.DebugObjectRegistration.ALLOC_ACTION
        self._auto_register = style is protocol.DebugObjectRegistration.WRAPPER_RANGE_AUTO
        self._action = 0
        if not self._direct:
            self._action = epc.bootstrap_address(_REGISTER_22.name, "debugger support")
        self._wrapper: int | None = None
        self._objects: dict[MaterializationResponsibility, bytes] = {}
        self._pending: dict[MaterializationResponsibility, tuple[int, ExecutorAddrRange]] = {}

    def __repr__(self) -> str:
        how = "wrapper calls" if self._direct else "alloc actions"
        return f"<DebugObjectPlugin llvm={self._epc.llvm_major} {how} pending={len(self._pending)}>"

    def notify_materializing(
        self, mr: MaterializationResponsibility, graph: LinkGraph, object_bytes: bytes
    ) -> None:
        """Keep the object's bytes if it has debug info."""
        if has_debug_info(object_bytes):
            self._objects[mr] = object_bytes

    async def notify_linked(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        """Make, place and finalize the debug object; alloc actions (22): add the register
        action."""
        data = self._objects.pop(mr, None)
        if data is None:
            return
        image = debug_object(data, linked.result.elf_sections)
        size = -(-len(image) // self._page_size) * self._page_size
        base = await self._memory.reserve(size)
        try:
            await self._memory.finalize([Segment(MemProt.READ, base, size, image)])
        except BaseException:
            await self._memory.release([base])
            raise
        section = ExecutorAddrRange(base, base + len(image))
        self._pending[mr] = (base, section)
        if not self._direct:
            register = WrapperFunctionCall(self._action, _REGISTER_22.encode_args(section, True))
            linked.actions.append(AllocActionCallPair(register, NULL_WRAPPER_CALL))

    async def notify_emitted(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        """Direct calls (14-21): register the debug object (the code is finalized)."""
        pending = self._pending.get(mr)
        if pending is None or not self._direct:
            self._pending.pop(mr, None)
            return
        _, section = pending
        if self._wrapper is None:
            handle = await self._epc.dylibs.open(None)
            (found,) = await self._epc.dylibs.lookup(handle, [(_REGISTER_14.name, True)])
            assert found is not None  # required: a missing one raised
            self._wrapper = found.address
        if self._auto_register:
            result = await self._epc.call_sps(_REGISTER_AUTO, section, True, address=self._wrapper)
        else:
            result = await self._epc.call_sps(_REGISTER_14, section, address=self._wrapper)
        if isinstance(result, protocol.Failure):
            raise ExecutorCallError(result.message, function=_REGISTER_14.name)
        del self._pending[mr]  # registered: the executor's list points into it from now on

    async def notify_failed(self, mr: MaterializationResponsibility, error: BaseException) -> None:
        """Release the debug object of a link that failed before registering it."""
        self._objects.pop(mr, None)
        pending = self._pending.pop(mr, None)
        if pending is not None:
            await self._memory.release([pending[0]])
