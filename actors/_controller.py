"""ControllerAccess: the actor that links a Session to its controller.

| message            | sent by                 | effect                                            |
|--------------------|-------------------------|---------------------------------------------------|
| `CallController`   | the Session             | executor -> controller call to a handler tag      |
| `IncomingCall`     | the link (subclass)     | controller -> executor call of a wrapper address  |
| `IncomingResult`   | the link (subclass)     | the controller answered one of our calls          |
| `WrapperDone`      | a wrapper's reply future| send a wrapper's result back to the controller    |
| `Disconnect`       | anyone, any task/thread | detach: no further calls either way               |
| `LinkLost`         | the link (subclass)     | the controller went away (EOF, error, hang-up)    |
| `EndOfRead`        | the link (subclass)     | one read's frames are all handed over: `flush`    |

Theory of operation
-------------------
Controller -> executor calls name a wrapper-function *address* and carry the controller's
call reference; the access hands them to the Session (`actors._session.WrapperCall`) with a
reply future and, when the future resolves, sends the result back (`send_result`).
Executor -> controller calls name a *tag*; each gets the next sequence number and waits in
``_pending`` for the controller's result.

Disconnection happens once, whoever asks first (a `Disconnect` from any number of tasks and
threads, or `LinkLost` from the link): the link is closed, every pending executor ->
controller call fails with `DisconnectedError` ("disconnected"), the Session is told exactly
once (`ControllerDetached`), and only then does the first `Disconnect` reply. Messages are
taken in order, so every later `Disconnect` replies after that too: each caller returns only
once no further calls will be received or accepted. Calls made afterwards fail at once with
"disconnected".
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from typing import TYPE_CHECKING, Final, assert_never

from ._actor import Actor, ActorRef, Ask, Message, Reply
from ._errors import DisconnectedError, RemoteCallError
from ._wrappers import OutOfBandError, WrapperResult, as_wrapper_result

if TYPE_CHECKING:
    from ._session import Session

__all__ = [
    "END_OF_READ",
    "CallController",
    "ControllerAccess",
    "ControllerAccessMessage",
    "Disconnect",
    "EndOfRead",
    "IncomingCall",
    "IncomingResult",
    "LinkLost",
    "WrapperDone",
    "result_reply",
]

log = logging.getLogger(__name__)


class CallController(Message):
    """Executor -> controller call of handler ``tag`` with ``args``; ``reply`` gets the result.

    Sent by the Session. ``reply`` resolves to the result bytes, or fails with
    `DisconnectedError`, or `RemoteCallError` for an out-of-band error from the controller.
    """

    __slots__ = ("args", "reply", "tag")

    def __init__(self, *, tag: int, args: bytes, reply: asyncio.Future[bytes]) -> None:
        self.tag: Final = tag
        self.args: Final = args
        self.reply: Final = reply


class IncomingCall(Message):
    """Controller -> executor call of the wrapper at ``address``; ``ref`` identifies the call
    on the link (the frame's sequence number) and comes back in `send_result`."""

    __slots__ = ("address", "args", "ref")

    def __init__(self, *, ref: int, address: int, args: bytes) -> None:
        self.ref: Final = ref
        self.address: Final = address
        self.args: Final = args


class IncomingResult(Message):
    """The controller's answer to our call number ``seq_no``."""

    __slots__ = ("result", "seq_no")

    def __init__(self, *, seq_no: int, result: WrapperResult) -> None:
        self.seq_no: Final = seq_no
        self.result: Final = result


class WrapperDone(Message):
    """The wrapper for incoming call ``ref`` finished with ``result``."""

    __slots__ = ("ref", "result")

    def __init__(self, *, ref: int, result: WrapperResult) -> None:
        self.ref: Final = ref
        self.result: Final = result


class Disconnect(Ask[None]):
    """Detach from the controller (idempotent). Replies once no call will be received or
    accepted any more; ``reason`` is None for an orderly detach."""

    __slots__ = ("reason",)

    def __init__(self, *, reason: BaseException | None = None) -> None:
        self.reason: Final = reason


class LinkLost(Message):
    """The link ended by itself; ``reason`` is None for a clean end (EOF at a frame boundary)."""

    __slots__ = ("reason",)

    def __init__(self, *, reason: BaseException | None = None) -> None:
        self.reason: Final = reason


class EndOfRead(Message):
    """The link has handed over every frame of one read: results batched meanwhile may go out
    now (`ControllerAccess.flush`), without waiting for the mailbox to run empty. Stateless:
    send `END_OF_READ`."""

    __slots__ = ()


END_OF_READ: Final = EndOfRead()
"""The one `EndOfRead` message (it carries nothing, so one instance serves every read)."""


ControllerAccessMessage = (
    CallController | IncomingCall | IncomingResult | WrapperDone | Disconnect | LinkLost | EndOfRead
)


class ControllerAccess(Actor[ControllerAccessMessage]):
    """Base of controller-access actors: call bookkeeping and the disconnect protocol.

    A subclass implements the link: `send_call`, `send_result`, `close_link`, and feeds
    `IncomingCall`/`IncomingResult`/`LinkLost` to its own mailbox. Attach one to a Session with
    ``await session.attach(access)``; one access serves one Session, once.
    """

    def __init__(self) -> None:
        self._session: Session | None = None
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._next_seq_no = 0
        self._disconnected = False

    def __repr__(self) -> str:
        state = "disconnected" if self._disconnected else f"pending={len(self._pending)}"
        return f"<{type(self).__name__} {state}>"

    def bind(self, session: Session) -> None:
        """Give the access its Session (once, before spawning). Called by `Session.attach`."""
        if self._session is not None:
            raise RuntimeError(f"{type(self).__name__} is attached to a session already")
        self._session = session

    @property
    def session(self) -> Session:
        """The Session this access serves."""
        if self._session is None:
            raise RuntimeError(f"{type(self).__name__} is not attached to a session")
        return self._session

    @property
    def disconnected(self) -> bool:
        """True once the disconnection has begun (read on the actor's task)."""
        return self._disconnected

    # -- the link, implemented by subclasses ---------------------------------------------

    @abstractmethod
    async def send_call(self, seq_no: int, tag: int, args: bytes) -> None:
        """Send an executor -> controller call. Raise if the link cannot take it."""

    @abstractmethod
    async def send_result(self, ref: int, result: WrapperResult) -> None:
        """Send the result of the controller's call ``ref``."""

    def send_result_nowait(self, ref: int, result: WrapperResult) -> bool:
        """Send the result of call ``ref`` if that needs no waiting; return whether it did.

        The fast path for results (no coroutine per result): when it returns False,
        `send_result` is awaited instead. The default always returns False. Called on the
        access's task (or inline, see `actors._actor`); raise as `send_result` would.
        """
        return False

    @abstractmethod
    async def close_link(self, reason: BaseException | None) -> None:
        """Close the link so that no further call is received; called once."""

    def flush(self) -> None:
        """Send what is batched for the link now (on `EndOfRead`). Default: nothing is batched."""

    async def on_connect(self) -> None:
        """Called once when attached, before any message (e.g. to send Setup)."""

    async def on_start(self) -> None:
        """Run `on_connect`; a failure disconnects with that error as the reason."""
        try:
            await self.on_connect()
        except Exception as exc:
            await self._disconnect(exc)

    # -- message handling -----------------------------------------------------------------

    def handle(self, message: ControllerAccessMessage) -> object:
        """Take one message (see the module table).

        Synchronous where it can be (results that `send_result_nowait` sends, incoming calls
        and results); the rest returns a coroutine that the mailbox loop awaits.
        """
        match message:
            case CallController(tag=tag, args=args, reply=reply):
                return self._call_controller(tag, args, reply)
            case IncomingCall(ref=ref, address=address, args=args):
                self._incoming_call(ref, address, args)
            case IncomingResult(seq_no=seq_no, result=result):
                self._incoming_result(seq_no, result)
            case WrapperDone(ref=ref, result=result):
                if self._disconnected:
                    log.debug("dropping the result of call %d: controller disconnected", ref)
                elif not self.send_result_nowait(ref, result):
                    return self.send_result(ref, result)
            case Disconnect(reason=reason) | LinkLost(reason=reason):
                return self._disconnect(reason)
            case EndOfRead():
                if not self._disconnected:
                    self.flush()
            case _:
                assert_never(message)
        return None

    async def _call_controller(self, tag: int, args: bytes, reply: asyncio.Future[bytes]) -> None:
        if self._disconnected:
            if not reply.done():
                reply.set_exception(DisconnectedError())
            return
        seq_no = self._next_seq_no
        self._next_seq_no += 1
        self._pending[seq_no] = reply
        try:
            await self.send_call(seq_no, tag, args)
        except Exception as exc:
            self._pending.pop(seq_no, None)
            if not reply.done():
                failure = DisconnectedError(f"disconnected: {exc}")
                failure.__cause__ = exc
                reply.set_exception(failure)

    def _incoming_call(self, ref: int, address: int, args: bytes) -> None:
        if self._disconnected:
            return  # the link is closed: nothing can arrive legitimately, nothing can answer
        self.session._submit_wrapper_call(address, args, result_reply(self.ref, ref))

    def _incoming_result(self, seq_no: int, result: WrapperResult) -> None:
        reply = self._pending.pop(seq_no, None)
        if reply is None:
            self.unknown_result(seq_no)
            return
        if reply.done():
            return  # the caller gave up (cancelled or timed out)
        if isinstance(result, OutOfBandError):
            reply.set_exception(RemoteCallError(result.message))
        else:
            reply.set_result(result)

    def unknown_result(self, seq_no: int) -> None:
        """A result arrived for no call of ours. Default: report it. Streams treat it as fatal."""
        self.session.report_error(
            RuntimeError(f"controller sent a result for unknown call number {seq_no}")
        )

    async def _disconnect(self, reason: BaseException | None) -> None:
        if self._disconnected:
            return
        self._disconnected = True
        try:
            await self.close_link(reason)
        except Exception as exc:
            self.session.report_error(exc)
        pending, self._pending = self._pending, {}
        for reply in pending.values():
            if not reply.done():
                reply.set_exception(DisconnectedError())
        self.session._controller_detached(self.ref, reason)


class _ResultReply:
    """The `Reply` of one incoming call: forwards the wrapper's result to the access (the
    work of a `CallbackReply` with a closure, in one small object per call)."""

    __slots__ = ("_access", "_done", "_ref")

    def __init__(self, access: ActorRef[ControllerAccessMessage], ref: int) -> None:
        self._access = access
        self._ref = ref
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, result: bytes, /) -> None:
        if not self._done:
            self._done = True
            self._forward(result)

    def set_exception(self, exception: BaseException, /) -> None:
        if not self._done:
            self._done = True
            self._forward(as_wrapper_result(None, exception))

    def _forward(self, result: WrapperResult) -> None:
        access = self._access
        if access.closed:
            log.debug("dropping the result of call %d: %s is closed", self._ref, access.name)
            return
        access.tell(WrapperDone(ref=self._ref, result=result))


def result_reply(access: ActorRef[ControllerAccessMessage], ref: int) -> Reply[bytes]:
    """The reply for incoming call ``ref``: forwards the wrapper's result to ``access``.

    Runs on the Session actor's task (or inline) when the wrapper returns. Exceptions become
    out-of-band errors that keep their message. After the access closed the result is dropped
    (orc-rt drops results once detached, too).
    """
    return _ResultReply(access, ref)
