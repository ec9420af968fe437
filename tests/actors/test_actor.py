"""The actor core: mailbox order, tell/ask, errors, timeouts, closing, threads."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import assert_never

import attrs
import pytest

from actors import Actor, ActorClosedError, Ask, open_session
from tests.fakes import ErrorSink


@attrs.frozen
class Add:
    value: int


@attrs.frozen
class Total(Ask[int]):
    pass


@attrs.frozen
class Boom(Ask[None]):
    text: str


@attrs.frozen
class BoomTell:
    text: str


@attrs.frozen
class Block(Ask[None]):
    gate: asyncio.Event


Message = Add | Total | Boom | BoomTell | Block


class Counter(Actor[Message]):
    def __init__(self) -> None:
        self.total = 0
        self.seen: list[int] = []

    async def handle(self, message: Message) -> object:
        match message:
            case Add(value=value):
                self.total += value
                self.seen.append(value)
                return None
            case Total():
                return self.total
            case Boom(text=text) | BoomTell(text=text):
                raise ValueError(text)
            case Block(gate=gate):
                await gate.wait()
                return None
            case _:
                assert_never(message)


@attrs.frozen(weakref_slot=True)
class Payload:
    """A message whose collection a test can observe."""

    value: int


class Keeper(Actor[Payload]):
    def __init__(self) -> None:
        self.handled = asyncio.Event()

    async def handle(self, message: Payload) -> object:
        self.handled.set()
        return Payload(value=message.value + 1)  # a result nobody keeps


@pytest.mark.asyncio
async def test_actor_idle_keeps_no_reference_to_its_last_message() -> None:
    """Once idle, an actor holds nothing of its last mail: a dropped message is collected."""
    async with open_session() as session:
        keeper = Keeper()
        ref = session.spawn(keeper)
        message = Payload(value=1)
        dropped = weakref.ref(message)
        ref.tell(message)
        del message
        async with asyncio.timeout(5):
            await keeper.handled.wait()
            await asyncio.sleep(0)  # let the actor go back to waiting for mail
        gc.collect()
        assert dropped() is None


@pytest.mark.asyncio
async def test_actor_handles_messages_in_order() -> None:
    """Tells are handled one by one in arrival order; an ask sees all earlier tells."""
    async with open_session() as session:
        counter = Counter()
        ref = session.spawn(counter)
        for value in range(100):
            ref.tell(Add(value))
        assert await ref.ask(Total(), timeout=5) == sum(range(100))
        assert counter.seen == list(range(100))


@pytest.mark.asyncio
async def test_actor_ask_raises_handler_error_and_keeps_going() -> None:
    """A failing ask raises in the asker; later messages are still handled."""
    async with open_session() as session:
        ref = session.spawn(Counter())
        with pytest.raises(ValueError, match="bad"):
            await ref.ask(Boom("bad"), timeout=5)
        ref.tell(Add(2))
        assert await ref.ask(Total(), timeout=5) == 2


@pytest.mark.asyncio
async def test_actor_tell_error_goes_to_reporter_and_later_messages_survive() -> None:
    """An error with no caller reaches the Session's reporter; the queue behind it is kept."""
    sink = ErrorSink()
    async with open_session(error_reporter=sink) as session:
        ref = session.spawn(Counter())
        ref.tell(BoomTell("nobody asked"))
        ref.tell(Add(5))
        assert await ref.ask(Total(), timeout=5) == 5
        await sink.wait_for(1)
        assert sink.messages() == ["nobody asked"]


@pytest.mark.asyncio
async def test_actor_ask_timeout_fires_while_actor_is_stuck() -> None:
    """The timeout of an ask fires even when the actor is blocked on something else."""
    async with open_session() as session:
        ref = session.spawn(Counter())
        gate = asyncio.Event()
        ref.tell(Block(gate))  # the actor is stuck until the gate opens
        with pytest.raises(TimeoutError):
            await ref.ask(Total(), timeout=0.05)
        gate.set()
        assert await ref.ask(Total(), timeout=5) == 0


@pytest.mark.asyncio
async def test_actor_close_fails_queued_asks() -> None:
    """Closing fails every ask still queued with ActorClosedError; later tells raise."""
    sink = ErrorSink()
    async with open_session(error_reporter=sink) as session:
        ref = session.spawn(Counter())
        gate = asyncio.Event()
        blocked = asyncio.ensure_future(ref.ask(Block(gate)))
        await asyncio.sleep(0)
        queued = [asyncio.ensure_future(ref.ask(Total())) for _ in range(3)]
        ref.tell(Add(1))  # a queued tell: reported as dropped, not lost silently
        await asyncio.sleep(0)
        ref.close()
        for future in queued:
            with pytest.raises(ActorClosedError):
                await future
        gate.set()
        await blocked  # the message being handled finishes
        await asyncio.wait_for(ref.wait_closed(), 5)
        with pytest.raises(ActorClosedError):
            ref.tell(Add(1))
        with pytest.raises(ActorClosedError):
            await ref.ask(Total())
        assert any("dropped" in text for text in sink.messages())


@pytest.mark.asyncio
async def test_actor_tell_and_ask_from_other_threads() -> None:
    """tell works from any thread; ask_threadsafe returns a future usable from a thread."""
    async with open_session() as session:
        ref = session.spawn(Counter())

        def worker() -> int:
            for _ in range(100):
                ref.tell(Add(1))
            return ref.ask_threadsafe(Total()).result(timeout=5)

        threads_done = await asyncio.gather(*(asyncio.to_thread(worker) for _ in range(4)))
        assert max(threads_done) <= 400
        assert await ref.ask(Total(), timeout=5) == 400
        with pytest.raises(RuntimeError, match="event-loop thread"):
            ref.ask_threadsafe(Total())


@pytest.mark.asyncio
async def test_actor_spawn_twice_is_refused() -> None:
    """An actor object gets one mailbox only."""
    async with open_session() as session:
        actor = Counter()
        session.spawn(actor)
        with pytest.raises(RuntimeError, match="spawned already"):
            session.spawn(actor)


@pytest.mark.asyncio
async def test_actor_tasks_end_with_the_session() -> None:
    """No actor task outlives its Session (they all live in its task group)."""
    before = set(asyncio.all_tasks())
    async with open_session() as session:
        ref = session.spawn(Counter())
        ref.tell(Add(1))
    await asyncio.sleep(0)
    assert ref.closed
    assert set(asyncio.all_tasks()) - before == set()


def test_actor_runtime_messages_are_slotted_identity_compared_and_show_their_fields() -> None:
    """The runtime's own messages (actors._actor.Message): no __dict__, identity equality, and
    a repr naming each field, as error messages quote them."""
    from actors._controller import WrapperDone
    from actors._memory_manager import Reserve

    done = WrapperDone(ref=3, result=b"ok")
    assert repr(done) == "WrapperDone(ref=3, result=b'ok')"
    assert repr(Reserve(size=16)) == "Reserve(size=16)"
    assert done != WrapperDone(ref=3, result=b"ok")
    assert not hasattr(done, "__dict__")
    with pytest.raises(AttributeError):
        done.extra = 1  # type: ignore[attr-defined]  # slotted: no new attributes
