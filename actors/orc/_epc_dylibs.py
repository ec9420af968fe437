"""The dynamic-library client of an EPC (LLVM's ``EPCGenericDylibManager``).

| call   | LLVM 14-17                                             | LLVM 18-21                                          | LLVM 22                                               |
|--------|--------------------------------------------------------|-----------------------------------------------------|-------------------------------------------------------|
| open   | ``open(Inst, path, mode) -> Expected<u64 handle>``     | the same                                            | the same, the handle is an opaque address             |
| lookup | ``lookup(Inst, handle, [(name, required)]) -> [addr]`` | the same name ``-> [(addr, flags)]``                | ``resolve(handle, [(name, required)]) -> [Optional<(addr, flags)>]`` |

(`protocol.DylibLookup`; each version's variant is its row of `protocol.LLVM_PROTOCOLS`.) The
two ``lookup`` answers differ in size (8 or 10 bytes per name), so one that does not fit the
row's variant is read as the other: 17 and 18 are inferred rows, and either answer is
understood whichever was announced.

An empty path opens the executor process itself (its global symbols). Names go out exactly as
given (no mangling). A symbol not found comes back as None (address 0, or 22's ``None``); a
*required* one that is missing is an error (LLVM 14-21's executor and orcrt's answer
``Missing definition for <name>``; LLVM 22's answers None, and the EPC raises the same error).
Found symbols come back as the ORC core's `ExecutorSymbolDef` (what generators define): LLVM
14-17's executors report no flags, so they are EXPORTED as LLVM's controller assumes; from 18 on
the flag byte is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import protocol
from protocol import SymbolLookup

from ._epc_errors import ExecutorCallError
from ._flags import ExecutorSymbolDef, JITSymbolFlags

if TYPE_CHECKING:
    from ._epc import ExecutorProcessControl

__all__ = ["EPCDylibManager"]

_EXPORTED = JITSymbolFlags.EXPORTED
# The flag bits JITSymbolFlags knows (an executor may set others; they carry no meaning here).
_KNOWN_FLAGS = 0x7F


class EPCDylibManager:
    """Client of the executor's dylib manager (see the module table). Made by
    `ExecutorProcessControl.dylibs`; same loop and lifetime as its EPC.

    Errors: an error value from the executor raises `ExecutorCallError` with its message;
    transport problems raise as `ExecutorProcessControl.call_wrapper` does.
    """

    def __init__(self, epc: ExecutorProcessControl) -> None:
        self._epc = epc

    def __repr__(self) -> str:
        return f"<EPCDylibManager llvm={self._epc.llvm_major}>"

    @property
    def instance(self) -> int:
        """The executor's dylib manager (``…_SimpleExecutorDylibManager_Instance``)."""
        return self._epc.bootstrap_address(protocol.DYLIB_MANAGER_INSTANCE_SYMBOL)

    async def open(self, path: str | None, mode: int = 0) -> int:
        """Load the library at ``path`` in the executor (None or "": the process itself).

        Returns:
            The handle `lookup` takes (14: 0, 1, 2, ...; 22: an opaque address).

        Raises:
            ExecutorCallError: the executor could not load it (its message names the path).
        """
        return await self._epc._checked(protocol.DYLIB_OPEN, self.instance, path or "", mode)

    async def lookup(
        self, handle: int, symbols: Sequence[str | tuple[str, bool]]
    ) -> list[ExecutorSymbolDef | None]:
        """Look ``symbols`` up in the library ``handle``, in one call.

        Each item is a name (looked up as required) or ``(name, required)``; weakly
        referenced names (``required=False``) that are missing come back as None.

        Returns:
            One entry per name, in order: the address and flags (``actors.orc``'s
            `ExecutorSymbolDef`; 14 reports every symbol as Exported), or None.

        Raises:
            ExecutorCallError: a required symbol is missing (``Missing definition for <name>``),
                or the executor answered with another error (e.g. ``handle`` is unknown).
            protocol.DecodeError: the answer does not have one entry per name.
        """
        lookups = [
            SymbolLookup(item, True) if isinstance(item, str) else SymbolLookup(*item)
            for item in symbols
        ]
        found: list[ExecutorSymbolDef | None]
        if self._epc.llvm_protocol.dylib_lookup is protocol.DylibLookup.RESOLVE:
            definitions = await self._epc._checked(protocol.DYLIB_RESOLVE, handle, lookups)
            found = [_definition(item) for item in definitions]
        else:
            found = await self._lookup(handle, lookups)
        if len(found) != len(lookups):
            raise protocol.DecodeError(
                f"the executor answered a lookup of {len(lookups)} symbols with "
                f"{len(found)} entries",
                offset=0,
            )
        for item, definition in zip(lookups, found, strict=True):
            if item.required and definition is None:
                # LLVM 22's executor answers None; 14's (and orcrt's) fail with this text.
                raise ExecutorCallError(
                    f"Missing definition for {item.name}", function=protocol.DYLIB_RESOLVE.name
                )
        return found

    async def _lookup(
        self, handle: int, lookups: list[SymbolLookup]
    ) -> list[ExecutorSymbolDef | None]:
        """``lookup_wrapper``, its answer read as the row's variant (addresses or symbol
        definitions); an answer that fits only the other one (an inferred row's guess was
        wrong) is asked again and read as that: lookups change nothing in the executor."""
        epc = self._epc
        defs = epc.llvm_protocol.dylib_lookup is protocol.DylibLookup.SYMBOL_DEFS
        first, second = (
            (protocol.DYLIB_LOOKUP_SYMBOL_DEFS, protocol.DYLIB_LOOKUP)
            if defs
            else (protocol.DYLIB_LOOKUP, protocol.DYLIB_LOOKUP_SYMBOL_DEFS)
        )
        args = (self.instance, handle, lookups)
        value: Sequence[int | protocol.ExecutorSymbolDef]
        try:
            value = await epc._checked(first, *args)
        except protocol.DecodeError:
            value = await epc._checked(second, *args)
        return [
            _definition(item)
            if isinstance(item, protocol.ExecutorSymbolDef)
            else (ExecutorSymbolDef(int(item), _EXPORTED) if item else None)
            for item in value
        ]


def _definition(item: protocol.ExecutorSymbolDef | None) -> ExecutorSymbolDef | None:
    """A wire symbol definition as the core's, None for absent or address 0."""
    if item is None or not item.addr:
        return None
    return ExecutorSymbolDef(item.addr, item.flags & _KNOWN_FLAGS)
