"""The ExecutionSession actor: one mailbox that is LLVM's session lock.

Every symbol table, query, dependency and tracker of a session is touched only here, one
message at a time (`_messages` has the table of messages). ``handle`` is a plain ``def``
and never awaits: work that must not run under the lock (generators, materializers,
resource managers' remove hooks, query completion) leaves as a reply or a dispatched task,
and comes back as a new message. Nothing here waits for another actor, so the actor cannot
deadlock.

This module has the dispatch (``handle``) and the JITDylib operations (define, remove, link
order, generators, dump); lookups, responsibilities and trackers are in the mixins.
"""

from __future__ import annotations

from typing import Any, assert_never

from actors import Actor

from ._errors import (
    DuplicateDefinitionError,
    JITDylibDefunctError,
    SymbolsCouldNotBeRemovedError,
    SymbolsNotFoundError,
)
from ._flags import JITDylibLookupFlags, JITSymbolFlags, SymbolState, format_flags
from ._generators import DefinitionGenerator
from ._materialization import MaterializationUnit
from ._messages import (
    AddGenerator,
    AddToLinkOrder,
    BeginEndSession,
    BeginRemoveJITDylibs,
    BeginRemoveTracker,
    ContinueLookup,
    CreateJITDylib,
    CreateTracker,
    Define,
    DeregisterResourceManager,
    DFSLinkOrder,
    Dump,
    FinishRemoveJITDylibs,
    GetLinkOrder,
    ListTrackers,
    MRAbandoned,
    MRDefineMaterializing,
    MRDelegate,
    MREmit,
    MRFail,
    MRReplace,
    MRRequested,
    MRResolve,
    MRWithKey,
    RegisterResourceManager,
    RemoveFromLinkOrder,
    RemoveGenerator,
    RemoveSymbols,
    ReplaceInLinkOrder,
    SessionMessage,
    SetLinkOrder,
    StartLookup,
    TrackerDropped,
    TransferTracker,
)
from ._names import Name
from ._table import JDRecord, JDStatus, Sym, Unmaterialized
from ._tracker import ResourceManager, ResourceTracker
from ._tracking import TrackingMixin

__all__ = ["SessionActor"]

_NEVER_SEARCHED = SymbolState.NEVER_SEARCHED
_MATCH_ALL = JITDylibLookupFlags.MATCH_ALL_SYMBOLS
_WEAK_OR_COMMON = int(JITSymbolFlags.WEAK | JITSymbolFlags.COMMON)


class SessionActor(TrackingMixin, Actor[SessionMessage]):
    """The ExecutionSession's state; see the module docstring and `_messages`."""

    async def on_start(self) -> None:
        """Remember the actor's own reference (finalizers and dispatch refusals use it)."""
        self._self_ref = self.ref

    def handle(self, message: SessionMessage) -> object:  # never awaits: it is the session lock
        """Take one message (see `_messages`)."""
        try:
            return self._handle(message)
        finally:
            if self._resume:
                self._run_resumed()

    def _handle(self, message: SessionMessage) -> object:
        match message:
            case StartLookup(lookup=lookup):
                self._start_lookup(lookup)
            case ContinueLookup(lookup=lookup, error=error, future=future):
                lookup.future = future
                self._continue_lookup(lookup, error)
            case MRResolve(mr=mr, symbols=symbols):
                self._mr_resolve(mr, symbols)
            case MREmit(mr=mr, groups=groups):
                self._mr_emit(mr, groups)
            case MRDefineMaterializing(mr=mr, flags=flags):
                self._mr_define_materializing(mr, flags)
            case MRFail(mr=mr):
                self._mr_fail(mr)
            case MRReplace(mr=mr, mu=mu):
                self._mr_replace(mr, mu)
            case MRDelegate(mr=mr, names=names):
                return self._mr_delegate(mr, names)
            case MRRequested(mr=mr):
                return self._mr_requested(mr)
            case MRWithKey(mr=mr, fn=fn):
                return self._mr_with_key(mr, fn)
            case MRAbandoned(mr=mr, error=error):
                self._mr_abandoned(mr, error)
            case Define(jd=jd, mu=mu, tracker=tracker):
                self._define(jd, mu, tracker)
            case RemoveSymbols(jd=jd, names=names):
                self._remove_symbols(jd, names)
            case CreateJITDylib(name=name):
                return self._create_jitdylib(name)
            case SetLinkOrder(jd=jd, order=order, link_against_self_first=self_first):
                self._check_jd_open(jd)
                starts_with_self = bool(order) and order[0][0] is jd
                first = [(jd, _MATCH_ALL)] if self_first and not starts_with_self else []
                jd.link_order = first + list(order)
            case AddToLinkOrder(jd=jd, order=order, skip_present=skip_present):
                self._check_jd_open(jd)
                for entry in order:
                    if not (skip_present and entry in jd.link_order):
                        jd.link_order.append(entry)
            case ReplaceInLinkOrder(jd=jd, old=old, new=new_jd, flags=flags):
                self._check_jd_open(jd)
                for index, (linked, _) in enumerate(jd.link_order):
                    if linked is old:
                        jd.link_order[index] = (new_jd, flags)
                        break
            case RemoveFromLinkOrder(jd=jd, other=other):
                self._check_jd_open(jd)
                for index, (linked, _) in enumerate(jd.link_order):
                    if linked is other:
                        del jd.link_order[index]
                        break
            case GetLinkOrder(jd=jd):
                return [(linked.handle, flags) for linked, flags in jd.link_order]
            case DFSLinkOrder(jds=jds):
                return self._dfs_link_order(jds)
            case AddGenerator(jd=jd, generator=generator):
                self._add_generator(jd, generator)
            case RemoveGenerator(jd=jd, generator=generator):
                if not any(g is generator for g in jd.generators):
                    raise ValueError(f"{generator!r} is not a generator of JITDylib {jd.name}")
                jd.generators = [g for g in jd.generators if g is not generator]
                self._detach_generator(generator)
            case CreateTracker(jd=jd):
                return self._create_tracker(jd)
            case ListTrackers(jd=jd):
                return self._list_trackers(jd)
            case BeginRemoveTracker(tracker=tracker):
                return self._begin_remove_tracker(tracker)
            case TransferTracker(source=source, destination=destination):
                self._transfer_tracker(source, destination)
            case TrackerDropped(tracker=tracker):
                self._tracker_dropped(tracker)
            case RegisterResourceManager(manager=manager):
                self._register_manager(manager)
            case DeregisterResourceManager(manager=manager):
                self._deregister_manager(manager)
            case Dump(jd=jd):
                return self._dump([jd] if jd is not None else self._jds)
            case BeginRemoveJITDylibs(jds=jds):
                return self._begin_remove_jitdylibs(jds)
            case FinishRemoveJITDylibs(jds=jds):
                self._finish_remove_jitdylibs(jds)
            case BeginEndSession():
                return self._begin_end_session()
            case _:
                assert_never(message)
        return None

    # -- JITDylib operations ----------------------------------------------------------------------

    @staticmethod
    def _check_jd_open(jd: JDRecord) -> None:
        if jd.status is not JDStatus.OPEN:
            raise JITDylibDefunctError(jd.name, jd.key)

    def _discard(self, jd: JDRecord, umi: Unmaterialized, name: Name) -> None:
        """Take ``name`` out of a unit (calling its hook); forget the unit once empty."""
        try:
            umi.mu._do_discard(jd.handle, name)
        except Exception as exc:  # the hook is user code; the definition goes on
            self._session.report_error(exc)
        if not umi.mu._symbols:
            umi.tracker.umis.discard(umi)

    def _define(
        self, jd: JDRecord, mu: MaterializationUnit, tracker: ResourceTracker | None
    ) -> None:
        given: object = mu
        if not isinstance(given, MaterializationUnit):
            raise TypeError(f"define() takes a MaterializationUnit, not {type(given).__name__}")
        self._refuse_if_closed(f"definitions of {mu.name} refused")
        self._check_jd_open(jd)
        mu._intern(self._pool)
        record = jd.default_tracker._record if tracker is None else tracker._record
        if record.jd is not jd:
            raise ValueError(
                f"tracker {record.key:#x} belongs to JITDylib {record.jd.name}, not {jd.name}"
            )
        symbols = mu._symbols
        if not symbols:
            return
        # All checks first: a failing define changes nothing (LLVM defineImpl).
        existing_overridden: list[Sym] = []
        new_overridden: list[Name] = []
        table = jd.symbols
        for name, flags in symbols.items():
            sym = table.get(name)
            if sym is None:
                continue
            if not int(flags) & _WEAK_OR_COMMON:
                if not sym.flags & _WEAK_OR_COMMON or sym.state is not _NEVER_SEARCHED:
                    raise DuplicateDefinitionError(name, mu.name)
                existing_overridden.append(sym)
            else:
                new_overridden.append(name)
        umi = Unmaterialized(mu, record)
        for name in new_overridden:
            self._discard(jd, umi, name)
        for sym in existing_overridden:
            old = sym.umi
            assert old is not None, "a never-searched symbol has its unit attached"
            self._discard(jd, old, sym.name)
            if sym.tracker is not None:
                sym.tracker.symbols.pop(sym, None)
        if not symbols:
            return  # every symbol lost to an existing definition: the unit is dropped
        record.umis.add(umi)
        for name, flags in symbols.items():
            sym = table.get(name)
            if sym is None:
                sym = table[name] = Sym(name, jd, int(flags), _NEVER_SEARCHED)
            else:
                sym.flags = int(flags)
                sym.state = _NEVER_SEARCHED
            sym.umi = umi
            sym.tracker = record
            record.symbols[sym] = None

    def _remove_symbols(self, jd: JDRecord, names: tuple[Name, ...]) -> None:
        self._check_jd_open(jd)
        table = jd.symbols
        missing = [name for name in names if name not in table]
        if missing:
            raise SymbolsNotFoundError(missing)
        busy = [
            name for name in names if table[name].state not in (_NEVER_SEARCHED, SymbolState.READY)
        ]
        if busy:
            raise SymbolsCouldNotBeRemovedError(busy)
        # Emitted symbols waiting on a removed one would wait forever: they fail.
        waited = [name for name in names if table[name].waiters]
        if waited:
            from ._core import deliver_failures

            queries, failed = self._fail_symbols(jd, waited)
            deliver_failures(queries, failed)
        for name in names:
            sym = table.get(name)
            if sym is None:
                continue  # listed twice
            if sym.umi is not None:
                self._discard(jd, sym.umi, name)
            self._remove_symbol_entry(jd, sym)

    def _add_generator(self, jd: JDRecord, generator: DefinitionGenerator) -> None:
        self._check_jd_open(jd)
        if not isinstance(generator, DefinitionGenerator):
            raise TypeError(
                f"add_generator() takes a DefinitionGenerator, not {type(generator).__name__}"
            )
        jd.generators.append(generator)
        self._attach_generator(generator)

    def _register_manager(self, manager: ResourceManager) -> None:
        if not isinstance(manager, ResourceManager):
            raise TypeError(f"expected a ResourceManager, not {type(manager).__name__}")
        self._managers.append(manager)

    def _deregister_manager(self, manager: ResourceManager) -> None:
        for index in range(len(self._managers) - 1, -1, -1):
            if self._managers[index] is manager:
                del self._managers[index]
                return
        raise ValueError(f"{manager!r} is not a registered resource manager")

    # -- dump -------------------------------------------------------------------------------------

    def _dump(self, jds: list[JDRecord]) -> str:
        """LLVM 22's ``JITDylib::dump`` format (addresses of objects are their ids)."""
        lines: list[str] = []
        session_id = id(self._session)
        for jd in jds:
            lines.append(
                f'JITDylib "{jd.name}" (ES: 0x{session_id:016x}, State = {jd.status.value})'
            )
            if jd.status is JDStatus.CLOSED:
                continue
            order = ", ".join(f'("{linked.name}", {flags})' for linked, flags in jd.link_order)
            lines.append(f"Link order: [ {order} ]" if order else "Link order: [ ]")
            lines.append("Symbol table:")
            pending: list[tuple[Sym, list[Any]]] = []
            for sym in sorted(jd.symbols.values(), key=lambda s: str(s.name)):
                where = f"{sym.address:#x}" if sym.address else "<not resolved> "
                text = f'    "{sym.name}": {where} {format_flags(sym.flags)} {sym.state}'
                if sym.umi is not None:
                    mu = sym.umi.mu
                    text += f" (Materializer 0x{id(mu):x}, {mu.name})"
                lines.append(text)
                live = [q for q in sym.queries or () if not q.done]
                if live:
                    pending.append((sym, live))
            if pending:
                lines.append("  MaterializingInfos entries:")
                for sym, queries in pending:
                    described = " ".join(f"0x{id(q):x} ({q.required})" for q in queries)
                    lines.append(f'    "{sym.name}":')
                    lines.append(f"      {len(queries)} pending queries: {{ {described} }}")
        return "\n".join(lines) + ("\n" if lines else "")
