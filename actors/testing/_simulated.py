"""The simulated controller: a controller actor for testing code that runs in an orcrt Session.

It plays the part LLVM's ``llvm-jitlink`` plays on a real link: it calls executor wrapper
functions by address and answers the executor's calls to the handler tags it registered.
Tests drive it through the `SimulatedController` handle:

    controller = await SimulatedController.attach(session)
    await controller.register_handler(TAG, lambda args: args[::-1])
    assert await controller.call(address, b"abc") == b"..."

Faults for robustness tests: `fail_handler` (the handler answers with an error),
`delay_handler` (the reply waits for a gate the test opens: slow replies, without sleeping),
`disconnect_during_handler` and `disconnect_during_call` (the link drops mid-call), and
`disconnect` (the controller goes away).

| message (to the controller actor) | effect                                                    |
|-----------------------------------|-----------------------------------------------------------|
| `LinkOpened`, `LinkClosed`        | the executor side of the link came up / went down         |
| `ExecutorCall`                    | run the handler for the tag (or the fault), answer        |
| `WrapperResultSent`               | resolve our pending call of an executor wrapper           |
| `_CallExecutor`                   | send a call of an executor wrapper                        |
| `_RegisterHandler`, `_SetFault`, `_DropLink`, `_GetStatistics` | the handle's requests        |
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import assert_never

import attrs

from actors._actor import Actor, ActorRef, Ask, CallbackReply
from actors._controller import ControllerAccessMessage, IncomingResult, LinkLost
from actors._errors import DisconnectedError, RemoteCallError
from actors._inprocess import (
    ControllerSideMessage,
    ExecutorCall,
    InProcessControllerAccess,
    LinkClosed,
    LinkOpened,
    WrapperResultSent,
)
from actors._session import Session
from actors._wrappers import (
    OutOfBandError,
    WrapperResult,
    as_wrapper_result,
    describe_exception,
)

__all__ = ["ControllerStatistics", "Handler", "SimulatedController"]

Handler = Callable[[bytes], "bytes | Awaitable[bytes]"]
"""A controller-side handler: argument bytes in, result bytes out (sync or async)."""


@attrs.frozen(kw_only=True)
class ControllerStatistics:
    """Counters of a simulated controller (from `SimulatedController.statistics`)."""

    connected: bool
    calls_sent: int
    results_received: int
    executor_calls: int
    pending_calls: int


@attrs.frozen(kw_only=True)
class _FailWith:
    message: str


@attrs.frozen(kw_only=True)
class _DelayUntil:
    gate: asyncio.Event


@attrs.frozen(kw_only=True)
class _DropLinkFault:
    reason: BaseException | None


_Fault = _FailWith | _DelayUntil | _DropLinkFault


@attrs.frozen(kw_only=True)
class _RegisterHandler(Ask[None]):
    tag: int
    handler: Handler


@attrs.frozen(kw_only=True)
class _SetFault(Ask[None]):
    on_tag: int | None = None
    on_address: int | None = None
    fault: _Fault | None


@attrs.frozen(kw_only=True)
class _CallExecutor:
    address: int
    args: bytes
    reply: asyncio.Future[bytes]


@attrs.frozen(kw_only=True)
class _DropLink(Ask[None]):
    reason: BaseException | None


@attrs.frozen(kw_only=True)
class _GetStatistics(Ask[ControllerStatistics]):
    pass


@attrs.frozen(kw_only=True)
class _WaitConnected(Ask["asyncio.Future[None] | None"]):
    pass


_Message = (
    ControllerSideMessage
    | _RegisterHandler
    | _SetFault
    | _CallExecutor
    | _DropLink
    | _GetStatistics
    | _WaitConnected
)


class _ControllerActor(Actor[_Message]):
    def __init__(self, session: Session) -> None:
        self._session = session
        self._access: ActorRef[ControllerAccessMessage] | None = None
        self._connected = False
        self._link_closed = False
        self._handlers: dict[int, Handler] = {}
        self._tag_faults: dict[int, _Fault] = {}
        self._address_faults: dict[int, _Fault] = {}
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._next_ref = 0
        self._calls_sent = 0
        self._results_received = 0
        self._executor_calls = 0
        self._connected_waiters: list[asyncio.Future[None]] = []

    def handle(self, message: _Message) -> object:  # never awaits: helpers run as tasks
        match message:
            case LinkOpened(access=access):
                self._access = access
                self._connected = True
                for waiter in self._connected_waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                self._connected_waiters.clear()
            case LinkClosed():
                self._close_link()
            case ExecutorCall(seq_no=seq_no, tag=tag, args=args):
                self._executor_call(seq_no, tag, args)
            case WrapperResultSent(ref=ref, result=result):
                self._wrapper_result(ref, result)
            case _CallExecutor(address=address, args=args, reply=reply):
                self._call_executor(address, args, reply)
            case _RegisterHandler(tag=tag, handler=handler):
                self._handlers[tag] = handler
            case _SetFault(on_tag=tag, on_address=address, fault=fault):
                table, key = (
                    (self._tag_faults, tag) if tag is not None else (self._address_faults, address)
                )
                assert key is not None
                if fault is None:
                    table.pop(key, None)
                else:
                    table[key] = fault
            case _DropLink(reason=reason):
                self._drop_link(reason)
            case _GetStatistics():
                return ControllerStatistics(
                    connected=self._connected and not self._link_closed,
                    calls_sent=self._calls_sent,
                    results_received=self._results_received,
                    executor_calls=self._executor_calls,
                    pending_calls=len(self._pending),
                )
            case _WaitConnected():
                if not self._connected:
                    waiter = asyncio.get_running_loop().create_future()
                    self._connected_waiters.append(waiter)
                    return waiter
            case _:
                assert_never(message)
        return None

    # -- executor -> controller ---------------------------------------------------------------

    def _executor_call(self, seq_no: int, tag: int, args: bytes) -> None:
        self._executor_calls += 1
        fault = self._tag_faults.get(tag)
        match fault:
            case _FailWith(message=text):
                self._answer(seq_no, OutOfBandError(text))
                return
            case _DropLinkFault(reason=reason):
                self._drop_link(reason)
                return
            case _DelayUntil(gate=gate):
                self._session.create_task(self._delayed(seq_no, tag, args, gate))
                return
            case None:
                pass
            case _:
                assert_never(fault)
        self._run_handler(seq_no, tag, args)

    async def _delayed(self, seq_no: int, tag: int, args: bytes, gate: asyncio.Event) -> None:
        await gate.wait()
        self._run_handler(seq_no, tag, args)

    def _run_handler(self, seq_no: int, tag: int, args: bytes) -> None:
        handler = self._handlers.get(tag)
        if handler is None:
            self._answer(seq_no, OutOfBandError(f"no handler registered for tag {tag:#x}"))
            return
        try:
            result = handler(args)
        except Exception as exc:
            self._answer(seq_no, OutOfBandError(describe_exception(exc)))
            return
        if inspect.isawaitable(result):
            self._session.create_task(self._await_handler(seq_no, result))
        else:
            self._answer(seq_no, result)

    async def _await_handler(self, seq_no: int, result: Awaitable[bytes]) -> None:
        try:
            value = await result
        except Exception as exc:
            self._answer(seq_no, OutOfBandError(describe_exception(exc)))
        else:
            self._answer(seq_no, value)

    def _answer(self, seq_no: int, result: WrapperResult) -> None:
        # Runs on this actor's task or on a helper task it started; the access checks its
        # own state when the message arrives, so an answer after a disconnect is harmless.
        access = self._access
        if access is None or self._link_closed or access.closed:
            return
        access.tell(IncomingResult(seq_no=seq_no, result=result))

    # -- controller -> executor ---------------------------------------------------------------

    def _call_executor(self, address: int, args: bytes, reply: asyncio.Future[bytes]) -> None:
        access = self._access
        if access is None or self._link_closed or access.closed:
            reply.set_exception(DisconnectedError())
            return
        ref = self._next_ref
        self._next_ref += 1
        self._pending[ref] = reply
        self._calls_sent += 1
        # Like a real link, the controller's end hands calls straight to the Session; the
        # result comes back to this actor as a message (see actors._stream for the same path).
        me = self.ref

        def forward(result: bytes | None, error: BaseException | None) -> None:
            if me.closed:
                return
            me.tell(WrapperResultSent(ref=ref, result=as_wrapper_result(result, error)))

        self._session._submit_wrapper_call(address, args, CallbackReply(forward))
        fault = self._address_faults.get(address)
        if isinstance(fault, _DropLinkFault):
            self._drop_link(fault.reason)

    def _wrapper_result(self, ref: int, result: WrapperResult) -> None:
        reply = self._pending.pop(ref, None)
        if reply is None and self._link_closed:
            return  # its caller already got "disconnected" when the link went down
        if reply is None:
            self._session.report_error(
                RuntimeError(f"simulated controller: result for unknown call {ref}")
            )
            return
        self._results_received += 1
        if reply.done():
            return
        if isinstance(result, OutOfBandError):
            reply.set_exception(RemoteCallError(result.message))
        else:
            reply.set_result(result)

    # -- the link ---------------------------------------------------------------------------------

    def _drop_link(self, reason: BaseException | None) -> None:
        access = self._access
        self._close_link()
        if access is not None and not access.closed:
            access.tell(LinkLost(reason=reason))

    def _close_link(self) -> None:
        self._link_closed = True
        pending, self._pending = self._pending, {}
        for reply in pending.values():
            if not reply.done():
                reply.set_exception(DisconnectedError())


class SimulatedController:
    """A simulated controller attached to a Session through an in-process controller access.

    Create with `attach`. All methods are coroutines for the Session's event loop. After the
    link is gone, `call` fails with `DisconnectedError`; the executor's calls to the controller
    fail with "disconnected" as well.
    """

    __slots__ = ("_access", "_ref", "_session")

    def __init__(
        self,
        _ref: ActorRef[_Message],
        _access: ActorRef[ControllerAccessMessage],
        _session: Session,
    ) -> None:
        self._ref = _ref
        self._access = _access
        self._session = _session

    @classmethod
    async def attach(
        cls, session: Session, *, name: str = "simulated-controller"
    ) -> SimulatedController:
        """Spawn a simulated controller and attach it to ``session`` as its controller.

        Raises:
            SessionShutdownError: the Session is shutting down.
            RuntimeError: the Session has a controller already.
        """
        ref: ActorRef[_Message] = session.spawn(_ControllerActor(session), name)
        access = await session.attach(InProcessControllerAccess(ref), name=f"{name}.access")
        waiter = await ref.ask(_WaitConnected())
        if waiter is not None:
            await waiter
        return cls(ref, access, session)

    @property
    def access(self) -> ActorRef[ControllerAccessMessage]:
        """The executor-side controller access (for `Disconnect` from tests)."""
        return self._access

    async def register_handler(self, tag: int, handler: Handler) -> None:
        """Answer executor calls to ``tag`` with ``handler(args)`` (sync or async).

        An exception in the handler becomes an out-of-band error result with its message.
        """
        await self._ref.ask(_RegisterHandler(tag=tag, handler=handler))

    async def call(self, address: int, args: bytes, *, timeout: float | None = None) -> bytes:
        """Call the executor wrapper at ``address`` with ``args``; return the result bytes.

        Raises:
            RemoteCallError: the executor answered with an out-of-band error.
            DisconnectedError: the link dropped before the result arrived.
            TimeoutError: no result within ``timeout`` seconds.
        """
        reply = self.call_nowait(address, args)
        if timeout is None:
            return await reply
        async with asyncio.timeout(timeout):
            return await reply

    def call_nowait(self, address: int, args: bytes) -> asyncio.Future[bytes]:
        """Send a call of the wrapper at ``address``; return the future of its result.

        For pipelining many calls without a task each (``await asyncio.gather(*futures)``).
        The future fails as `call` would raise. Loop thread only.
        """
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._ref.tell(_CallExecutor(address=address, args=args, reply=reply))
        return reply

    async def fail_handler(self, tag: int, message: str) -> None:
        """Answer calls to ``tag`` with an out-of-band error ``message`` (until cleared)."""
        await self._ref.ask(_SetFault(on_tag=tag, fault=_FailWith(message=message)))

    async def delay_handler(self, tag: int) -> asyncio.Event:
        """Hold replies to ``tag`` until the returned event is set (slow replies)."""
        gate = asyncio.Event()
        await self._ref.ask(_SetFault(on_tag=tag, fault=_DelayUntil(gate=gate)))
        return gate

    async def disconnect_during_handler(
        self, tag: int, reason: BaseException | None = None
    ) -> None:
        """When the executor calls ``tag``, drop the link instead of answering."""
        await self._ref.ask(_SetFault(on_tag=tag, fault=_DropLinkFault(reason=reason)))

    async def disconnect_during_call(
        self, address: int, reason: BaseException | None = None
    ) -> None:
        """Drop the link right after sending the next calls of the wrapper at ``address``."""
        await self._ref.ask(_SetFault(on_address=address, fault=_DropLinkFault(reason=reason)))

    async def clear_faults(self, *, tag: int | None = None, address: int | None = None) -> None:
        """Remove the fault set on ``tag`` or ``address``."""
        if tag is not None:
            await self._ref.ask(_SetFault(on_tag=tag, fault=None))
        if address is not None:
            await self._ref.ask(_SetFault(on_address=address, fault=None))

    async def disconnect(self, reason: BaseException | None = None) -> None:
        """The controller goes away: the link drops (``reason`` None = orderly)."""
        await self._ref.ask(_DropLink(reason=reason))

    async def statistics(self) -> ControllerStatistics:
        """Counters: calls sent and answered, executor calls seen, pending calls."""
        return await self._ref.ask(_GetStatistics())
