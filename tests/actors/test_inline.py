"""Inline delivery: an idle, opted-in actor with a plain ``def handle`` takes mail on the
sender's stack.

The rules (actors/_actor.py, module doc): only on the loop thread, only while the actor waits
for mail with an empty mailbox and is not already handling a message inline; anything else is
queued as before, in order. A ``def handle`` may return a coroutine (its tail), which the actor's
task awaits before any other message; ``on_idle`` runs soon after an inline burst.
"""

from __future__ import annotations

import asyncio
import threading
from typing import assert_never

import attrs
import pytest

from actors import Actor, ActorRef, Ask, open_session
from actors._actor import PENDING
from tests.fakes import ErrorSink, wait_until


@attrs.frozen
class Note:
    value: int


@attrs.frozen
class Echo(Ask[int]):
    value: int


@attrs.frozen
class Slow(Ask[int]):
    """Handled with a tail that waits for ``gate`` and then replies ``value``."""

    value: int
    gate: asyncio.Event


@attrs.frozen
class Fail:
    text: str


@attrs.frozen
class Relay:
    """Tell ``target`` a Note(value) from inside the handler (a nested send)."""

    target: ActorRef[Note]
    value: int


Message = Note | Echo | Slow | Fail | Relay


class Recorder(Actor[Message]):
    """A plain-def actor that records what it handled and whether that was inline."""

    inline_delivery = True

    def __init__(self) -> None:
        self.log: list[object] = []
        self.idle_calls = 0
        self.thread_ids: list[int] = []

    def handle(self, message: Message) -> object:
        self.thread_ids.append(threading.get_ident())
        match message:
            case Note(value=value):
                self.log.append(value)
                return None
            case Echo(value=value):
                self.log.append(("echo", value))
                return value
            case Slow(value=value, gate=gate):
                self.log.append(("slow", value))
                return self._slow(value, gate)
            case Fail(text=text):
                raise ValueError(text)
            case Relay(target=target, value=value):
                target.tell(Note(value))
                self.log.append(("relayed", value))
                return None
            case _:
                assert_never(message)

    async def _slow(self, value: int, gate: asyncio.Event) -> int:
        await gate.wait()
        self.log.append(("slow done", value))
        return value

    def on_idle(self) -> None:
        self.idle_calls += 1


async def _started(ref: ActorRef[Message]) -> None:
    """Wait until the actor's task waits for mail (an ask round trip gets it there)."""
    await ref.ask(Echo(-1), timeout=5)
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_inline_tell_to_idle_actor_is_handled_before_tell_returns() -> None:
    """An idle plain-def actor handles a tell on the sender's stack; on_idle follows soon."""
    async with open_session() as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        recorder.log.clear()
        idle_before = recorder.idle_calls
        ref.tell(Note(1))
        assert recorder.log == [1]  # already handled
        ref.tell(Note(2))
        assert recorder.log == [1, 2]
        assert recorder.idle_calls == idle_before  # not yet: after the burst
        await asyncio.sleep(0)
        assert recorder.idle_calls == idle_before + 1  # once for the burst


@pytest.mark.asyncio
async def test_inline_ask_replies_without_a_task_switch() -> None:
    """An ask to an idle plain-def actor is answered before the asker awaits."""
    async with open_session() as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        pending = asyncio.ensure_future(ref.ask(Echo(7), timeout=5))
        await asyncio.sleep(0)  # the ask ran (and was answered) in this one step
        assert pending.done()
        assert await pending == 7


@pytest.mark.asyncio
async def test_inline_tail_runs_before_later_messages() -> None:
    """A returned coroutine (the tail) is awaited by the task; mail sent meanwhile waits
    behind it in order, and the ask gets the tail's result."""
    async with open_session() as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        recorder.log.clear()
        gate = asyncio.Event()
        slow = asyncio.ensure_future(ref.ask(Slow(5, gate), timeout=5))
        await asyncio.sleep(0)
        ref.tell(Note(6))  # the actor is busy with the tail: queued
        ref.tell(Note(7))
        assert recorder.log == [("slow", 5)]
        gate.set()
        assert await slow == 5
        assert await ref.ask(Echo(8), timeout=5) == 8
        assert recorder.log == [("slow", 5), ("slow done", 5), 6, 7, ("echo", 8)]


@pytest.mark.asyncio
async def test_inline_send_to_self_is_handled_after_the_current_message() -> None:
    """A handler telling its own actor does not recurse: the message waits until the current
    one is done, then the same inline run takes it; sends to another idle actor go inline."""
    async with open_session() as session:
        first, second = Recorder(), Recorder()
        one = session.spawn(first)
        two = session.spawn(second)
        await _started(one)
        await _started(two)
        first.log.clear()
        second.log.clear()
        one.tell(Relay(target=two, value=1))  # nested: two is idle, handles inline
        assert first.log == [("relayed", 1)]
        assert second.log == [1]
        one.tell(Relay(target=one, value=2))  # to itself: after the Relay, not inside it
        assert first.log == [("relayed", 1), ("relayed", 2), 2]
        assert await one.ask(Echo(3), timeout=5) == 3
        assert first.log == [("relayed", 1), ("relayed", 2), 2, ("echo", 3)]


class Chain(Actor[int]):
    """Tells itself n - 1 until 0: an actor that keeps feeding itself."""

    inline_delivery = True

    def __init__(self) -> None:
        self.seen: list[int] = []

    def handle(self, message: int) -> object:
        self.seen.append(message)
        if message:
            self.ref.tell(message - 1)
        return None


@pytest.mark.asyncio
async def test_inline_self_feeding_actor_yields_to_the_loop() -> None:
    """An inline run handles a bounded burst; the task takes the rest, in order."""
    async with open_session() as session:
        chain = Chain()
        ref = session.spawn(chain)
        await asyncio.sleep(0)  # the task waits for mail
        await asyncio.sleep(0)
        ref.tell(199)
        assert 0 < len(chain.seen) < 200  # returned before the whole chain ran
        await wait_until(lambda: len(chain.seen) == 200)
        assert chain.seen == list(range(199, -1, -1))


@pytest.mark.asyncio
async def test_inline_errors_go_to_the_reporter_or_the_asker() -> None:
    """An inline tell that raises is reported; the actor keeps handling mail."""
    sink = ErrorSink()
    async with open_session(error_reporter=sink) as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        ref.tell(Fail("inline failure"))
        await sink.wait_for(1)
        assert sink.messages() == ["inline failure"]
        assert await ref.ask(Echo(4), timeout=5) == 4


@pytest.mark.asyncio
async def test_inline_tells_from_other_threads_still_hop_to_the_loop() -> None:
    """A tell from another thread is never handled on that thread."""
    async with open_session() as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        loop_thread = threading.get_ident()
        await asyncio.to_thread(ref.tell, Note(9))
        assert await ref.ask(Echo(10), timeout=5) == 10
        assert set(recorder.thread_ids) == {loop_thread}
        assert 9 in recorder.log


@pytest.mark.asyncio
async def test_inline_closing_drops_a_pending_tail_cleanly() -> None:
    """Closing while a tail waits behind a busy actor fails its asker, awaits nothing."""
    async with open_session() as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        gate = asyncio.Event()
        first = asyncio.ensure_future(ref.ask(Slow(1, gate), timeout=5))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(ref.ask(Echo(2), timeout=5))
        await asyncio.sleep(0)
        ref.close()
        gate.set()
        assert await first == 1  # the message being handled finishes
        with pytest.raises(Exception, match="closed"):
            await second


class Default(Actor[Message]):
    """A plain-def actor that did not opt in."""

    def __init__(self) -> None:
        self.log: list[object] = []

    def handle(self, message: Message) -> object:
        self.log.append(message)
        return None


@pytest.mark.asyncio
async def test_inline_delivery_is_opt_in() -> None:
    """Without inline_delivery, a plain-def actor still takes every message on its task."""
    async with open_session() as session:
        actor = Default()
        ref = session.spawn(actor)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        ref.tell(Note(1))
        assert actor.log == []  # queued for the task
        await wait_until(lambda: len(actor.log) == 1)


class _Callbacks:
    """Collects what `ActorRef.ask_inline`'s callback receives."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, BaseException | None]] = []

    def __call__(self, result: object, error: BaseException | None) -> None:
        self.calls.append((result, error))


@pytest.mark.asyncio
async def test_ask_inline_returns_an_idle_actors_reply_and_raises_its_error() -> None:
    """Idle: the reply is the return value (no callback); the handler's error is raised;
    on_idle follows soon, as after any inline run."""
    async with open_session() as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        callbacks = _Callbacks()
        idle_before = recorder.idle_calls
        assert ref.ask_inline(Echo(3), callbacks) == 3
        with pytest.raises(ValueError, match="boom"):
            ref.ask_inline(Fail("boom"), callbacks)  # type: ignore[arg-type]  # not an Ask
        assert callbacks.calls == []
        assert await ref.ask(Echo(4), timeout=5) == 4  # still working after the error
        await asyncio.sleep(0)
        assert recorder.idle_calls > idle_before


@pytest.mark.asyncio
async def test_ask_inline_falls_back_to_the_callback_when_busy_or_for_a_tail() -> None:
    """A busy actor queues the request (PENDING, reply through the callback, in order); a
    coroutine from handle is the tail, awaited by the task, its result to the callback."""
    async with open_session() as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        recorder.log.clear()
        gate = asyncio.Event()
        tail = _Callbacks()
        assert ref.ask_inline(Slow(1, gate), tail) is PENDING
        queued = _Callbacks()
        assert ref.ask_inline(Echo(2), queued) is PENDING  # busy with the tail
        assert tail.calls == []
        assert queued.calls == []
        gate.set()
        await wait_until(lambda: bool(queued.calls))
        assert tail.calls == [(1, None)]
        assert queued.calls == [(2, None)]
        assert recorder.log == [("slow", 1), ("slow done", 1), ("echo", 2)]


@pytest.mark.asyncio
async def test_ask_inline_handles_mail_sent_meanwhile_after_the_request() -> None:
    """Mail the handler sends to its own actor is handled right after the request."""
    async with open_session() as session:
        recorder = Recorder()
        ref = session.spawn(recorder)
        await _started(ref)
        recorder.log.clear()

        class _Both(Ask[int]):
            pass

        original = recorder.handle

        def handle(message: Message) -> object:
            if isinstance(message, _Both):
                ref.tell(Note(5))  # queued: the actor is handling this request
                recorder.log.append("both")
                return 9
            return original(message)

        recorder.handle = handle  # type: ignore[method-assign]
        assert ref.ask_inline(_Both(), _Callbacks()) == 9
        assert recorder.log == ["both", 5]
