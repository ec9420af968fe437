"""The ExecutionSession actor's state and the primitives its handlers share.

Everything here runs on the actor's task, inside ``handle`` (which never awaits): that is the
session lock. Handlers live in mixins (`_lookup`, `_responsibility`, `_tracking`) and the
actor class (`_session_actor`); this module has what several of them need:

- failing symbols (and everything waiting on them) and collecting the queries to fail;
- moving symbols to a state and completing the queries that waited for it;
- creating MaterializationResponsibilities and dispatching units to a TaskDispatcher;
- making trackers, and following a dropped tracker handle to the default tracker.

Query completion is delivered by resolving the lookup's future: the awaiting task resumes
later, outside the lock (LLVM dispatches completion as a task). Failures are delivered the
same way, once, after the query was detached from every symbol (lazily: a finished query
is skipped and pruned wherever it is still listed).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from actors import ActorClosedError, ActorRef, Dispatch, SessionShutdownError, Task

from ._dependencies import DependencyGraph
from ._errors import FailedToMaterializeError
from ._flags import JITSymbolFlags, SymbolState
from ._materialization import MaterializationResponsibility
from ._messages import MRAbandoned, SessionMessage, TrackerDropped
from ._names import Name
from ._running import run_materializer
from ._table import (
    GeneratorSlot,
    JDRecord,
    LookupRecord,
    MRRecord,
    Query,
    Sym,
    TrackerRecord,
    Unmaterialized,
)
from ._tracker import ResourceManager, ResourceTracker

if TYPE_CHECKING:
    from ._materialization import MaterializationUnit
    from ._session import ExecutionSession

__all__ = ["FailedQueries", "SessionCore"]

_HAS_ERROR = int(JITSymbolFlags.HAS_ERROR)

FailedQueries = tuple[list[Query], dict[JDRecord, list[Name]]]
"""Queries to fail, and JITDylib -> the failed names (for one FailedToMaterializeError)."""


def _abandoned(ref: ActorRef[SessionMessage], record: MRRecord) -> None:
    """weakref.finalize callback of a responsibility handle (any thread, even at exit)."""
    # If the session is gone, so is everything that could wait for the MR.
    with contextlib.suppress(ActorClosedError, RuntimeError):
        ref.tell(MRAbandoned(mr=record, error=None))


def _tracker_dropped(ref: ActorRef[SessionMessage], record: TrackerRecord) -> None:
    """weakref.finalize callback of a tracker handle."""
    with contextlib.suppress(ActorClosedError, RuntimeError):
        ref.tell(TrackerDropped(tracker=record))


class _PendingMaterialization:
    """A dispatched unit and its MR, handed over exactly once when the task runs.

    The dispatcher may keep its last message (and so this object) alive while idle; taking
    the MR out when the task starts means only the materializer holds it, so an MR the
    materializer drops is collected (and its symbols failed) at once.
    """

    __slots__ = ("_mr", "_mu", "_session")

    def __init__(
        self, session: ExecutionSession, mu: MaterializationUnit, mr: MaterializationResponsibility
    ) -> None:
        self._session = session
        self._mu: MaterializationUnit | None = mu
        self._mr: MaterializationResponsibility | None = mr

    def run(self) -> object:
        mu, mr = self._mu, self._mr
        self._mu = self._mr = None
        if mu is None or mr is None:
            raise RuntimeError("a materialization task ran twice")
        return run_materializer(self._session, mu, mr)


def deliver_failures(queries: Iterable[Query], failed: dict[JDRecord, list[Name]]) -> None:
    """Fail ``queries`` with FailedToMaterializeError listing ``failed``."""
    for query in queries:
        query.fail(FailedToMaterializeError(failed))


class SessionCore:
    """State of the ExecutionSession actor and the primitives shared by its handlers."""

    def __init__(
        self,
        session: ExecutionSession,
        pick_dispatcher: Callable[[bool], ActorRef[Any]],
    ) -> None:
        self._session = session
        self._pool = session._pool
        self._pick_dispatcher = pick_dispatcher
        self._jds: list[JDRecord] = []  # open JITDylibs, in creation order
        self._next_key = 1
        self._graph = DependencyGraph()
        self._managers: list[ResourceManager] = []
        self._generator_slots: dict[int, GeneratorSlot] = {}  # id(generator) -> slot
        self._resume: deque[LookupRecord] = deque()  # lookups to continue after this message
        self._closed = False  # end_session began: lookups and definitions are refused
        self._self_ref: ActorRef[SessionMessage] | None = None

    # Set by the actor class (it is the actor).
    def _actor_ref(self) -> ActorRef[SessionMessage]:
        assert self._self_ref is not None
        return self._self_ref

    def _new_key(self) -> int:
        key = self._next_key
        self._next_key += 1
        return key

    def _refuse_if_closed(self, what: str) -> None:
        if self._closed:
            raise SessionShutdownError(f"ExecutionSession {self._session.name} has ended; {what}")

    # -- states and queries ---------------------------------------------------------------------

    @staticmethod
    def _notify(sym: Sym, state: SymbolState) -> None:
        """``sym`` reached ``state``: complete the queries that waited for it."""
        queries = sym.queries
        if not queries:
            return
        keep: list[Query] = []
        for query in queries:
            if query.done:
                continue
            if query.required <= state:
                query.met(sym)
            else:
                keep.append(query)
        sym.queries = keep or None

    def _make_ready(self, syms: Iterable[Any]) -> None:
        for sym in syms:
            sym.state = SymbolState.READY
            self._notify(sym, SymbolState.READY)
            sym.queries = None

    @staticmethod
    def _take_queries(sym: Sym, into: dict[Query, None]) -> None:
        queries = sym.queries
        if queries:
            for query in queries:
                if not query.done:
                    into[query] = None
            sym.queries = None

    def _fail_symbols(self, jd: JDRecord, names: Iterable[Name]) -> FailedQueries:
        """Mark ``names`` failed (HasError), with every emitted symbol waiting on them.

        Returns the queries to fail (not failed yet) and the complete failed map. Names not
        in the table (removed meanwhile) are listed but otherwise skipped, as in LLVM.
        """
        failed: dict[JDRecord, list[Name]] = {}
        queries: dict[Query, None] = {}
        for name in names:
            failed.setdefault(jd, []).append(name)
            sym = jd.symbols.get(name)
            if sym is None or sym.flags & _HAS_ERROR:
                continue
            sym.flags |= _HAS_ERROR
            self._take_queries(sym, queries)
            for dependant in self._graph.fail(sym):
                assert isinstance(dependant, Sym)
                if dependant.flags & _HAS_ERROR:
                    continue
                dependant.flags |= _HAS_ERROR
                failed.setdefault(dependant.jd, []).append(dependant.name)
                self._take_queries(dependant, queries)
        return list(queries), failed

    # -- materialization ------------------------------------------------------------------------

    def _tracker_handle(self, record: TrackerRecord) -> ResourceTracker:
        """The live handle of ``record``; if it was dropped, transfer to the default now."""
        handle = record.handle_ref()
        if handle is not None:
            return handle
        default = record.jd.default_tracker
        if not record.defunct:
            self._transfer(record, default)
        return default

    def _new_tracker(self, jd: JDRecord, *, default: bool = False) -> ResourceTracker:
        record = TrackerRecord(self._new_key(), jd)
        handle = ResourceTracker._create(self._session, record)
        record.set_handle(handle)
        if not default:
            jd.trackers[record] = None
            finalizer = weakref.finalize(handle, _tracker_dropped, self._actor_ref(), record)
            finalizer.atexit = False  # at interpreter exit there is nothing left to tell
        return handle

    def _transfer(self, source: TrackerRecord, destination: ResourceTracker) -> None:
        """Move everything ``source`` owns to ``destination`` (same JITDylib); under the lock."""
        dst = destination._record
        source.defunct = True
        source.jd.trackers.pop(source, None)
        for sym in source.symbols:
            sym.tracker = dst
            dst.symbols[sym] = None
        source.symbols = {}
        for umi in source.umis:
            umi.tracker = dst
        dst.umis |= source.umis
        source.umis = set()
        for mr in source.mrs:
            mr.tracker = dst
            mr.tracker_handle = destination
        dst.mrs |= source.mrs
        source.mrs = set()
        jd = source.jd.handle
        for manager in reversed(self._managers):
            try:
                manager.handle_transfer_resources(jd, dst.key, source.key)
            except Exception as exc:
                self._session.report_error(exc)

    def _new_mr(
        self,
        jd: JDRecord,
        symbols: dict[Name, JITSymbolFlags],
        init_symbol: Name | None,
        tracker: TrackerRecord,
        unit_name: str,
    ) -> MaterializationResponsibility:
        record = MRRecord(jd, symbols, init_symbol, self._tracker_handle(tracker), unit_name)
        record.tracker.mrs.add(record)
        handle = MaterializationResponsibility._create(self._session, record)
        record.finalizer = weakref.finalize(handle, _abandoned, self._actor_ref(), record)
        record.finalizer.atexit = False
        return handle

    def _dispatch(self, jd: JDRecord, umi: Unmaterialized) -> None:
        """Create the unit's responsibility and hand the unit to a dispatcher."""
        mu = umi.mu
        mr = self._new_mr(jd, dict(mu._symbols), mu._init_symbol, umi.tracker, mu.name)
        umi.tracker.umis.discard(umi)
        record = mr._record
        task = Task(
            run=_PendingMaterialization(self._session, mu, mr).run,
            refuse=functools.partial(self._refused, record),
            name=f"materialize {mu.name} in {jd.name}",
        )
        dispatcher = self._pick_dispatcher(inspect.iscoroutinefunction(mu.materialize))
        try:
            dispatcher.tell(Dispatch(task=task))
        except ActorClosedError as exc:
            self._refused(record, exc)

    def _refused(self, record: MRRecord, error: BaseException) -> None:
        """A dispatcher refused the task (shutting down): fail the MR's symbols."""
        with contextlib.suppress(ActorClosedError):
            self._actor_ref().tell(MRAbandoned(mr=record, error=error))

    def _release_mr(self, record: MRRecord) -> None:
        """The MR owns nothing any more: forget it."""
        record.symbols = {}
        record.publish()
        record.tracker.mrs.discard(record)
