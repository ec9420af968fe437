"""ExecutionSession: the handle of one controller session, and `open_execution_session`.

`open_execution_session` opens an ``actors.Session`` as the runtime container (task group,
error reporter, execution scope), spawns the ExecutionSession actor (`_session_actor`) and
the materialization dispatchers in it, and yields the `ExecutionSession` handle. Leaving the
block runs `ExecutionSession.end_session` and then shuts the container down.

The handle's methods turn calls into messages. A lookup is a coroutine that sends its
`LookupRecord` to the actor and awaits one future per step: the actor answers with the
result, an error, or a request to run a generator (which the coroutine does, outside the
lock, before continuing). Materialization tasks run `MaterializationUnit.materialize` on the
dispatcher the actor chose (`_running`): async units as tasks on the loop, plain ones on
worker threads. The blocking facade is in `_session_blocking`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeVar

import actors
from actors import ActorClosedError, ActorRef, SessionShutdownError, ShutdownDispatcher

from ._errors import FailedToMaterializeError, OrcError
from ._flags import (
    ExecutorSymbolDef,
    JITDylibLookupFlags,
    JITSymbolFlags,
    LookupKind,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolState,
)
from ._jitdylib import JITDylib
from ._lookup import GenerateStep
from ._messages import (
    BeginEndSession,
    BeginRemoveJITDylibs,
    BeginRemoveTracker,
    ContinueLookup,
    CreateJITDylib,
    DeregisterResourceManager,
    DFSLinkOrder,
    Dump,
    FinishRemoveJITDylibs,
    RegisterResourceManager,
    SessionMessage,
    StartLookup,
    TrackerRemoval,
)
from ._names import Name, SymbolStringPool
from ._session_blocking import ExecutionSessionBlocking
from ._table import JDRecord, LookupRecord, TrackerRecord
from ._tracker import ResourceManager

__all__ = [
    "ExecutionSession",
    "MaterializeOn",
    "SearchOrderItem",
    "open_execution_session",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

SearchOrderItem = JITDylib | tuple[JITDylib, JITDylibLookupFlags]
"""One entry of a search order: a JITDylib (searched for exported symbols only, as LLVM's
``makeJITDylibSearchOrder``) or a (JITDylib, JITDylibLookupFlags) pair."""

MaterializeOn = Literal["auto", "in_loop", "thread_pool"] | actors.TaskDispatcher
"""Where materializers run: ``"auto"`` (async units on the loop, plain ones on a thread
pool), ``"in_loop"``, ``"thread_pool"``, or a TaskDispatcher of your own for every unit
(e.g. ``actors.ManualDispatcher`` in tests). Whatever runs it, an async unit runs on the loop
and a plain one on a worker thread."""

RegisterDependencies = Callable[[Mapping[JITDylib, set[Name]]], None]


class _Disconnectable(Protocol):
    async def disconnect(self) -> None: ...


def _default_reporter(name: str) -> actors.ErrorReporter:
    def report(error: BaseException) -> None:
        # LLVM's default reporter prints "JIT session error: <message>"; a non-ORC error is
        # most likely a bug, so its traceback is kept.
        exc_info = None if isinstance(error, OrcError) else error
        log.error("JIT session error: %s", error, exc_info=exc_info)

    return report


class ExecutionSession:
    """One JIT session's controller (LLVM ``ExecutionSession``): JITDylibs, lookups, errors.

    Made by `open_execution_session`; never constructed directly. Coroutine methods are for
    the session's loop; `blocking` has them for other threads (materializers on worker
    threads, scripts using a `BlockingPortal`). `intern`, `report_error` and
    `get_jitdylib_by_name` work on any thread.

    After `end_session` began, lookups and definitions raise ``actors.SessionShutdownError``;
    materializers still running may finish their MaterializationResponsibility calls.
    """

    __slots__ = (
        "__weakref__",
        "_blocking",
        "_dispatchers",
        "_ending",
        "_epc",
        "_jds_by_name",
        "_loop",
        "_loop_thread",
        "_name",
        "_pool",
        "_ref",
        "_runtime",
    )

    _runtime: actors.Session
    _ref: ActorRef[SessionMessage]
    _pool: SymbolStringPool
    _loop: asyncio.AbstractEventLoop
    _loop_thread: int
    _epc: _Disconnectable | None
    _name: str
    _jds_by_name: dict[str, JITDylib]
    _dispatchers: list[ActorRef[Any]]
    _ending: asyncio.Future[None] | None
    _blocking: ExecutionSessionBlocking | None

    def __init__(self) -> None:
        raise TypeError("ExecutionSession objects come from open_execution_session()")

    @classmethod
    def _create(
        cls,
        runtime: actors.Session,
        *,
        name: str,
        epc: _Disconnectable | None,
        materialize_on: MaterializeOn,
    ) -> ExecutionSession:
        from ._session_actor import SessionActor

        session = object.__new__(cls)
        session._runtime = runtime
        session._pool = SymbolStringPool()
        session._loop = runtime.loop
        session._loop_thread = threading.get_ident()
        session._epc = epc
        session._name = name
        session._jds_by_name = {}
        session._ending = None
        session._blocking = None
        session._dispatchers = []

        def spawn(dispatcher: actors.TaskDispatcher, role: str) -> ActorRef[Any]:
            dispatcher.bind(runtime)
            ref = runtime.spawn(dispatcher, f"{name}.{role}")
            session._dispatchers.append(ref)
            return ref

        pick: Callable[[bool], ActorRef[Any]]
        if materialize_on == "auto":
            in_loop = spawn(actors.InLoopDispatcher(), "materialize-in-loop")
            pool = spawn(actors.ThreadPoolDispatcher(thread_name_prefix="orc-mat"), "materialize")
            pick = functools.partial(lambda a, b, is_async: a if is_async else b, in_loop, pool)
        elif materialize_on == "in_loop":
            only = spawn(actors.InLoopDispatcher(), "materialize-in-loop")
            pick = functools.partial(lambda ref, _: ref, only)
        elif materialize_on == "thread_pool":
            only = spawn(actors.ThreadPoolDispatcher(thread_name_prefix="orc-mat"), "materialize")
            pick = functools.partial(lambda ref, _: ref, only)
        elif isinstance(materialize_on, actors.TaskDispatcher):
            only = spawn(materialize_on, "materialize")
            pick = functools.partial(lambda ref, _: ref, only)
        else:
            raise ValueError(
                "materialize_on must be 'auto', 'in_loop', 'thread_pool' or a TaskDispatcher, "
                f"not {materialize_on!r}"
            )
        actor = SessionActor(session, pick)
        session._ref = runtime.spawn(actor, f"{name}.execution-session")
        actor._self_ref = session._ref
        return session

    def __repr__(self) -> str:
        state = "ended" if self._ending is not None else "open"
        return f"<ExecutionSession {self._name} {state} jitdylibs={len(self._jds_by_name)}>"

    # -- plain properties -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The session's name (for logs and errors)."""
        return self._name

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the session's actors run on."""
        return self._loop

    @property
    def epc(self) -> _Disconnectable | None:
        """The ExecutorProcessControl given to `open_execution_session` (or None)."""
        return self._epc

    @property
    def runtime(self) -> actors.Session:
        """The ``actors.Session`` hosting the session's actors and tasks."""
        return self._runtime

    @property
    def string_pool(self) -> SymbolStringPool:
        """The session's interning table."""
        return self._pool

    @property
    def blocking(self) -> ExecutionSessionBlocking:
        """The session's operations as blocking calls, for threads other than the loop's."""
        if self._blocking is None:
            self._blocking = ExecutionSessionBlocking(self)
        return self._blocking

    def intern(self, text: str | Name) -> Name:
        """The session's `Name` for ``text`` (any thread)."""
        return self._pool.intern(text)

    def report_error(self, error: BaseException) -> None:
        """Hand an error nobody waits for to the session's error reporter (any thread)."""
        self._runtime.report_error(error)

    def get_jitdylib_by_name(self, name: str) -> JITDylib | None:
        """The open JITDylib called ``name``, or None (a snapshot; any thread)."""
        return self._jds_by_name.get(name)

    # -- JITDylibs ------------------------------------------------------------------------------

    async def create_jitdylib(self, name: str) -> JITDylib:
        """Create an empty JITDylib whose link order is itself (match-all).

        Raises:
            ValueError: an open JITDylib has that name.
            actors.SessionShutdownError: the session has ended.
        """
        return await self._ask(CreateJITDylib(name=name))

    async def remove_jitdylib(self, jd: JITDylib) -> None:
        """Remove ``jd``: see `remove_jitdylibs`."""
        await self.remove_jitdylibs([jd])

    async def remove_jitdylibs(self, jds: Iterable[JITDylib]) -> None:
        """Remove JITDylibs: close them, remove all their trackers, then mark them closed.

        Pending lookups of their symbols fail, unmaterialized units are dropped, resource
        managers release the resources, and later MaterializationResponsibility calls for
        them raise. Every JITDylib is processed even if one fails.

        Raises:
            JITDylibDefunctError: one was removed already (nothing is removed then).
            Exception: the first error of a resource manager (the others are reported).
        """
        records = tuple(jd._record for jd in jds)
        await self._remove_jitdylib_records(records)

    async def get_dfs_link_order(self, jds: Sequence[JITDylib]) -> list[JITDylib]:
        """The JITDylibs and those they link against, depth first, each once.

        Raises:
            OrcError: a listed JITDylib was removed (``Error building link order: X is
                defunct``).
        """
        return await self._ask(DFSLinkOrder(jds=tuple(jd._record for jd in jds)))

    # -- lookups ----------------------------------------------------------------------------------

    async def lookup(
        self,
        search_order: JITDylib | Sequence[SearchOrderItem],
        names: SymbolLookupSet | Iterable[str | Name],
        *,
        kind: LookupKind = LookupKind.STATIC,
        required_state: SymbolState = SymbolState.READY,
        register_dependencies: RegisterDependencies | None = None,
    ) -> dict[Name, ExecutorSymbolDef]:
        """Find ``names`` in ``search_order`` and wait until they reach ``required_state``.

        Lazy definitions found are materialized (each unit once, however many lookups ask).
        Names are searched in each JITDylib in order; the first visible definition wins.

        Args:
            search_order: JITDylibs (exported symbols only) or (JITDylib, flags) pairs.
            names: a `SymbolLookupSet`, or names (all REQUIRED).
            kind: STATIC or DLSYM (passed to generators).
            required_state: RESOLVED, EMITTED or READY.
            register_dependencies: called on the session's task, under the lock, with every
                matched symbol that is not Ready yet (per JITDylib), when the query lodges.

        Returns:
            Name -> address and flags, for every name found; weakly referenced names that
            were not found, and side-effects-only symbols, are left out.

        Raises:
            SymbolsNotFoundError: required names were not found.
            FailedToMaterializeError: a symbol (or one it depends on) failed.
            OrcError: a generator's error (or another lookup error).
            actors.SessionShutdownError: the session ended before the lookup completed.
        """
        if required_state < SymbolState.RESOLVED:
            raise ValueError(f"a lookup waits for Resolved or later, not {required_state}")
        record = LookupRecord(
            kind,
            list(self._search_order(search_order)),
            self._lookup_set(names),
            required_state,
            self._loop.create_future(),
            register_dependencies,
            flags_only=False,
        )
        result: dict[Name, ExecutorSymbolDef] = await self._run_lookup(record)
        return result

    async def lookup_flags(
        self,
        search_order: JITDylib | Sequence[SearchOrderItem],
        names: SymbolLookupSet | Iterable[str | Name],
        *,
        kind: LookupKind = LookupKind.STATIC,
    ) -> dict[Name, JITSymbolFlags]:
        """The flags of ``names`` (generators run; nothing is materialized).

        Raises:
            SymbolsNotFoundError: required names were not found.
            OrcError: a generator's error.
        """
        record = LookupRecord(
            kind,
            list(self._search_order(search_order)),
            self._lookup_set(names),
            SymbolState.NEVER_SEARCHED,
            self._loop.create_future(),
            None,
            flags_only=True,
        )
        result: dict[Name, JITSymbolFlags] = await self._run_lookup(record)
        return result

    async def _run_lookup(self, record: LookupRecord) -> Any:
        future = record.future
        self._tell(StartLookup(lookup=record))
        while True:
            outcome = await future
            if type(outcome) is not GenerateStep:
                return outcome
            error: BaseException | None = None
            try:
                await outcome.generator.try_to_generate(
                    outcome.state, record.kind, outcome.jd, outcome.jd_flags, outcome.lookup_set
                )
            except Exception as exc:
                error = exc
            except BaseException as exc:  # cancelled: free the generator, then go
                self._tell_quietly(ContinueLookup(lookup=record, error=exc, future=future))
                raise
            future = self._loop.create_future()
            self._tell(ContinueLookup(lookup=record, error=error, future=future))

    # -- resource managers, dump, end -------------------------------------------------------------

    async def register_resource_manager(self, manager: ResourceManager) -> None:
        """Register ``manager``: it hears of tracker removals and transfers (newest first)."""
        await self._ask(RegisterResourceManager(manager=manager))

    async def deregister_resource_manager(self, manager: ResourceManager) -> None:
        """Deregister ``manager`` (its latest registration).

        Raises:
            ValueError: it is not registered.
        """
        await self._ask(DeregisterResourceManager(manager=manager))

    async def dump(self) -> str:
        """LLVM's debug dump of every open JITDylib."""
        return await self._ask(Dump(jd=None))

    async def end_session(self) -> None:
        """End the session (LLVM 22 ``endSession``); idempotent, later callers wait for it.

        Order: refuse new lookups and definitions, and fail every pending lookup
        (``actors.SessionShutdownError``); wait for running materializers (queued ones are
        refused and their symbols fail); remove the JITDylibs newest first (resource
        managers release their resources); then ``await epc.disconnect()``.

        Raises:
            Exception: the first error met (the others are reported); every step runs.
        """
        if self._ending is not None:
            await asyncio.shield(self._ending)
            return
        self._ending = self._loop.create_future()
        errors: list[BaseException] = []
        try:
            try:
                records = await self._ask(BeginEndSession())
            except SessionShutdownError:
                records = []
            for dispatcher in self._dispatchers:
                try:
                    await dispatcher.ask(ShutdownDispatcher())
                except ActorClosedError:
                    pass
                except Exception as exc:
                    errors.append(exc)
                dispatcher.close()
            if records:
                try:
                    await self._remove_jitdylib_records(tuple(records))
                except Exception as exc:
                    errors.append(exc)
            if self._epc is not None:
                try:
                    await self._epc.disconnect()
                except Exception as exc:
                    errors.append(exc)
        finally:
            self._ending.set_result(None)
        self._raise_first(errors)

    # -- internals ------------------------------------------------------------------------------

    def _raise_first(self, errors: list[BaseException]) -> None:
        if not errors:
            return
        for extra in errors[1:]:
            self.report_error(extra)
        raise errors[0]

    async def _ask(self, message: actors.Ask[T]) -> T:
        try:
            return await self._ref.ask(message)
        except ActorClosedError as exc:
            raise SessionShutdownError(f"ExecutionSession {self._name} is shut down") from exc

    def _ask_threadsafe(self, message: actors.Ask[T]) -> T:
        try:
            return self._ref.ask_threadsafe(message).result()
        except ActorClosedError as exc:
            raise SessionShutdownError(f"ExecutionSession {self._name} is shut down") from exc

    def _tell(self, message: SessionMessage) -> None:
        try:
            self._ref.tell(message)
        except ActorClosedError as exc:
            raise SessionShutdownError(f"ExecutionSession {self._name} is shut down") from exc

    def _tell_quietly(self, message: SessionMessage) -> None:
        with contextlib.suppress(ActorClosedError):
            self._ref.tell(message)

    def _run_blocking(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the session's loop and block this (other) thread for its result."""
        if threading.get_ident() == self._loop_thread:
            coro.close()
            raise RuntimeError(
                "a blocking call on the session's event-loop thread would deadlock; "
                "await the asynchronous method instead"
            )
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        except RuntimeError as exc:  # the loop is closed
            coro.close()
            raise SessionShutdownError(f"ExecutionSession {self._name} is shut down") from exc
        return future.result()

    def _search_order(
        self, order: JITDylib | Sequence[SearchOrderItem]
    ) -> tuple[tuple[JDRecord, JITDylibLookupFlags], ...]:
        if isinstance(order, JITDylib):
            order = [order]
        result: list[tuple[JDRecord, JITDylibLookupFlags]] = []
        for entry in order:
            item: object = entry  # checked at runtime: callers may pass anything
            if isinstance(item, JITDylib):
                jd, flags = item, JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY
            elif (
                isinstance(item, tuple)
                and len(item) == 2
                and isinstance(item[0], JITDylib)
                and isinstance(item[1], JITDylibLookupFlags)
            ):
                jd, flags = item[0], item[1]
            else:
                raise TypeError(
                    "a search order holds JITDylibs or (JITDylib, JITDylibLookupFlags) pairs, "
                    f"not {item!r}"
                )
            if jd._session is not self:
                raise ValueError(f"{jd!r} belongs to another ExecutionSession")
            result.append((jd._record, flags))
        return tuple(result)

    def _lookup_set(
        self, names: SymbolLookupSet | Iterable[str | Name]
    ) -> dict[Name, SymbolLookupFlags]:
        if isinstance(names, str | Name):
            raise TypeError("lookup takes an iterable of names (or a SymbolLookupSet), not one")
        intern = self._pool.intern
        if isinstance(names, SymbolLookupSet):
            return {intern(name): flags for name, flags in names}
        required = SymbolLookupFlags.REQUIRED
        return {intern(name): required for name in names}

    async def _remove_jitdylib_records(self, records: tuple[JDRecord, ...]) -> None:
        tracker_lists = await self._ask(BeginRemoveJITDylibs(jds=records))
        errors: list[BaseException] = []
        for trackers in tracker_lists:
            try:
                await self._remove_trackers(trackers)
            except Exception as exc:
                errors.append(exc)
        await self._ask(FinishRemoveJITDylibs(jds=records))
        self._raise_first(errors)

    async def _remove_trackers(self, trackers: Sequence[TrackerRecord]) -> None:
        errors: list[BaseException] = []
        for tracker in trackers:
            try:
                removal = await self._ask(BeginRemoveTracker(tracker=tracker))
                await self._finish_tracker_removal(removal)
            except Exception as exc:
                errors.append(exc)
        self._raise_first(errors)

    async def _finish_tracker_removal(self, removal: TrackerRemoval) -> None:
        """Outside the lock: resource managers' remove hooks, then the failed queries."""
        errors: list[BaseException] = []
        for manager in removal.managers:
            try:
                await manager.handle_remove_resources(removal.jd, removal.key)
            except Exception as exc:
                errors.append(exc)
        for query in removal.queries:
            if not query.future.done():
                query.future.set_exception(FailedToMaterializeError(removal.failed))
        self._raise_first(errors)


@contextlib.asynccontextmanager
async def open_execution_session(
    *,
    epc: _Disconnectable | None = None,
    error_reporter: actors.ErrorReporter | None = None,
    materialize_on: MaterializeOn = "auto",
    name: str = "session",
) -> AsyncIterator[ExecutionSession]:
    """Open an ExecutionSession on the running loop; end it when the block ends.

    Never starts a loop of its own and never blocks the loop. Leaving the block (normally,
    by an exception or by cancellation) runs `ExecutionSession.end_session`; an error of
    that step is raised after a normal exit and reported after an exceptional one.

    Args:
        epc: the ExecutorProcessControl (anything with ``async disconnect()``), disconnected
            last by ``end_session``.
        error_reporter: receives every error nobody waits for (default: logged as
            ``JIT session error: <message>``, LLVM's wording). Called on the loop thread.
        materialize_on: where materializers run (see `MaterializeOn`).
        name: for logs, errors and actor names.
    """
    reporter = error_reporter or _default_reporter(name)
    async with actors.open_session(name=name, error_reporter=reporter) as runtime:
        session = ExecutionSession._create(
            runtime, name=name, epc=epc, materialize_on=materialize_on
        )
        try:
            yield session
        except BaseException:
            try:
                await session.end_session()
            except Exception as exc:
                session.report_error(exc)
            raise
        await session.end_session()
