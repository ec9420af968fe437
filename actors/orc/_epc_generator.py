"""`EPCDynamicLibrarySearchGenerator`: the executor's process or a library it loaded, as a
definition generator (LLVM ``EPCDynamicLibrarySearchGenerator``).

Added to a JITDylib, it answers the names a lookup misses there by looking them up in the
executor (``dlsym`` on a handle: ``open("")`` is the process itself, its libraries and
everything loaded RTLD_GLOBAL; ``open(path)`` one library) and defines what it finds as
absolute symbols. Every name is sent with ``required=false``, one wire call per lookup
(orcv2-reference.md §4.3, checklist 57). Flags: LLVM 14's executor reports none (EXPORTED,
as LLVM's controller assumes); 22's come from the executor. An ``allow`` filter keeps names
out, as llvm-jitlink 22 keeps the entry point's name out of its ``Process`` JITDylib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from ._epc import ExecutorProcessControl
from ._flags import ExecutorSymbolDef, JITDylibLookupFlags, LookupKind, SymbolLookupSet
from ._generators import DefinitionGenerator, LookupState
from ._names import Name
from ._units import absolute_symbols

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._session import ExecutionSession

__all__ = ["EPCDynamicLibrarySearchGenerator", "require_epc"]


def require_epc(es: ExecutionSession) -> ExecutorProcessControl:
    """``es.epc`` as an `ExecutorProcessControl`.

    Raises:
        ValueError: the session was opened without one.
    """
    epc = es.epc
    if not isinstance(epc, ExecutorProcessControl):
        raise ValueError(
            f"ExecutionSession {es.name} has no ExecutorProcessControl "
            "(open_execution_session(epc=...))"
        )
    return epc


class EPCDynamicLibrarySearchGenerator(DefinitionGenerator):
    """Defines missing names from a library handle in the executor (module docstring).

    Made by `for_process` or `load` (or directly, from a handle `EPCDylibManager.open`
    returned). The session calls `try_to_generate` from looking-up tasks, one lookup at a
    time per generator. After the EPC disconnects, lookups reaching it fail with
    ``actors.DisconnectedError``.

    Args:
        epc: the executor's EPC.
        handle: the library handle.
        allow: a filter on names (None: every name); names it rejects are left undefined.
        name: what `repr` shows (the library's path, or ``<process>``).
    """

    def __init__(
        self,
        epc: ExecutorProcessControl,
        handle: int,
        *,
        allow: Callable[[Name], bool] | None = None,
        name: str = "<library>",
    ) -> None:
        self._epc = epc
        self._handle = handle
        self._allow = allow
        self._name = name

    def __repr__(self) -> str:
        return f"<EPCDynamicLibrarySearchGenerator {self._name} handle={self._handle:#x}>"

    @property
    def handle(self) -> int:
        """The executor's handle of the library."""
        return self._handle

    @classmethod
    async def for_process(
        cls, es: ExecutionSession, *, allow: Callable[[Name], bool] | None = None
    ) -> Self:
        """A generator for the executor process's own symbols (``open("")``; LLVM
        ``GetForTargetProcess``).

        Raises:
            ValueError: the session has no EPC.
            ExecutorCallError: the executor refused to open itself.
        """
        epc = require_epc(es)
        return cls(epc, await epc.dylibs.open(None), allow=allow, name="<process>")

    @classmethod
    async def load(
        cls, es: ExecutionSession, path: str, *, allow: Callable[[Name], bool] | None = None
    ) -> Self:
        """Load the library at ``path`` in the executor (RTLD_GLOBAL) and make a generator
        for it (LLVM ``Load``).

        Raises:
            ValueError: the session has no EPC, or ``path`` is empty (use `for_process`).
            ExecutorCallError: the executor could not load it (its message names the path).
        """
        if not path:
            raise ValueError("load() needs a library path; for_process() serves the process")
        epc = require_epc(es)
        return cls(epc, await epc.dylibs.open(path), allow=allow, name=path)

    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        """Look the (allowed) names up in the executor, non-required; define what it has as
        absolute symbols in ``jd``."""
        allow = self._allow
        intern = jd.session.intern
        names = [intern(name) for name, _ in lookup_set]
        if allow is not None:
            names = [name for name in names if allow(name)]
        if not names:
            return
        found = await self._epc.dylibs.lookup(self._handle, [(str(name), False) for name in names])
        symbols: dict[str | Name, ExecutorSymbolDef] = {
            name: definition
            for name, definition in zip(names, found, strict=True)
            if definition is not None
        }
        if symbols:
            await jd.define(absolute_symbols(symbols))
