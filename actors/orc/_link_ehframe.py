"""`EHFrameRegistrationPlugin`: each linked graph's ``.eh_frame`` registered with the
executor's unwinder, so C++ exceptions unwind through JIT'd frames.

LLVM versions do it differently (orcv2-reference.md §4.8, jitlink-elf-x86-64.md §6.2; the
row's `protocol.EhFrameRegistration`):

| | LLVM 14-20 (``EPCEHFrameRegistrar``) | LLVM 21-22 (``EHFrameRegistrationPlugin``) |
|---|---|---|
| how | direct wrapper calls | an alloc-action pair on the graph |
| register | ``llvm_orc_registerEHFrameSectionWrapper(range)`` after finalize, before the symbols are emitted | ``llvm_orc_registerEHFrameAllocAction(range)`` inside ``initialize`` |
| deregister | ``llvm_orc_deregisterEHFrameSectionWrapper(range)`` when the tracker is removed, before ``deallocate`` | ``llvm_orc_deregisterEHFrameAllocAction(range)`` inside ``release`` |
| found | 14-16: looked up in the process (dylib ``open("")``, ``required=true``) on first use; 19: bootstrap symbols of those names | the bootstrap symbols, at plugin creation |

A row that allows more than one way (an inferred one) uses the first of alloc actions,
bootstrap wrappers, process lookup whose names the executor's Setup has.

The range is the graph's ``.eh_frame`` from its first CIE to the end of the 4-byte zero
terminator the linker appends (`LinkResult.eh_frame`); a graph without CFI registers nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import protocol
from protocol import AllocActionCallPair, ExecutorAddrRange, WrapperFunctionCall

from ._epc_errors import ExecutorCallError
from ._link_plugin import LinkedGraph, LinkPlugin

if TYPE_CHECKING:
    from ._epc import ExecutorProcessControl
    from ._jitdylib import JITDylib
    from ._materialization import MaterializationResponsibility

__all__ = ["EHFrameRegistrationPlugin"]

_REGISTER_14 = protocol.REGISTER_EHFRAME_SECTION_WRAPPER
_DEREGISTER_14 = protocol.DEREGISTER_EHFRAME_SECTION_WRAPPER
_REGISTER_22 = protocol.REGISTER_EHFRAME_ALLOC_ACTION
_DEREGISTER_22 = protocol.DEREGISTER_EHFRAME_ALLOC_ACTION
_Style = protocol.EhFrameRegistration
# Preference among a row's ways, each with the bootstrap name that shows the executor has it.
_PREFERENCE = (
    (_Style.ALLOC_ACTION, _REGISTER_22.name),
    (_Style.BOOTSTRAP_WRAPPER, _REGISTER_14.name),
    (_Style.PROCESS_LOOKUP, None),
)


def _style(epc: ExecutorProcessControl) -> protocol.EhFrameRegistration:
    """The way to register with ``epc``'s executor: its row's, or, if the row allows several,
    the first the Setup offers (else the row's newest, whose check names what is missing)."""
    allowed = [(style, name) for style, name in _PREFERENCE if style in epc.llvm_protocol.eh_frame]
    for style, name in allowed:
        if name is None or name in epc.bootstrap_symbols:
            return style
    return allowed[0][0]


class EHFrameRegistrationPlugin(LinkPlugin):
    """Registers graphs' eh-frames with ``epc``'s executor (module docstring).

    ObjectLinkingLayer adds one by default. Made on the EPC's loop; one per layer.

    Raises:
        MissingBootstrapSymbolError: an LLVM 19 or 22 executor without its eh-frame bootstrap
            symbols (wrappers or alloc actions) in its Setup (LLVM's llvm-jitlink refuses such
            an executor the same way).
    """

    def __init__(self, epc: ExecutorProcessControl) -> None:
        self._epc = epc
        style = _style(epc)
        self._direct = style is not _Style.ALLOC_ACTION
        self._actions: tuple[int, int] | None = None
        self._wrappers: tuple[int, int] | None = None
        if style is _Style.ALLOC_ACTION:
            need = f"eh-frame registration (LLVM {epc.llvm_major} alloc actions)"
            self._actions = (
                epc.bootstrap_address(_REGISTER_22.name, need),
                epc.bootstrap_address(_DEREGISTER_22.name, need),
            )
        elif style is _Style.BOOTSTRAP_WRAPPER:
            need = f"eh-frame registration (LLVM {epc.llvm_major} bootstrap wrappers)"
            self._wrappers = (
                epc.bootstrap_address(_REGISTER_14.name, need),
                epc.bootstrap_address(_DEREGISTER_14.name, need),
            )
        self._looking: asyncio.Event | None = None
        self._registered: dict[int, list[ExecutorAddrRange]] = {}

    def __repr__(self) -> str:
        how = "direct calls" if self._direct else "alloc actions"
        return f"<EHFrameRegistrationPlugin llvm={self._epc.llvm_major} {how}>"

    async def notify_linked(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        """Alloc actions (21-22): add the register/deregister pair for the graph's eh-frame."""
        section = linked.result.eh_frame
        if self._actions is None or section is None:
            return
        register, deregister = self._actions
        linked.actions.append(
            AllocActionCallPair(
                WrapperFunctionCall(register, _REGISTER_22.encode_args(section)),
                WrapperFunctionCall(deregister, _DEREGISTER_22.encode_args(section)),
            )
        )

    async def notify_emitted(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        """Direct calls (14-20): register the finalized eh-frame; file it under the MR's
        tracker."""
        section = linked.result.eh_frame
        if not self._direct or section is None:
            return
        register, deregister = await self._find_wrappers()
        await self._call(_REGISTER_14, register, section)

        def file(key: int) -> None:
            self._registered.setdefault(key, []).append(section)

        try:
            await mr.with_resource_key_do(file)
        except BaseException:
            await self._call(_DEREGISTER_14, deregister, section)
            raise

    async def notify_remove_resources(self, jd: JITDylib, key: int) -> None:
        """Direct calls (14-20): deregister the tracker's eh-frames (before its memory is
        released)."""
        sections = self._registered.pop(key, [])
        if not sections:
            return
        _, deregister = await self._find_wrappers()
        first: BaseException | None = None
        for section in reversed(sections):
            try:
                await self._call(_DEREGISTER_14, deregister, section)
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first

    def notify_transfer_resources(self, jd: JITDylib, dst_key: int, src_key: int) -> None:
        """Re-file ``src_key``'s registered eh-frames under ``dst_key``."""
        moved = self._registered.pop(src_key, None)
        if moved:
            self._registered.setdefault(dst_key, []).extend(moved)

    async def _find_wrappers(self) -> tuple[int, int]:
        """The register/deregister wrappers: 19's bootstrap symbols, or (14-16) looked up once
        (required) in the executor process, as ``EPCEHFrameRegistrar::Create`` does."""
        while self._wrappers is None:
            if self._looking is None:
                done = self._looking = asyncio.Event()
                try:
                    self._wrappers = await self._lookup_wrappers()
                finally:
                    self._looking = None
                    done.set()
            else:
                await self._looking.wait()
        return self._wrappers

    async def _lookup_wrappers(self) -> tuple[int, int]:
        dylibs = self._epc.dylibs
        handle = await dylibs.open(None)
        found = await dylibs.lookup(
            handle, [(_REGISTER_14.name, True), (_DEREGISTER_14.name, True)]
        )
        register, deregister = found
        assert register is not None
        assert deregister is not None  # required: a missing one raised
        return register.address, deregister.address

    async def _call(
        self,
        signature: protocol.WrapperSignature[protocol.Failure | None],
        address: int,
        section: ExecutorAddrRange,
    ) -> None:
        result = await self._epc.call_sps(signature, section, address=address)
        if isinstance(result, protocol.Failure):
            raise ExecutorCallError(result.message, function=signature.name)
