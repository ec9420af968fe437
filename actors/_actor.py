"""The actor core: one mailbox and one task per actor; ``tell``, typed ``ask``, ``close``.

Theory of operation
-------------------
An actor is an object with a ``handle(message)`` coroutine. `spawn` gives it a mailbox (a deque)
and one task, created in the owning Session's task group, that takes envelopes in order:

1. take an envelope ``(message, reply)`` and ``await actor.handle(message)``;
2. put the result or exception into ``reply`` (a future) when somebody asked;
3. when nobody asked, report the exception to the Session's error reporter and go on: a failing
   message never loses the messages queued behind it;
4. when the actor closes, fail every envelope still queued with `ActorClosedError` (queued tells,
   which have nobody to fail, are reported instead, so nothing disappears silently).

The task only touches the actor's state, so the state needs no lock. Peers hold an `ActorRef`,
never the actor. The mailbox is a plain deque plus one waiter future that exists only while the
actor is idle: a ``tell`` to a busy actor costs one ``deque.append``, and a burst of messages
wakes the actor once. ``tell`` works from any thread (it hops to the loop with
``call_soon_threadsafe``); ``ask`` is for coroutines on the loop, ``ask_threadsafe`` for threads.

Inline delivery (opt-in: an actor class sets ``inline_delivery = True``). An actor whose
``handle`` is a plain ``def`` may then get a message handled at once, on the sender's stack,
instead of through its task: when the message is sent on the loop thread while the actor is
idle (its task waits for mail, its mailbox is empty) and not already handling a message inline. That is exactly what the task would do next, minus one loop iteration and one
task switch per hop; the actor's state is still touched by one piece of code at a time (the loop
runs one callback at a time, and the task is parked at its ``await``), and messages keep their
order (a busy actor, or one with mail queued, gets the message queued). What changes for the
sender: the handler has run when ``tell`` returns, and an ``ask`` may be answered without the
asker yielding to the loop, so other tasks the handler woke have not run yet when it resumes;
hence opt-in. Any plain ``def handle`` may return a coroutine: the asynchronous rest of the
work (its *tail*), which the task then awaits before any other message, and whose result is
the reply. After inline handling the actor's `on_idle` runs soon (``call_soon``), once per
burst, if the actor is still idle then. `ActorRef.ask_inline` is the request/reply form for hot
paths: when the message can be taken inline and ``handle`` returns a plain value, that value
is returned to the sender directly (no reply object); otherwise it behaves as `ask_callback`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import types
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, Generic, TypeVar, cast

from ._errors import ActorClosedError, ActorCrashedError, ActorError
from ._replies import CallbackReply, Reply, copy_outcome

__all__ = [
    "PENDING",
    "Actor",
    "ActorRef",
    "Ask",
    "CallbackReply",
    "ErrorReporter",
    "Message",
    "Reply",
    "copy_outcome",
]

R = TypeVar("R")
M = TypeVar("M")
# A reference that accepts a wider message union can stand in for a narrower one.
M_contra = TypeVar("M_contra", contravariant=True)

ErrorReporter = Callable[[BaseException], None]
"""Receives every error that has no caller. Called on the event-loop thread, never concurrently."""


_Envelope = tuple[Any, "Reply[Any] | None"]
_get_ident = threading.get_ident
_CoroutineType = types.CoroutineType
_INLINE_BURST = 64  # most messages one inline run handles before leaving the rest to the task


class _Pending:
    """The type of `PENDING`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PENDING"


PENDING: Any = _Pending()
"""What `ActorRef.ask_inline` returns when the reply will come through the callback."""


class _Tail:
    """A mailbox entry: the coroutine a plain ``def handle`` returned for ``message`` (inline)."""

    __slots__ = ("coroutine", "message")

    def __init__(self, coroutine: Coroutine[Any, Any, object], message: object) -> None:
        self.coroutine = coroutine
        self.message = message

    def __repr__(self) -> str:
        return repr(self.message)


class Message:
    """Base of the runtime's own message classes: slotted, and immutable by contract.

    A subclass lists its fields in ``__slots__`` and sets each once in a keyword-only
    ``__init__``, annotated ``Final`` so that the type checker refuses any later assignment.
    Messages are events, not values: they compare by identity. ``repr`` shows the fields.

    Plain classes rather than attrs ones: the executor defines dozens at start-up, and attrs
    generates and compiles code for each (~0.35 ms a class), where a plain class costs ~10 us.
    Messages of other code may be any class (frozen attrs classes are fine).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        names = [name for cls in type(self).__mro__ for name in getattr(cls, "__slots__", ())]
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({fields})"


class Ask(Message, Generic[R]):
    """Base class of messages that expect a reply of type ``R``.

    Subclass it (a frozen attrs class, or a `Message` subclass); ``await ref.ask(message)`` is
    then typed ``R``. The handler's return value is the reply.
    """

    __slots__ = ()


class Actor(ABC, Generic[M]):
    """An actor: state private to its task, reached only through messages of type ``M``.

    Subclasses implement `handle` (a ``match`` over the message union ending in
    ``assert_never``) and may override `on_start`/`on_stop`. The runtime calls all three on the
    actor's own task, one at a time; nothing else may touch the actor's attributes.
    """

    _ref: ActorRef[M] | None = None

    inline_delivery: ClassVar[bool] = False
    """True lets a plain-``def`` `handle` take mail on the sender's stack when idle (see the
    module doc). The executor's hot-path actors set it; the default keeps every message going
    through the actor's task."""

    @property
    def ref(self) -> ActorRef[M]:
        """This actor's reference. Valid from `spawn` on; raises RuntimeError before it."""
        if self._ref is None:
            raise RuntimeError(f"{type(self).__name__} has not been spawned")
        return self._ref

    async def on_start(self) -> None:
        """Run once on the actor's task before the first message. An exception kills the actor."""

    def on_idle(self) -> None:
        """Called on the actor's task each time its mailbox runs empty (before it waits).

        For work best done once per burst of messages, such as flushing batched writes. Must
        not block; an exception is reported and the actor goes on.
        """

    async def on_stop(self) -> None:
        """Run once on the actor's task after the mailbox closed (also after a crash)."""

    @abstractmethod
    def handle(self, message: M) -> object:
        """Handle one message; the return value is the reply to an ``ask``.

        Called by the runtime only, once per message, in arrival order, never concurrently.
        An exception goes to the asker, or to the Session's error reporter after a ``tell``.
        Usually ``async def``. An actor whose work is mostly synchronous may define a plain
        ``def handle`` (no coroutine per message), which may return a coroutine for the part
        that must wait: the runtime awaits it before the next message and replies with its
        result. Such an actor gets messages handled inline when it is idle (see the module
        doc): ``handle`` then runs on the sender's stack, on the loop thread.
        """


class ActorRef(Generic[M_contra]):
    """The handle peers use to reach an actor: `tell`, `ask`, `close`.

    Created only by `Spawner.spawn`. Cheap to copy around; holds no reference to the actor's
    state that peers could touch. After the actor closes, `tell` and `ask` raise
    `ActorClosedError`.
    """

    __slots__ = (
        "_actor",
        "_closed",
        "_done",
        "_has_on_idle",
        "_idle_scheduled",
        "_inline",
        "_loop",
        "_name",
        "_queue",
        "_report",
        "_sync",
        "_thread_id",
        "_waiter",
    )

    def __init__(self, _actor: Actor[M_contra], _name: str, _report: ErrorReporter) -> None:
        self._actor = _actor
        self._name = _name
        self._report = _report
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self._queue: deque[_Envelope] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._done: asyncio.Future[None] = self._loop.create_future()
        # Inline delivery (module doc): opted in, and only for a plain ``def handle``.
        self._sync = type(_actor).inline_delivery and not inspect.iscoroutinefunction(_actor.handle)
        self._inline = False  # handle() is running inline right now
        self._has_on_idle = type(_actor).on_idle is not Actor.on_idle
        self._idle_scheduled = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"queued={len(self._queue)}"
        return f"<ActorRef {self._name} {state}>"

    @property
    def name(self) -> str:
        """The actor's name, for logs and error messages."""
        return self._name

    @property
    def closed(self) -> bool:
        """True once the actor stopped taking messages."""
        return self._closed

    def tell(self, message: M_contra) -> None:
        """Queue ``message`` without waiting for it to be handled (fire and forget).

        May be called from any thread, any number of times. Errors from the handler go to the
        Session's error reporter.

        Raises:
            ActorClosedError: the actor is closed (the message was not queued).
        """
        if self._closed:
            raise ActorClosedError(f"{self._name} is closed; message {message!r} not delivered")
        if _get_ident() == self._thread_id:
            # The common cases, inlined: tell is the hottest call in the runtime.
            if self._waiter is not None and self._sync:
                if not self._inline:
                    if not self._queue:
                        self._handle_inline(message, None)
                        return
                    self._queue.append((message, None))
                    self._wake()
                else:
                    self._queue.append((message, None))  # the inline run takes it next
            else:
                self._queue.append((message, None))
                if self._waiter is not None:
                    self._wake()
        else:
            self._deliver_threadsafe(message, None)

    async def ask(self, message: Ask[R], *, timeout: float | None = None) -> R:
        """Queue ``message`` and wait for the handler's reply.

        Call from a coroutine on the actor's event loop. With ``timeout``, raises TimeoutError
        when no reply came in time, even if the actor is stuck; the handler still runs when its
        turn comes, and its late reply is dropped.

        Raises:
            ActorClosedError: the actor is closed, or closed before taking the message.
            TimeoutError: ``timeout`` elapsed first.
            Exception: whatever the handler raised.
        """
        if self._closed:
            raise ActorClosedError(f"{self._name} is closed; message {message!r} not delivered")
        reply: asyncio.Future[R] = self._loop.create_future()
        self._deliver(message, reply)
        if timeout is None:
            return await reply
        async with asyncio.timeout(timeout):
            return await reply

    def ask_callback(
        self, message: Ask[R], callback: Callable[[R | None, BaseException | None], None]
    ) -> None:
        """Queue ``message``; its reply goes to ``callback(result, error)`` (see `CallbackReply`).

        Any thread. If the actor is closed, or closes before taking the message, the callback
        gets `ActorClosedError`.
        """
        reply: CallbackReply[R] = CallbackReply(callback)
        if self._closed:
            reply.set_exception(
                ActorClosedError(f"{self._name} is closed; message {message!r} not delivered")
            )
            return
        if threading.get_ident() == self._thread_id:
            self._deliver(message, reply)
        else:
            self._deliver_threadsafe(message, reply)

    def ask_inline(
        self, message: Ask[R], callback: Callable[[R | None, BaseException | None], None]
    ) -> R:
        """Like `ask_callback`, but when the actor can take ``message`` inline now (module doc:
        opted in, plain ``def handle``, idle, mailbox empty, loop thread) and ``handle`` returns
        a plain value, return that value instead of calling ``callback``; an exception of
        ``handle`` is then raised here. Otherwise return `PENDING` (compare with ``is``): the
        reply goes to ``callback(result, error)`` as with `ask_callback`, including a
        coroutine's (tail's) reply.

        For hot request/reply paths: no reply object, no callback, no extra frames when the
        actor is idle. Mail the handler sent to this actor meanwhile is handled after it, as in
        any inline run.
        """
        if (
            self._waiter is None
            or not self._sync
            or self._inline
            or self._queue
            or self._closed
            or _get_ident() != self._thread_id
        ):
            self.ask_callback(message, callback)
            return cast("R", PENDING)
        self._inline = True
        try:
            result = self._actor.handle(message)  # type: ignore[arg-type]  # M erased
        except BaseException:
            self._end_inline_call()
            raise
        if type(result) is _CoroutineType:
            # The asynchronous tail: the task awaits it before anything queued meanwhile.
            self._queue.appendleft((_Tail(result, message), CallbackReply(callback)))
            result = PENDING
        self._end_inline_call()
        return cast("R", result)

    def _end_inline_call(self) -> None:
        """After `ask_inline`'s handler: what `_handle_inline` does after its first message."""
        self._inline = False
        queue = self._queue
        if queue:
            if type(queue[0][0]) is _Tail or self._closed:
                self._wake()
            else:
                message, reply = queue.popleft()
                self._handle_inline(message, reply)
        elif self._has_on_idle and not self._idle_scheduled:
            self._idle_scheduled = True
            self._loop.call_soon(self._idle_after_inline)

    def ask_threadsafe(self, message: Ask[R]) -> concurrent.futures.Future[R]:
        """Like `ask`, from a thread that is not the loop's: returns a concurrent future.

        No task is created: the envelope is posted to the loop and its reply is copied into
        the returned future.

        Raises:
            ActorClosedError: the actor is closed (also set on the future if it closes later).
            RuntimeError: called on the loop thread (use `ask`; blocking there would deadlock).
        """
        if threading.get_ident() == self._thread_id:
            raise RuntimeError("ask_threadsafe called on the event-loop thread; use ask()")
        if self._closed:
            raise ActorClosedError(f"{self._name} is closed; message {message!r} not delivered")
        result: concurrent.futures.Future[R] = concurrent.futures.Future()

        def post() -> None:
            reply: asyncio.Future[R] = self._loop.create_future()
            reply.add_done_callback(lambda done: copy_outcome(done, result))
            self._deliver(message, reply)

        try:
            self._loop.call_soon_threadsafe(post)
        except RuntimeError as exc:
            raise ActorClosedError(f"{self._name}'s event loop is closed") from exc
        return result

    def close(self) -> None:
        """Stop taking messages; fail every queued ask with `ActorClosedError`.

        Idempotent; callable from any thread. The message being handled, if any, finishes;
        then the actor's ``on_stop`` runs and its task ends. Queued tells are reported to the
        error reporter as undelivered.
        """
        if threading.get_ident() != self._thread_id:
            self._loop.call_soon_threadsafe(self.close)
            return
        if self._closed:
            return
        self._closed = True
        self._fail_queued(ActorClosedError(f"{self._name} closed before taking the message"))
        self._wake()

    async def wait_closed(self) -> None:
        """Wait until the actor's task has ended (after `close` or a crash). Loop thread only."""
        await asyncio.shield(self._done)

    # -- internals -------------------------------------------------------------------------

    def _deliver(self, message: object, reply: Reply[Any] | None) -> None:
        if self._closed:
            error = ActorClosedError(f"{self._name} closed before taking {message!r}")
            if reply is None:
                self._report(error)
            elif not reply.done():
                self._settle_error(reply, error)
            return
        if self._waiter is not None and self._sync:
            if not self._inline:
                if not self._queue:
                    self._handle_inline(message, reply)
                    return
            else:
                self._queue.append((message, reply))  # the inline run takes it next
                return
        self._queue.append((message, reply))
        self._wake()

    def _handle_inline(self, message: object, reply: Reply[Any] | None) -> None:
        """Handle ``message`` now, on the caller's stack (the actor is idle; module doc).

        Mail sent to the actor while it handles inline (by itself, or by actors it called) is
        queued without waking the task and handled right after, here, in order: what the task
        would do next. A tail, or more than `_INLINE_BURST` such messages, hands the rest to
        the task, so that a self-feeding actor cannot hold the loop.
        """
        self._inline = True
        queue = self._queue
        handled = 0
        try:
            while True:
                try:
                    result = self._actor.handle(message)  # type: ignore[arg-type]  # M erased
                except asyncio.CancelledError:
                    self._fail_one(message, reply, RuntimeError(f"{message!r} was cancelled"))
                except Exception as exc:
                    self._fail_one(message, reply, exc)
                else:
                    if type(result) is _CoroutineType:
                        # The asynchronous tail: the task awaits it before anything queued.
                        queue.appendleft((_Tail(result, message), reply))
                        return
                    if reply is not None and not reply.done():
                        try:
                            reply.set_result(result)
                        except Exception as exc:  # a CallbackReply's callback failed
                            self._report(exc)
                handled += 1
                if not queue or self._closed or handled == _INLINE_BURST:
                    break
                message, reply = queue.popleft()
        finally:
            self._inline = False
            if queue:
                self._wake()  # a tail, or the rest of a long burst: the task takes it
        if queue:
            return
        if self._has_on_idle and not self._idle_scheduled:
            self._idle_scheduled = True
            self._loop.call_soon(self._idle_after_inline)

    def _idle_after_inline(self) -> None:
        self._idle_scheduled = False
        # Only if the actor is still idle; otherwise its task calls on_idle when it runs dry.
        if self._waiter is not None and not self._queue and not self._inline:
            try:
                self._actor.on_idle()
            except Exception as exc:
                self._report(exc)

    def _deliver_threadsafe(self, message: object, reply: Reply[Any] | None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._deliver, message, reply)
        except RuntimeError as exc:  # the loop is closed: the actor cannot exist any more
            raise ActorClosedError(f"{self._name}'s event loop is closed") from exc

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None  # one wake per idle period; later tells find the actor busy
            if not waiter.done():  # it is cancelled when the actor's task is being cancelled
                waiter.set_result(None)

    def _fail_queued(self, error: ActorError) -> None:
        queue = self._queue
        while queue:
            message, reply = queue.popleft()
            if type(message) is _Tail:
                message.coroutine.close()  # never started: nothing to clean up but the object
            if reply is None:
                self._report(ActorClosedError(f"{self._name} closed; dropped {message!r}"))
            elif not reply.done():
                self._settle_error(reply, error)

    def _settle_error(self, reply: Reply[Any], error: BaseException) -> None:
        try:
            reply.set_exception(error)
        except Exception as callback_error:  # a CallbackReply's callback failed
            self._report(callback_error)

    async def _run(self) -> None:
        actor = self._actor
        queue = self._queue
        loop = self._loop
        handle = actor.handle
        is_async = inspect.iscoroutinefunction(handle)
        crash: BaseException | None = None
        message: Any = None
        reply: Reply[Any] | None = None
        result: object = None
        try:
            await actor.on_start()
            while True:
                if not queue:
                    # An idle actor keeps nothing of its last mail alive: a peer that dropped
                    # its last reference to a message, reply or result expects it collected
                    # (the ORC core fails a dropped MaterializationResponsibility's symbols).
                    message = reply = result = None
                    if self._closed:
                        break
                    try:
                        actor.on_idle()
                    except Exception as exc:
                        self._report(exc)
                    if queue:
                        continue
                    waiter = loop.create_future()
                    self._waiter = waiter
                    try:
                        await waiter
                    finally:
                        self._waiter = None
                    continue
                message, reply = queue.popleft()
                try:
                    if type(message) is _Tail:
                        result = await message.coroutine
                    else:
                        result = handle(message)
                        if is_async or type(result) is _CoroutineType:
                            result = await cast("Awaitable[object]", result)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # our own task is being cancelled: stop now
                    # The handler awaited something that was cancelled: an error like any other.
                    self._fail_one(message, reply, RuntimeError(f"{message!r} was cancelled"))
                except Exception as exc:
                    self._fail_one(message, reply, exc)
                else:
                    if reply is not None and not reply.done():
                        try:
                            reply.set_result(result)
                        except Exception as exc:  # a CallbackReply's callback failed
                            self._report(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            crash = exc
            crashed = ActorCrashedError(f"{self._name} crashed: {exc!r}")
            crashed.__cause__ = exc
            self._report(crashed)
        finally:
            self._closed = True
            if crash is not None:
                error: ActorClosedError | ActorCrashedError = ActorCrashedError(
                    f"{self._name} crashed before taking the message"
                )
                error.__cause__ = crash
            else:
                error = ActorClosedError(f"{self._name} closed before taking the message")
            self._fail_queued(error)
            try:
                await actor.on_stop()
            except Exception as exc:
                self._report(exc)
            finally:
                if not self._done.done():
                    self._done.set_result(None)

    def _fail_one(self, message: object, reply: Reply[Any] | None, exc: BaseException) -> None:
        if reply is not None and not reply.done():
            self._settle_error(reply, exc)
        else:
            # Nobody waits for this reply (a tell, or an asker that gave up): report it.
            self._report(exc)
