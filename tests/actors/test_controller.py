"""Controller access and wrapper calls, driven through the simulated controller."""

from __future__ import annotations

import asyncio
import collections
import threading

import pytest

from actors import (
    Disconnect,
    DisconnectedError,
    NoControllerError,
    OutOfBandError,
    RemoteCallError,
    ReturnFn,
    Session,
    SessionShutdownError,
    open_session,
)
from actors.testing import SimulatedController
from tests.fakes import ErrorSink, EventLog, RecordingResourceManager, wait_until

TAG = 0x7000_0000_1000


@pytest.mark.asyncio
async def test_controller_calls_executor_wrapper_by_address() -> None:
    """Controller -> executor calls name a wrapper address; sync and async wrappers answer."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)

        async def doubled(data: bytes) -> bytes:
            await asyncio.sleep(0)
            return data * 2

        reverse = await session.register_wrapper(lambda data: data[::-1])
        double = await session.register_wrapper(doubled)
        assert reverse != double
        assert await controller.call(reverse, b"abc", timeout=5) == b"cba"
        assert await controller.call(double, b"ab", timeout=5) == b"abab"


@pytest.mark.asyncio
async def test_wrapper_exception_becomes_out_of_band_error_with_message() -> None:
    """A wrapper's exception reaches the caller as an out-of-band error keeping its message."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)

        def broken(data: bytes) -> bytes:
            raise KeyError("no such symbol")

        def wrong_type(data: bytes) -> bytes:
            return "text"  # type: ignore[return-value]  # deliberately not bytes

        address = await session.register_wrapper(broken)
        with pytest.raises(RemoteCallError, match="KeyError: 'no such symbol'"):
            await controller.call(address, b"", timeout=5)
        address = await session.register_wrapper(wrong_type)
        with pytest.raises(RemoteCallError, match="returned str, not bytes"):
            await controller.call(address, b"", timeout=5)
        with pytest.raises(RemoteCallError, match="no wrapper function at executor address 0x1234"):
            await controller.call(0x1234, b"", timeout=5)


@pytest.mark.asyncio
async def test_wrapper_registry_rejects_taken_or_invalid_addresses() -> None:
    """Explicit addresses must be free non-zero u64 values."""
    async with open_session() as session:
        await session.register_wrapper(lambda data: data, address=0x5000)
        with pytest.raises(ValueError, match="already holds"):
            await session.register_wrapper(lambda data: data, address=0x5000)
        with pytest.raises(ValueError, match="non-zero u64"):
            await session.register_wrapper(lambda data: data, address=0)
        with pytest.raises(ValueError, match="non-zero u64"):
            await session.register_wrapper(lambda data: data, address=1 << 64)


@pytest.mark.asyncio
async def test_raw_wrapper_may_return_later_from_another_thread() -> None:
    """A seed-ABI wrapper can stash return_fn and answer later from a thread."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)
        returned_on: list[int] = []

        def later(session: Session, call_id: int, return_fn: ReturnFn, args: bytes) -> None:
            def worker() -> None:
                returned_on.append(threading.get_ident())
                return_fn(session, call_id, b"late:" + args)

            threading.Thread(target=worker).start()

        address = await session.register_raw_wrapper(later)
        assert await controller.call(address, b"x", timeout=5) == b"late:x"
        assert returned_on
        assert returned_on[0] != threading.get_ident()


@pytest.mark.asyncio
async def test_wrapper_returning_twice_or_unknown_call_id_is_reported_not_fatal() -> None:
    """A second return, or a return for a CallId never issued, is reported; the Session lives on."""
    sink = ErrorSink()
    async with open_session(error_reporter=sink) as session:
        controller = await SimulatedController.attach(session)

        def twice(session: Session, call_id: int, return_fn: ReturnFn, args: bytes) -> None:
            return_fn(session, call_id, b"first")
            return_fn(session, call_id, b"second")
            return_fn(session, call_id + 1000, b"stranger")

        address = await session.register_raw_wrapper(twice)
        assert await controller.call(address, b"", timeout=5) == b"first"
        await sink.wait_for(2)
        assert all("unknown CallId" in text for text in sink.messages())
        echo = await session.register_wrapper(lambda data: data)
        assert await controller.call(echo, b"still alive", timeout=5) == b"still alive"


@pytest.mark.asyncio
async def test_executor_calls_only_registered_tags() -> None:
    """Executor -> controller calls succeed for registered tags; others name the tag."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)
        await controller.register_handler(TAG, lambda data: data.upper())
        assert await session.call_controller(TAG, b"abc", timeout=5) == b"ABC"
        with pytest.raises(RemoteCallError, match="no handler registered for tag 0x700000001001"):
            await session.call_controller(TAG + 1, b"abc", timeout=5)


@pytest.mark.asyncio
async def test_call_controller_without_controller_fails_clearly() -> None:
    """Before attach and after detach, executor -> controller calls fail immediately."""
    async with open_session() as session:
        with pytest.raises(NoControllerError, match="no controller attached"):
            await session.call_controller(TAG, b"", timeout=5)
        controller = await SimulatedController.attach(session)
        await controller.register_handler(TAG, lambda data: data)
        await session.detach()
        with pytest.raises(NoControllerError, match="no controller attached"):
            await session.call_controller(TAG, b"", timeout=5)


@pytest.mark.asyncio
async def test_call_controller_blocking_from_native_thread() -> None:
    """Code on a worker thread can call the controller and block only its own thread."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)
        await controller.register_handler(TAG, lambda data: data + b"!")

        def jitted(data: bytes) -> bytes:
            return session.call_controller_blocking(TAG, data, timeout=5)

        address = await session.register_wrapper(jitted, blocking=True)
        results = await asyncio.gather(*(controller.call(address, b"%d" % i) for i in range(16)))
        assert results == [b"%d!" % i for i in range(16)]
        with pytest.raises(RuntimeError, match="deadlock"):
            session.call_controller_blocking(TAG, b"")


@pytest.mark.asyncio
async def test_detach_fails_pending_calls_and_detaches_managers() -> None:
    """Detach: pending executor -> controller calls fail "disconnected", managers get detach,
    and no further calls go either way."""
    log = EventLog()
    async with open_session() as session:
        await session.add_resource_manager(RecordingResourceManager("m", log))
        controller = await SimulatedController.attach(session)
        gate = await controller.delay_handler(TAG)
        await controller.register_handler(TAG, lambda data: data)
        pending = [asyncio.ensure_future(session.call_controller(TAG, b"x")) for _ in range(5)]
        await wait_until(lambda: _executor_calls_reach(controller, 5))
        await session.detach()
        for call in pending:
            with pytest.raises(DisconnectedError, match=r"^disconnected$"):
                await call
        assert log.events == [("detach", "m")]
        gate.set()  # a late answer from the controller is harmless
        echo = await session.register_wrapper(lambda data: data)
        with pytest.raises(DisconnectedError):
            await controller.call(echo, b"x", timeout=5)
        with pytest.raises(NoControllerError):
            await session.call_controller(TAG, b"x", timeout=5)


@pytest.mark.asyncio
async def test_concurrent_disconnect_from_tasks_and_threads_notifies_once() -> None:
    """50 tasks and 8 threads disconnect at once: all return, one notification, link closed."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)
        notifications: list[BaseException | None] = []
        session.add_on_detach(notifications.append)
        access = controller.access
        closed_when_returned: list[bool] = []

        async def from_task() -> None:
            await access.ask(Disconnect(), timeout=5)
            stats = await controller.statistics()
            closed_when_returned.append(not stats.connected)

        def from_thread() -> None:
            access.ask_threadsafe(Disconnect()).result(timeout=5)

        await asyncio.gather(
            *(from_task() for _ in range(50)),
            *(asyncio.to_thread(from_thread) for _ in range(8)),
        )
        assert closed_when_returned == [True] * 50
        await wait_until(lambda: len(notifications) == 1)
        await session.detach()
        assert notifications == [None]


@pytest.mark.asyncio
async def test_controller_going_away_is_reported_and_detaches() -> None:
    """An abnormal disconnect by the controller reaches the reporter once and detaches."""
    log, sink = EventLog(), ErrorSink()
    async with open_session(error_reporter=sink) as session:
        await session.add_resource_manager(RecordingResourceManager("m", log))
        controller = await SimulatedController.attach(session)
        await controller.disconnect(ConnectionResetError("peer vanished"))
        await wait_until(lambda: log.events == [("detach", "m")])
        assert sink.messages() == ["peer vanished"]


@pytest.mark.asyncio
async def test_shutdown_detaches_attached_controller_first() -> None:
    """Shutdown with a controller attached disconnects it before the managers shut down;
    attaching afterwards is refused."""
    log = EventLog()
    async with open_session() as session:
        await session.add_resource_manager(RecordingResourceManager("m", log))
        controller = await SimulatedController.attach(session)
        session.add_on_detach(lambda reason: log.add("link detached"))
        await session.shutdown()
        assert log.events == [("detach", "m"), ("link detached",), ("shutdown", "m")]
        assert not (await controller.statistics()).connected
        with pytest.raises(SessionShutdownError, match="shutdown has begun"):
            await SimulatedController.attach(session)


@pytest.mark.asyncio
async def test_simulated_faults_error_results_and_slow_replies() -> None:
    """The simulated controller can answer with errors and hold replies until released."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)
        await controller.register_handler(TAG, lambda data: b"ok")
        await controller.fail_handler(TAG, "injected failure")
        with pytest.raises(RemoteCallError, match="injected failure"):
            await session.call_controller(TAG, b"", timeout=5)
        gate = await controller.delay_handler(TAG)
        slow = asyncio.ensure_future(session.call_controller(TAG, b""))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(slow), 0.05)
        gate.set()
        assert await asyncio.wait_for(slow, 5) == b"ok"
        await controller.clear_faults(tag=TAG)
        assert await session.call_controller(TAG, b"", timeout=5) == b"ok"


@pytest.mark.asyncio
async def test_simulated_disconnect_mid_call_both_directions() -> None:
    """A link dropped mid-call fails the call on both sides with "disconnected"."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)
        await controller.disconnect_during_handler(TAG)
        with pytest.raises(DisconnectedError):
            await session.call_controller(TAG, b"", timeout=5)

    async with open_session() as session:
        controller = await SimulatedController.attach(session)
        started = asyncio.Event()

        async def slow(data: bytes) -> bytes:
            started.set()
            return data

        address = await session.register_wrapper(slow)
        await controller.disconnect_during_call(address)
        with pytest.raises(DisconnectedError):
            await controller.call(address, b"x", timeout=5)


@pytest.mark.asyncio
async def test_ten_thousand_concurrent_wrapper_calls_answered_exactly_once() -> None:
    """10,000 concurrent calls through the simulated controller each get their own answer once."""
    async with open_session() as session:
        controller = await SimulatedController.attach(session)
        seen: collections.Counter[bytes] = collections.Counter()

        def echo(data: bytes) -> bytes:
            seen[data] += 1
            return data

        address = await session.register_wrapper(echo)
        payloads = [i.to_bytes(4, "little") for i in range(10_000)]
        results = await asyncio.wait_for(
            asyncio.gather(*(controller.call(address, p) for p in payloads)), 30
        )
        assert results == payloads
        assert set(seen.values()) == {1}
        assert len(seen) == 10_000
        stats = await controller.statistics()
        assert stats.calls_sent == stats.results_received == 10_000
        assert stats.pending_calls == 0
        assert (await session.statistics()).pending_wrapper_calls == 0


@pytest.mark.asyncio
async def test_out_of_band_error_value_is_plain_data() -> None:
    """OutOfBandError compares by message (it travels between actors as a value)."""
    assert OutOfBandError("x") == OutOfBandError("x") != OutOfBandError("y")


async def _executor_calls_reach(controller: SimulatedController, count: int) -> bool:
    return (await controller.statistics()).executor_calls >= count
