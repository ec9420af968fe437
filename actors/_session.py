"""The Session: root of one executor's JIT'd program, as a handle plus a Session actor.

`open_session` builds a Session inside an ``asyncio.TaskGroup``: the Session actor (wrapper
table, resource managers, the controller link, CallId-keyed futures), the shutdown actor, and
two dispatchers. User code holds the `Session` handle, whose methods send messages.

| message (to the Session actor) | sent by                     | effect                                  |
|--------------------------------|-----------------------------|-----------------------------------------|
| `RegisterWrapper`  (ask)       | `Session.register_*`        | give a wrapper function an address      |
| `WrapperCall`                  | a controller access, tests  | run the wrapper at an address           |
| `WrapperReturned`              | a wrapper's ``return_fn``   | resolve the future of that CallId, once |
| `ControllerCallRequest`        | `Session.call_controller`   | forward to the controller access        |
| `AttachController` (ask)       | `Session.attach`            | the (one) controller link               |
| `ControllerDetached`           | the controller access, once | forget it; tell the shutdown actor      |
| `AddResourceManager` (ask)     | `Session.add_resource_manager` | register; refused after shutdown began |
| `ConfigureNativeCalls` (ask)   | the executor                | how to call addresses with no wrapper   |
| `AllowNativeTargets`           | memory / dylib managers     | code the guard lets native calls reach  |
| `CheckNativeTarget` (ask)      | run-as-main and friends     | may this address be called natively?    |
| `TakeDetachSnapshot`, `BeginShutdown`, `GetController` (asks) | the shutdown actor | lifecycle steps |

The Session actor never awaits another actor, so nothing can deadlock on it: work goes out as
tells, results come back as messages or futures. Several Sessions in one process share nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Final, TypeVar, assert_never

from protocol import Frozen

from ._actor import Actor, ActorRef, Ask, ErrorReporter, Message, Reply, copy_outcome
from ._controller import CallController, ControllerAccess, ControllerAccessMessage
from ._dispatcher import (
    Dispatch,
    DispatcherMessage,
    InLoopDispatcher,
    Task,
    TaskDispatcher,
    ThreadPoolDispatcher,
)
from ._errors import (
    ActorClosedError,
    DisconnectedError,
    NoControllerError,
    RemoteCallError,
    SessionShutdownError,
)
from ._resources import DetachResource, ResourceManager, ResourceManagerMessage
from ._scope import ExecutionScope
from ._spawner import Spawner
from ._wrappers import (
    OutOfBandError,
    PlainWrapper,
    WrapperFunction,
    WrapperResult,
    describe_exception,
    python_wrapper,
)

__all__ = ["NativeWrapperFactory", "Session", "SessionStatistics", "WrapperEntry", "open_session"]

log = logging.getLogger(__name__)
_get_ident = threading.get_ident

T = TypeVar("T")

# Python wrapper functions get addresses in the kernel half of the 64-bit address space, where
# no user-space code (JIT'd or not) can ever live, so they cannot collide with real code.
_TOKEN_BASE = 0xFFFF_FF00_0000_0000
_TOKEN_STRIDE = 0x10


class WrapperEntry(Frozen):
    """A wrapper function and how to run it: on the loop, or on a worker thread (blocking).

    ``sync`` promises that ``fn`` never returns an awaitable, so with the standard in-loop
    dispatcher it runs directly on the Session's task (no hand-off). Compares by value.
    """

    _fields = ("fn", "name", "blocking", "sync")
    __slots__ = _fields

    def __init__(
        self, *, fn: WrapperFunction, name: str, blocking: bool = False, sync: bool = False
    ) -> None:
        self.fn: Final = fn
        self.name: Final = name
        self.blocking: Final = blocking
        self.sync: Final = sync


NativeWrapperFactory = Callable[[int], WrapperFunction]
"""Makes the wrapper that calls native code at an address (run on the blocking dispatcher).

Called on the Session actor's task for each call of an address with no registered wrapper;
must be fast and must not block.
"""


class SessionStatistics(Frozen):
    """A snapshot of a Session's counters (from `Session.statistics`); compares by value."""

    _fields = (
        "wrappers",
        "pending_wrapper_calls",
        "wrapper_calls",
        "resource_managers",
        "controller_attached",
        "shutting_down",
        "execution_scope_count",
    )
    __slots__ = _fields

    def __init__(
        self,
        *,
        wrappers: int,
        pending_wrapper_calls: int,
        wrapper_calls: int,
        resource_managers: int,
        controller_attached: bool,
        shutting_down: bool,
        execution_scope_count: int,
    ) -> None:
        self.wrappers: Final = wrappers
        self.pending_wrapper_calls: Final = pending_wrapper_calls
        self.wrapper_calls: Final = wrapper_calls
        self.resource_managers: Final = resource_managers
        self.controller_attached: Final = controller_attached
        self.shutting_down: Final = shutting_down
        self.execution_scope_count: Final = execution_scope_count


# -- messages to the Session actor --------------------------------------------------------


class RegisterWrapper(Ask[int]):
    """Register ``entry`` at ``address`` (or the next free token address); reply the address."""

    __slots__ = ("address", "entry")

    def __init__(self, *, entry: WrapperEntry, address: int | None = None) -> None:
        self.entry: Final = entry
        self.address: Final = address


class WrapperCall(Message):
    """Run the wrapper at ``address`` with ``args``; ``reply`` gets its result (a future, or a
    `CallbackReply` that forwards it without a detour through the loop)."""

    __slots__ = ("address", "args", "reply")

    def __init__(self, *, address: int, args: bytes, reply: Reply[bytes]) -> None:
        self.address: Final = address
        self.args: Final = args
        self.reply: Final = reply


class WrapperReturned(Message):
    """``return_fn`` was called for ``call_id`` with ``result``."""

    __slots__ = ("call_id", "result")

    def __init__(self, *, call_id: int, result: WrapperResult) -> None:
        self.call_id: Final = call_id
        self.result: Final = result


class ControllerCallRequest(Message):
    """Executor -> controller call; ``reply`` resolves with the controller's result."""

    __slots__ = ("args", "reply", "tag")

    def __init__(self, *, tag: int, args: bytes, reply: asyncio.Future[bytes]) -> None:
        self.tag: Final = tag
        self.args: Final = args
        self.reply: Final = reply


class AttachController(Ask[None]):
    """Make ``access`` the Session's controller link (once per Session)."""

    __slots__ = ("access",)

    def __init__(self, *, access: ActorRef[ControllerAccessMessage]) -> None:
        self.access: Final = access


class ControllerDetached(Message):
    """The controller access ``access`` disconnected (sent exactly once by that access)."""

    __slots__ = ("access", "reason")

    def __init__(
        self, *, access: ActorRef[ControllerAccessMessage], reason: BaseException | None
    ) -> None:
        self.access: Final = access
        self.reason: Final = reason


class AddResourceManager(Ask[None]):
    """Register a resource manager; refused once shutdown began."""

    __slots__ = ("manager",)

    def __init__(self, *, manager: ActorRef[ResourceManagerMessage]) -> None:
        self.manager: Final = manager


class ConfigureNativeCalls(Ask[None]):
    """Call addresses with no registered wrapper through ``factory`` (None: refuse them).

    With ``guarded``, only addresses inside executable ranges or resolved symbols announced by
    `AllowNativeTargets` are called; others get an error result naming the address.
    """

    __slots__ = ("factory", "guarded")

    def __init__(self, *, factory: NativeWrapperFactory | None, guarded: bool = True) -> None:
        self.factory: Final = factory
        self.guarded: Final = guarded


class AllowNativeTargets(Message):
    """Update the guard's allow-list: ``ranges`` replaces the executable ranges of ``source``
    (when given); ``addresses`` are added (resolved symbols)."""

    __slots__ = ("addresses", "ranges", "source")

    def __init__(
        self,
        *,
        source: str,
        ranges: tuple[tuple[int, int], ...] | None = None,
        addresses: tuple[int, ...] = (),
    ) -> None:
        self.source: Final = source
        self.ranges: Final = ranges
        self.addresses: Final = addresses


class CheckNativeTarget(Ask["str | None"]):
    """Reply None if native code at ``address`` may be called, else the refusal message."""

    __slots__ = ("address",)

    def __init__(self, *, address: int) -> None:
        self.address: Final = address


class GetController(Ask["ActorRef[ControllerAccessMessage] | None"]):
    """Reply with the attached controller access, if any."""

    __slots__ = ()


class TakeDetachSnapshot(Ask["tuple[ActorRef[ResourceManagerMessage], ...]"]):
    """Mark the Session detached; reply with the resource managers to detach."""

    __slots__ = ()


class BeginShutdown(Ask["tuple[ActorRef[ResourceManagerMessage], ...]"]):
    """Refuse new resource managers and controllers; reply with those to shut down."""

    __slots__ = ()


class GetStatistics(Ask[SessionStatistics]):
    """Reply with a `SessionStatistics` snapshot."""

    __slots__ = ()


SessionMessage = (
    RegisterWrapper
    | WrapperCall
    | WrapperReturned
    | ControllerCallRequest
    | AttachController
    | ControllerDetached
    | AddResourceManager
    | ConfigureNativeCalls
    | AllowNativeTargets
    | CheckNativeTarget
    | GetController
    | TakeDetachSnapshot
    | BeginShutdown
    | GetStatistics
)


class _SessionActor(Actor[SessionMessage]):
    """Owns the wrapper table, the CallId-keyed futures, the resource managers and the link."""

    inline_delivery = True  # idle: take mail on the sender's stack (actors._actor)

    def __init__(
        self,
        session: Session,
        in_loop: ActorRef[DispatcherMessage],
        blocking: ActorRef[DispatcherMessage],
        *,
        inline: bool,
    ) -> None:
        self._session = session
        self._in_loop = in_loop
        self._blocking = blocking
        self._inline = inline
        self._wrappers: dict[int, WrapperEntry] = {}
        self._next_token = _TOKEN_BASE
        self._pending: dict[int, Reply[bytes]] = {}
        self._next_call_id = 1
        self._wrapper_calls = 0
        self._native_factory: NativeWrapperFactory | None = None
        self._guarded = True
        self._exec_ranges: dict[str, tuple[tuple[int, int], ...]] = {}
        self._allowed_addresses: set[int] = set()
        self._controller: ActorRef[ControllerAccessMessage] | None = None
        self._ever_attached = False
        self._managers: list[ActorRef[ResourceManagerMessage]] = []
        self._detached = False
        self._shutting_down = False

    def handle(self, message: SessionMessage) -> object:  # never awaits: see the module doc
        match message:
            case WrapperCall(address=address, args=args, reply=reply):
                self._wrapper_call(address, args, reply)
                return None
            case WrapperReturned(call_id=call_id, result=result):
                self._wrapper_returned(call_id, result)
                return None
            # Third: the memory manager announces executable ranges once per finalize and free.
            case AllowNativeTargets(source=source, ranges=ranges, addresses=addresses):
                if ranges is not None:
                    self._exec_ranges[source] = ranges
                self._allowed_addresses.update(addresses)
                return None
            case ControllerCallRequest(tag=tag, args=args, reply=reply):
                self._call_controller(tag, args, reply)
                return None
            case RegisterWrapper(entry=entry, address=address):
                return self._register(entry, address)
            case AttachController(access=access):
                if self._shutting_down:
                    raise SessionShutdownError("cannot attach a controller: shutdown has begun")
                if self._ever_attached:
                    raise RuntimeError("a Session attaches one controller access, once")
                self._controller = access
                self._ever_attached = True
                return None
            case ControllerDetached(access=access, reason=reason):
                if access is self._controller:
                    self._controller = None
                self._session._lifecycle.tell(_ControllerGone(reason=reason))
                return None
            case AddResourceManager(manager=manager):
                if self._shutting_down:
                    raise SessionShutdownError(
                        f"resource manager {manager.name} added after shutdown began"
                    )
                self._managers.append(manager)
                if self._detached:
                    manager.tell(DetachResource())  # it missed the detach; orc-rt does the same
                return None
            case ConfigureNativeCalls(factory=factory, guarded=guarded):
                self._native_factory = factory
                self._guarded = guarded
                return None
            case CheckNativeTarget(address=address):
                return self._native_refusal(address)
            case GetController():
                return self._controller
            case TakeDetachSnapshot():
                self._detached = True
                return tuple(self._managers)
            case BeginShutdown():
                self._shutting_down = True
                return tuple(self._managers)
            case GetStatistics():
                return SessionStatistics(
                    wrappers=len(self._wrappers),
                    pending_wrapper_calls=len(self._pending),
                    wrapper_calls=self._wrapper_calls,
                    resource_managers=len(self._managers),
                    controller_attached=self._controller is not None,
                    shutting_down=self._shutting_down,
                    execution_scope_count=self._session.execution_scope.count,
                )
            case _:
                assert_never(message)

    def _register(self, entry: WrapperEntry, address: int | None) -> int:
        if address is None:
            while self._next_token in self._wrappers:
                self._next_token += _TOKEN_STRIDE
            address = self._next_token
            self._next_token += _TOKEN_STRIDE
        elif not 0 < address < 1 << 64:
            raise ValueError(f"wrapper address {address:#x} is not a non-zero u64")
        elif address in self._wrappers:
            raise ValueError(
                f"executor address {address:#x} already holds wrapper {self._wrappers[address].name}"
            )
        self._wrappers[address] = entry
        return address

    def _wrapper_call(self, address: int, args: bytes, reply: Reply[bytes]) -> None:
        entry = self._wrappers.get(address)
        if entry is None:
            refusal = self._native_refusal(address)
            if refusal is not None:
                if not reply.done():
                    reply.set_exception(RemoteCallError(refusal))
                return
            assert self._native_factory is not None
            entry = WrapperEntry(
                fn=self._native_factory(address), name=f"native@{address:#x}", blocking=True
            )
        call_id = self._next_call_id
        self._next_call_id += 1
        self._wrapper_calls += 1
        self._pending[call_id] = reply
        session = self._session
        if self._inline and entry.sync and not entry.blocking:
            self._run_inline(entry, call_id, args)
            return
        task = Task(
            run=functools.partial(entry.fn, session, call_id, session.wrapper_return, args),
            refuse=functools.partial(session._refuse_call, call_id),
            name=entry.name,
        )
        dispatcher = self._blocking if entry.blocking else self._in_loop
        try:
            dispatcher.tell(Dispatch(task=task))
        except ActorClosedError:
            self._pending.pop(call_id, None)
            if not reply.done():
                reply.set_exception(SessionShutdownError(f"session is shut down; {entry.name}"))

    def _run_inline(self, entry: WrapperEntry, call_id: int, args: bytes) -> None:
        # A synchronous pure-Python wrapper, run where the in-loop dispatcher would run it,
        # under the execution scope the dispatcher would hold. A result returned on this
        # thread while it runs is delivered right here, without a message; the return
        # function stays valid afterwards (a wrapper may keep it and return later, from any
        # thread), and then goes the usual way, through the mailbox.
        session = self._session
        scope = session._scope
        # The scope only starts draining on the loop thread, which is busy running this call:
        # while it is open, the call is covered without taking the lock. Otherwise retain it
        # as the dispatcher would (draining admits work only while something still holds it).
        retained = not scope.is_open
        if retained and not scope.try_retain():
            session._refuse_call(
                call_id, SessionShutdownError(f"session is shutting down; {entry.name} was not run")
            )
            return
        loop_thread = session._thread_id
        captured: list[WrapperResult] = []
        running = True

        def return_fn(target: Session, returned_id: int, result: WrapperResult, /) -> None:
            if running and returned_id == call_id and not captured and _get_ident() == loop_thread:
                captured.append(result)
            else:
                session.wrapper_return(target, returned_id, result)

        try:
            entry.fn(session, call_id, return_fn, args)
        except Exception as exc:
            if captured:
                session.report_error(exc)
            else:
                captured.append(OutOfBandError(describe_exception(exc)))
        finally:
            running = False
            if retained:
                scope.release()
        if captured:
            self._wrapper_returned(call_id, captured[0])

    def _native_refusal(self, address: int) -> str | None:
        if self._native_factory is None:
            return f"no wrapper function at executor address {address:#x}"
        if not self._guarded or address in self._allowed_addresses:
            return None
        for ranges in self._exec_ranges.values():
            for start, end in ranges:
                if start <= address < end:
                    return None
        return (
            f"refusing native call to {address:#x}: not inside executable memory this session "
            "initialized, nor a resolved symbol (guarded mode)"
        )

    def _wrapper_returned(self, call_id: int, result: WrapperResult) -> None:
        reply = self._pending.pop(call_id, None)
        if reply is None:
            self._session.report_error(
                RuntimeError(
                    f"wrapper result for unknown CallId {call_id}: returned twice, or never issued"
                )
            )
            return
        if reply.done():
            return  # the caller gave up waiting (timeout or cancellation)
        if isinstance(result, OutOfBandError):
            reply.set_exception(RemoteCallError(result.message))
        else:
            reply.set_result(result)

    def _call_controller(self, tag: int, args: bytes, reply: asyncio.Future[bytes]) -> None:
        controller = self._controller
        if controller is None:
            if not reply.done():
                reply.set_exception(NoControllerError())
            return
        try:
            controller.tell(CallController(tag=tag, args=args, reply=reply))
        except ActorClosedError:
            if not reply.done():
                reply.set_exception(DisconnectedError())


class Session:
    """Handle of one executor Session (orc-rt ``Session``): the root of a JIT'd program.

    Created by `open_session` (or `actors.run`); never constructed directly. Methods are called
    from coroutines on the Session's event loop unless they say otherwise. Several Sessions in
    one process are independent: separate actors, tables, scopes and task groups.

    After shutdown: calls of wrappers fail with `SessionShutdownError` (or `RemoteCallError`
    naming the refusal), calls to the controller with `NoControllerError`, attaching and adding
    resource managers with `SessionShutdownError`; once the `open_session` block has ended,
    the Session's actors are closed and requests to them raise `ActorClosedError`.
    `report_error`, `wrapper_return` and `execution_scope` stay safe to use from any thread.
    """

    __slots__ = (
        "__weakref__",
        "_async_channel",
        "_blocking",
        "_in_loop",
        "_lifecycle",
        "_loop",
        "_name",
        "_ref",
        "_reporter",
        "_scope",
        "_shutdown_done",
        "_spawner",
        "_thread_id",
    )

    def __init__(self, _spawner: Spawner, _name: str, _reporter: ErrorReporter) -> None:
        self._spawner = _spawner
        self._name = _name
        self._reporter = _reporter
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self._scope = ExecutionScope(_name)
        self._shutdown_done: asyncio.Future[None] = self._loop.create_future()
        # The native async-ABI return channel, made on first use (actors._native_wrappers).
        self._async_channel: Any = None
        # Filled in by open_session once the actors exist.
        self._ref: ActorRef[SessionMessage]
        self._lifecycle: ActorRef[Any]
        self._in_loop: ActorRef[DispatcherMessage]
        self._blocking: ActorRef[DispatcherMessage]

    def __repr__(self) -> str:
        state = "shut down" if self._shutdown_done.done() else "running"
        return f"<Session {self._name} {state} scope={self._scope.count}>"

    @property
    def name(self) -> str:
        """The Session's name (for logs)."""
        return self._name

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the Session's actors run on."""
        return self._loop

    @property
    def execution_scope(self) -> ExecutionScope:
        """The execution scope; hold an `ExecutionScopeGuard` while JIT'd code runs."""
        return self._scope

    @property
    def is_shut_down(self) -> bool:
        """True once shutdown has completed."""
        return self._shutdown_done.done()

    # -- errors and tasks ---------------------------------------------------------------------

    def report_error(self, error: BaseException) -> None:
        """Hand ``error`` to the Session's error reporter. Any thread; never raises."""
        if threading.get_ident() != self._thread_id:
            try:
                self._loop.call_soon_threadsafe(self.report_error, error)
            except RuntimeError:
                log.error("orcrt session %s (loop closed): %s", self._name, error)
            return
        try:
            self._reporter(error)
        except Exception:
            log.exception("orcrt session %s: the error reporter raised on %r", self._name, error)

    def spawn(self, actor: Actor[Any], name: str | None = None) -> ActorRef[Any]:
        """Start ``actor`` in this Session's task group; it is closed when the Session ends."""
        return self._spawner.spawn(actor, name)

    def create_task(self, coro: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        """Run ``coro`` as a task of the Session's task group (loop thread only)."""
        return self._spawner.create_task(coro, name)

    # -- wrapper functions -------------------------------------------------------------------

    async def register_wrapper(
        self,
        fn: PlainWrapper,
        *,
        address: int | None = None,
        name: str | None = None,
        blocking: bool = False,
    ) -> int:
        """Give a ``bytes -> bytes`` Python function (sync or async) an executor address.

        ``blocking=True`` runs it on the thread-pool dispatcher (for code that blocks).
        Exceptions it raises become out-of-band error results that keep the message.

        Called any number of times, usually before a controller attaches; the wrapper may be
        called from then on, concurrently with other wrappers.

        Returns:
            The address the controller calls it by (a fresh token unless ``address`` is given).

        Raises:
            ValueError: ``address`` is taken or not a non-zero u64.
            ActorClosedError: the Session has ended.
        """
        entry = WrapperEntry(
            fn=python_wrapper(fn),
            name=name or str(getattr(fn, "__name__", "wrapper")),
            blocking=blocking,
            sync=not inspect.iscoroutinefunction(fn),
        )
        return await self._ref.ask(RegisterWrapper(entry=entry, address=address))

    async def register_raw_wrapper(
        self,
        fn: WrapperFunction,
        *,
        address: int | None = None,
        name: str | None = None,
        blocking: bool = False,
        sync: bool = False,
    ) -> int:
        """Register a wrapper with the seed's signature ``fn(session, call_id, return_fn, args)``.

        ``fn`` must call ``return_fn`` exactly once, from any task or thread, now or later.
        ``sync=True`` promises ``fn`` never returns an awaitable (it may then run directly on
        the Session's task). Same addresses and errors as `register_wrapper`.
        """
        entry = WrapperEntry(
            fn=fn,
            name=name or str(getattr(fn, "__name__", "wrapper")),
            blocking=blocking,
            sync=sync,
        )
        return await self._ref.ask(RegisterWrapper(entry=entry, address=address))

    def wrapper_return(self, session: Session, call_id: int, result: WrapperResult, /) -> None:
        """The ``return_fn`` handed to wrappers: deliver the result for ``call_id``. Any thread.

        A second return for the same CallId, or an unknown CallId, is reported, not fatal.
        """
        message = WrapperReturned(call_id=call_id, result=result)
        try:
            self._ref.tell(message)
        except ActorClosedError:
            self.report_error(
                SessionShutdownError(f"wrapper result for CallId {call_id} after session ended")
            )

    async def call_wrapper(
        self, address: int, args: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Call the wrapper at ``address`` as the controller would, and wait for its result.

        Raises:
            RemoteCallError: no wrapper there, or it returned an out-of-band error.
            SessionShutdownError: the Session is shutting down.
            TimeoutError: no result within ``timeout`` seconds.
        """
        reply: asyncio.Future[bytes] = self._loop.create_future()
        self._submit_wrapper_call(address, args, reply)
        if timeout is None:
            return await reply
        async with asyncio.timeout(timeout):
            return await reply

    def _submit_wrapper_call(self, address: int, args: bytes, reply: Reply[bytes]) -> None:
        try:
            self._ref.tell(WrapperCall(address=address, args=args, reply=reply))
        except ActorClosedError:
            if not reply.done():
                reply.set_exception(SessionShutdownError(f"session {self._name} is shut down"))

    def _refuse_call(self, call_id: int, error: BaseException) -> None:
        self.wrapper_return(self, call_id, OutOfBandError(str(error) or type(error).__name__))

    async def configure_native_calls(
        self, factory: NativeWrapperFactory | None, *, guarded: bool = True
    ) -> None:
        """Let calls to addresses with no registered wrapper run native code via ``factory``.

        Guarded (the default): only code inside executable memory announced with
        `allow_native_targets` (memory this Session initialized) or resolved symbols is called;
        anything else gets an error result naming the address. ``guarded=False`` calls any
        address, as LLVM's own executor does. Without a factory such calls always fail.
        """
        await self._ref.ask(ConfigureNativeCalls(factory=factory, guarded=guarded))

    def allow_native_targets(
        self,
        source: str,
        *,
        ranges: tuple[tuple[int, int], ...] | None = None,
        addresses: tuple[int, ...] = (),
    ) -> None:
        """Update the native-call guard (any thread): ``ranges`` replaces the executable
        ranges announced under ``source``; ``addresses`` (resolved symbols) are added."""
        self._ref.tell(AllowNativeTargets(source=source, ranges=ranges, addresses=addresses))

    async def check_native_target(self, address: int) -> str | None:
        """None if the guard lets native code at ``address`` be called, else why not."""
        return await self._ref.ask(CheckNativeTarget(address=address))

    # -- the controller -------------------------------------------------------------------------

    async def attach(self, access: ControllerAccess, *, name: str | None = None) -> ActorRef[Any]:
        """Attach the controller link ``access`` (spawned here). One per Session, once.

        Raises:
            SessionShutdownError: shutdown has begun.
            RuntimeError: a controller was attached before.
        """
        access.bind(self)
        ref = self.spawn(access, name)
        try:
            await self._ref.ask(AttachController(access=ref))
        except BaseException:
            ref.close()
            raise
        return ref

    async def call_controller(
        self, tag: int, args: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Call the controller's handler for ``tag`` and wait for its result.

        Raises:
            NoControllerError: no controller attached ("no controller attached").
            DisconnectedError: the link went away before the result ("disconnected").
            RemoteCallError: the controller answered with an out-of-band error (e.g. no handler
                is registered for ``tag``).
            TimeoutError: no result within ``timeout`` seconds.
        """
        reply: asyncio.Future[bytes] = self._loop.create_future()
        self._submit_controller_call(tag, args, reply)
        if timeout is None:
            return await reply
        async with asyncio.timeout(timeout):
            return await reply

    def call_controller_blocking(
        self, tag: int, args: bytes, *, timeout: float | None = None
    ) -> bytes:
        """`call_controller` for a thread that is not the loop's (e.g. JIT'd code): blocks it.

        Raises:
            RuntimeError: called on the event-loop thread (it would deadlock).
            SessionShutdownError: the event loop is gone.
            TimeoutError: no result within ``timeout`` seconds.
            NoControllerError, DisconnectedError, RemoteCallError: as `call_controller`.
        """
        if threading.get_ident() == self._thread_id:
            raise RuntimeError("call_controller_blocking on the event-loop thread would deadlock")
        done: concurrent.futures.Future[bytes] = concurrent.futures.Future()

        def start() -> None:
            reply: asyncio.Future[bytes] = self._loop.create_future()
            reply.add_done_callback(lambda finished: copy_outcome(finished, done))
            self._submit_controller_call(tag, args, reply)

        try:
            self._loop.call_soon_threadsafe(start)
        except RuntimeError as exc:
            raise SessionShutdownError(f"session {self._name}: event loop is closed") from exc
        try:
            return done.result(timeout)
        except concurrent.futures.TimeoutError as exc:
            raise TimeoutError(f"controller call to tag {tag:#x} timed out") from exc

    def _submit_controller_call(self, tag: int, args: bytes, reply: asyncio.Future[bytes]) -> None:
        try:
            self._ref.tell(ControllerCallRequest(tag=tag, args=args, reply=reply))
        except ActorClosedError:
            if not reply.done():
                reply.set_exception(NoControllerError())

    def _controller_detached(
        self, access: ActorRef[ControllerAccessMessage], reason: BaseException | None
    ) -> None:
        self._ref.tell(ControllerDetached(access=access, reason=reason))

    # -- resource managers and lifecycle --------------------------------------------------------

    async def add_resource_manager(
        self, manager: ResourceManager[Any], *, name: str | None = None
    ) -> ActorRef[Any]:
        """Spawn ``manager`` and register it; it gets ``detach`` and ``shutdown`` in reverse order
        of registration.

        Raises:
            SessionShutdownError: shutdown has begun (the manager is closed, not registered).
        """
        ref = self.spawn(manager, name)
        try:
            await self._ref.ask(AddResourceManager(manager=ref))
        except BaseException:
            ref.close()
            raise
        return ref

    def add_on_detach(self, callback: Callable[[BaseException | None], object]) -> None:
        """Run ``callback(reason)`` once the Session detached (after the resource managers'
        ``detach``); runs at once (soon) if it already did. Loop thread only."""
        self._lifecycle.tell(_AddCallback(kind="detach", callback=callback))

    def add_on_shutdown(self, callback: Callable[[], object]) -> None:
        """Run ``callback()`` once shutdown completed (last step); soon if it already did."""
        self._lifecycle.tell(_AddCallback(kind="shutdown", callback=callback))

    async def detach(self) -> None:
        """Detach from the controller (if attached) and detach the resource managers.

        Idempotent. JIT'd code may keep running; no further calls either way.
        """
        await self._lifecycle.ask(_DetachSession())

    async def shutdown(self) -> None:
        """Shut the Session down; return when it is complete. Idempotent; any number of callers.

        Order: detach (controller, then resource managers in reverse) -> wait for the execution
        scope to reach zero -> resource managers' ``shutdown`` in reverse -> dispatchers stop ->
        shutdown callbacks. Errors along the way are reported and the sequence continues.
        """
        if self._shutdown_done.done():
            return
        with contextlib.suppress(ActorClosedError):
            await self._lifecycle.ask(_ShutdownSession())
        await asyncio.shield(self._shutdown_done)

    async def wait_shutdown(self) -> None:
        """Wait until shutdown has completed, without starting it."""
        await asyncio.shield(self._shutdown_done)

    async def statistics(self) -> SessionStatistics:
        """A snapshot of the Session's counters."""
        return await self._ref.ask(GetStatistics())


def _log_error(name: str) -> ErrorReporter:
    def report(error: BaseException) -> None:
        log.error("orcrt session %s: %s", name, error, exc_info=error)

    return report


@contextlib.asynccontextmanager
async def open_session(
    *,
    name: str = "session",
    error_reporter: ErrorReporter | None = None,
    in_loop_dispatcher: TaskDispatcher | None = None,
    blocking_dispatcher: TaskDispatcher | None = None,
) -> AsyncIterator[Session]:
    """Create a Session on the running loop; shut it down when the block ends.

    Never starts a loop of its own, never blocks the loop: embed it in any asyncio program.
    The Session's actors live in a task group that ends with the block; leaving the block
    (normally, by an exception or by cancellation) runs `Session.shutdown` first.

    Args:
        name: for logs and error messages.
        error_reporter: receives every error that has no caller (default: logging).
        in_loop_dispatcher: runs pure-Python wrappers (default `InLoopDispatcher`).
        blocking_dispatcher: runs blocking/native work (default `ThreadPoolDispatcher`).
    """
    from ._shutdown import _ShutdownActor

    reporter = error_reporter or _log_error(name)
    async with asyncio.TaskGroup() as group:
        spawner = Spawner(group, reporter)
        session = Session(spawner, name, reporter)
        in_loop = in_loop_dispatcher or InLoopDispatcher()
        blocking = blocking_dispatcher or ThreadPoolDispatcher()
        in_loop.bind(session)
        blocking.bind(session)
        session._in_loop = spawner.spawn(in_loop, f"{name}.in-loop-dispatcher")
        session._blocking = spawner.spawn(blocking, f"{name}.blocking-dispatcher")
        session._ref = spawner.spawn(
            _SessionActor(
                session,
                session._in_loop,
                session._blocking,
                inline=in_loop.runs_sync_tasks_inline,
            ),
            f"{name}.session",
        )
        session._lifecycle = spawner.spawn(_ShutdownActor(session), f"{name}.shutdown")
        try:
            yield session
        finally:
            try:
                await session.shutdown()
            finally:
                spawner.close_all()


def run(
    main: Callable[[Session], Awaitable[T]],
    *,
    use_uvloop: bool | None = None,
    name: str = "session",
    error_reporter: ErrorReporter | None = None,
) -> T:
    """Run ``main(session)`` in a fresh event loop with a fresh Session; return its result.

    For scripts: uvloop is used by default when installed (``use_uvloop=False`` opts out; True
    requires it). The Session shuts down when ``main`` returns or raises.
    """

    async def runner() -> T:
        async with open_session(name=name, error_reporter=error_reporter) as session:
            return await main(session)

    if use_uvloop is not False:
        try:
            import uvloop
        except ImportError:
            if use_uvloop:
                raise
        else:
            return uvloop.run(runner())
    return asyncio.run(runner())


# Lifecycle messages live here so the Session handle can send them; the actor is _shutdown.py.


class _DetachSession(Ask[None]):
    __slots__ = ()


class _ShutdownSession(Ask[None]):
    __slots__ = ()


class _ControllerGone(Message):
    __slots__ = ("reason",)

    def __init__(self, *, reason: BaseException | None) -> None:
        self.reason: Final = reason


class _AddCallback(Message):
    __slots__ = ("callback", "kind")

    def __init__(self, *, kind: str, callback: Callable[..., object]) -> None:
        self.kind: Final = kind
        self.callback: Final = callback
