"""Lazy reexports: symbols whose first call compiles their body (LLVM ``lazyReexports``).

`LazyReexportsManager` is LLVM 22's class of that name (with 14's ``LazyCallThroughManager``
and ``IndirectStubsManager`` inside it), for any executor and without the ORC runtime: the
stubs (``_lazy_stubs``), the reentry trampolines and the resolver (``_reentry``) are code the
controller writes into the executor itself.

How a lazy reexport works (orcv2-reference.md §2):

1. ``lazy_reexports(source, {alias: (aliasee, flags)})`` is a unit defining callable aliases.
   When a lookup asks for some of them, the unit materializes only those (the others go back
   to the JITDylib, untouched): each gets a reentry trampoline and a stub whose pointer starts
   at the trampoline, and the alias resolves to the *stub*. Nothing of the aliasee is looked
   up or compiled yet.
2. The first call of the stub goes to the trampoline, the resolver, and the controller, which
   looks the aliasee up in ``source`` (all symbols, state Ready: this is what compiles and
   links the body, once, however many threads call at once), writes its address into the
   stub's pointer and answers it; the resolver jumps to the body with the arguments intact.
3. Later calls jump through the stub straight to the body.

A body that fails to materialize is reported to the session's error reporter and the call
goes to the manager's error handler (`ReentryManager`). The stubs and trampolines of a
materialized unit belong to its resource tracker: removing the tracker takes them back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

import attrs

from ._epc import ExecutorProcessControl
from ._flags import (
    ExecutorSymbolDef,
    JITDylibLookupFlags,
    JITSymbolFlags,
    SymbolAliasMapEntry,
)
from ._lazy_stubs import Stub, StubsManager
from ._materialization import MaterializationResponsibility, MaterializationUnit
from ._names import Name, NameMap, SymbolStringPool
from ._reentry import ReentryManager
from ._tracker import ResourceManager

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._session import ExecutionSession

__all__ = ["LazyReexportsManager", "lazy_reexports"]

_MATCH_ALL: Final = JITDylibLookupFlags.MATCH_ALL_SYMBOLS


@attrs.define(eq=False)
class _Target:
    """One lazy reexport that got a stub: what its trampoline's reentry resolves."""

    source: JITDylib
    alias: Name
    aliasee: Name
    stub: Stub
    trampoline: int
    redirected: asyncio.Future[None] | None = None


class LazyReexportsManager(ResourceManager):
    """Makes lazy reexports work in one session's executor (module docstring).

    Made by `create`; used from the session's loop. `close` (which ``LLLazyJIT`` calls before
    ending the session) releases the executor memory; lazy functions must not be called after
    it.
    """

    def __init__(
        self,
        es: ExecutionSession,
        epc: ExecutorProcessControl,
        on_call: Callable[[Name], None] | None,
    ) -> None:
        self._es = es
        self._epc = epc
        self._on_call = on_call
        self._stubs = StubsManager(epc)
        self._reentry: ReentryManager[_Target] | None = None
        self._by_key: dict[int, list[_Target]] = {}
        self._closed = False

    @classmethod
    async def create(
        cls,
        es: ExecutionSession,
        *,
        epc: ExecutorProcessControl | None = None,
        error_handler: int | None = None,
        on_call: Callable[[Name], None] | None = None,
    ) -> LazyReexportsManager:
        """Set up lazy reexports for ``es``'s executor.

        Writes the resolver (and, without ``error_handler``, the fallback abort thunk) into
        the executor, registers the reentry handler on the EPC and this manager with the
        session (as a resource manager).

        Args:
            es: the session.
            epc: the executor's EPC (default: ``es.epc``).
            error_handler: an executor address where calls continue, with their arguments,
                when a body fails to materialize (LLVM's ``ErrorHandlerAddr``); default: code
                that prints which function failed to stderr and aborts the executor.
            on_call: told the alias of every call that reaches the controller (LLVM 22's
                ``Listener::onLazyReexportCalled``): first calls, and calls that arrive
                while the stub is being redirected. On the loop; must not block.

        Raises:
            ValueError: no EPC, or the executor is not x86-64 Linux.
            actors.DisconnectedError, ExecutorCallError: the executor refused or went away.
        """
        target = epc if epc is not None else es.epc
        if not isinstance(target, ExecutorProcessControl):
            raise ValueError("lazy reexports need an ExecutorProcessControl (the session has none)")
        manager = cls(es, target, on_call)
        manager._reentry = await ReentryManager.create(
            target,
            resolve=manager._resolve,
            describe=lambda t: str(t.alias),
            report_error=es.report_error,
            error_handler=error_handler,
        )
        await es.register_resource_manager(manager)
        return manager

    def __repr__(self) -> str:
        return f"<LazyReexportsManager stubs={self._stubs.live} closed={self._closed}>"

    @property
    def reentries(self) -> int:
        """First calls handled so far (reentries into the controller)."""
        return self._reentry.reentries if self._reentry is not None else 0

    @property
    def fallback(self) -> int:
        """Where calls go when the controller cannot be reached (the error handler given
        at creation, or the abort thunk)."""
        assert self._reentry is not None
        return self._reentry.fallback

    @property
    def error_handler(self) -> int | None:
        """Where calls continue, with their arguments, when a body fails to materialize
        (LLVM's ``ErrorHandlerAddr``); None: code that prints which function failed and
        aborts the executor. Settable (an executor address, or None), e.g. to a function
        JIT'd after the manager was made.

        Raises:
            ValueError: (setting) not a non-zero u64.
        """
        assert self._reentry is not None
        return self._reentry.error_handler

    @error_handler.setter
    def error_handler(self, address: int | None) -> None:
        assert self._reentry is not None
        self._reentry.error_handler = address

    def lazy_reexports(
        self,
        source: JITDylib,
        aliases: NameMap[SymbolAliasMapEntry] | NameMap[tuple[str | Name, JITSymbolFlags]],
    ) -> MaterializationUnit:
        """The unit of `lazy_reexports` for this manager (see there)."""
        return lazy_reexports(self, source, aliases)

    async def close(self) -> None:
        """Deregister from the session and the EPC and release the executor memory;
        idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._es.deregister_resource_manager(self)
        if self._reentry is not None:
            await self._reentry.close()
        await self._stubs.close()

    # -- materialization ------------------------------------------------------------------

    async def _emit(
        self,
        mr: MaterializationResponsibility,
        source: JITDylib,
        wanted: Mapping[Name, Name],
    ) -> None:
        """Stubs for ``wanted`` (alias -> aliasee), resolved to the stubs, emitted."""
        reentry = self._reentry
        if reentry is None or self._closed:
            raise RuntimeError("the LazyReexportsManager is closed")
        aliases = list(wanted)
        targets = [
            _Target(source=source, alias=a, aliasee=wanted[a], stub=Stub(0, 0), trampoline=0)
            for a in aliases
        ]
        trampolines = await reentry.allocate(targets)
        try:
            stubs = await self._stubs.create_stubs(trampolines)
        except BaseException:
            reentry.release(trampolines)
            raise
        for target, trampoline, stub in zip(targets, trampolines, stubs, strict=True):
            target.trampoline = trampoline
            target.stub = stub
        try:
            await mr.with_resource_key_do(
                lambda key: self._by_key.setdefault(key, []).extend(targets)
            )
        except BaseException:
            reentry.release(trampolines)
            self._stubs.free(stubs)
            raise
        flags = mr.symbols
        await mr.notify_resolved(
            {t.alias: ExecutorSymbolDef(t.stub.address, flags[t.alias]) for t in targets}
        )
        await mr.notify_emitted()

    async def _resolve(self, target: _Target) -> int:
        """A first call of ``target``'s stub: the body's address, the stub redirected to it."""
        if self._on_call is not None:
            self._on_call(target.alias)
        found = await self._es.lookup([(target.source, _MATCH_ALL)], [target.aliasee])
        address = found[target.aliasee].address
        if target.redirected is None:
            # Concurrent first calls: one write, everyone answers after it.
            target.redirected = asyncio.ensure_future(
                self._stubs.redirect([(target.stub, address)])
            )
        await asyncio.shield(target.redirected)
        return address

    # -- ResourceManager --------------------------------------------------------------------

    async def handle_remove_resources(self, jd: JITDylib, key: int) -> None:
        """The tracker ``key`` is gone: take its stubs and trampolines back."""
        targets = self._by_key.pop(key, [])
        if self._reentry is not None:
            self._reentry.release(t.trampoline for t in targets)
        if not self._closed:
            self._stubs.free(t.stub for t in targets)

    def handle_transfer_resources(self, jd: JITDylib, dst_key: int, src_key: int) -> None:
        """Stubs of ``src_key`` now belong to ``dst_key``."""
        moved = self._by_key.pop(src_key, None)
        if moved:
            self._by_key.setdefault(dst_key, []).extend(moved)


class _LazyReexportsUnit(MaterializationUnit):
    """Callable aliases whose targets compile on first call (made by `lazy_reexports`)."""

    def __init__(
        self,
        manager: LazyReexportsManager,
        source: JITDylib,
        aliases: dict[str | Name, SymbolAliasMapEntry],
    ) -> None:
        super().__init__({alias: entry.flags for alias, entry in aliases.items()})
        self._manager = manager
        self._source = source
        self._aliases = aliases

    @property
    def name(self) -> str:
        """``<Lazy Reexports>``."""
        return "<Lazy Reexports>"

    def discard(self, jd: JITDylib, name: Name) -> None:
        """Forget the overridden or removed alias ``name``."""
        self._aliases.pop(name, None)

    def _intern_payload(self, pool: SymbolStringPool) -> None:
        self._aliases = {
            pool.intern(alias): SymbolAliasMapEntry(pool.intern(entry.aliasee), entry.flags)
            for alias, entry in self._aliases.items()
        }

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        """Stubs for the requested aliases; the others go back to the JITDylib."""
        requested = await mr.get_requested_symbols()
        wanted: dict[Name, Name] = {}
        rest: dict[str | Name, SymbolAliasMapEntry] = {}
        for name in mr.symbols:
            entry = self._aliases[name]
            if name in requested:
                wanted[name] = mr.session.intern(entry.aliasee)
            else:
                rest[name] = entry
        if rest:
            await mr.replace(_LazyReexportsUnit(self._manager, self._source, rest))
        await self._manager._emit(mr, self._source, wanted)


def lazy_reexports(
    manager: LazyReexportsManager,
    source: JITDylib,
    aliases: NameMap[SymbolAliasMapEntry] | NameMap[tuple[str | Name, JITSymbolFlags]],
) -> MaterializationUnit:
    """Callable aliases of symbols in ``source`` that are looked up on first call
    (LLVM ``lazyReexports``; module docstring).

    Args:
        manager: the session's `LazyReexportsManager`.
        source: where the aliasees are looked up (all symbols, hidden ones too).
        aliases: alias -> (aliasee, the alias's flags); every alias must be CALLABLE.

    Raises:
        ValueError: an alias is not CALLABLE (a lazy stub is code).
    """
    entries: dict[str | Name, SymbolAliasMapEntry] = {}
    for alias, entry in aliases.items():
        if not isinstance(entry, SymbolAliasMapEntry):
            entry = SymbolAliasMapEntry(entry[0], JITSymbolFlags(entry[1]))
        if not entry.flags & JITSymbolFlags.CALLABLE:
            raise ValueError(f"lazy reexport {alias} is not CALLABLE: only functions can be lazy")
        entries[alias] = entry
    return _LazyReexportsUnit(manager, source, entries)
