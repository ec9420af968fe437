"""Session lifecycle: execution scope, resource managers, shutdown order, dispatchers."""

from __future__ import annotations

import asyncio
import copy
import threading
from typing import Any

import pytest

from actors import (
    ActorClosedError,
    ActorRef,
    ExecutionScopeGuard,
    ManualDispatcher,
    PendingCount,
    RemoteCallError,
    RunUntilEmpty,
    ScopeState,
    SessionShutdownError,
    ShutdownDispatcher,
    open_session,
)
from actors.testing import SimulatedController
from tests.fakes import ErrorSink, EventLog, RecordingResourceManager, wait_until


@pytest.mark.asyncio
async def test_scope_guard_context_managers_copy_move_release() -> None:
    """Guards retain while held; copy retains again, move transfers, release is early and once."""
    async with open_session() as session:
        scope = session.execution_scope
        with ExecutionScopeGuard(session) as guard:
            assert scope.count == 1
            assert guard
            duplicate = copy.copy(guard)
            assert scope.count == 2
            assert duplicate.session is session
            moved = duplicate.move()
            assert not duplicate
            assert moved
            assert scope.count == 2
            moved.release()
            moved.release()  # idempotent
            assert scope.count == 1
            assert not moved
        assert scope.count == 0
        assert not guard
        async with ExecutionScopeGuard(session):
            assert scope.count == 1
        assert scope.count == 0
        assert not ExecutionScopeGuard()
        assert ExecutionScopeGuard().copy().session is None


@pytest.mark.asyncio
async def test_scope_guard_from_worker_threads() -> None:
    """Guards may be taken and dropped on any thread; the count stays exact."""
    async with open_session() as session:

        def churn() -> None:
            for _ in range(500):
                with ExecutionScopeGuard(session) as guard:
                    guard.copy().release()

        await asyncio.gather(*(asyncio.to_thread(churn) for _ in range(4)))
        assert session.execution_scope.count == 0


@pytest.mark.asyncio
async def test_scope_retain_after_shutdown_raises() -> None:
    """Retaining after shutdown completed raises a clear error."""
    async with open_session() as session:
        pass
    assert session.execution_scope.state is ScopeState.CLOSED
    with pytest.raises(SessionShutdownError, match="shut down"):
        ExecutionScopeGuard(session)


@pytest.mark.asyncio
async def test_scope_guard_held_by_running_task_delays_shutdown() -> None:
    """Shutdown waits for a guard held by running work; resource managers wait with it."""
    log = EventLog()
    async with open_session() as session:
        await session.add_resource_manager(RecordingResourceManager("memory", log))
        guard = ExecutionScopeGuard(session)
        finish = asyncio.Event()

        async def jitted_work() -> None:
            with guard:
                await finish.wait()
                log.add("work done")

        work = session.create_task(jitted_work())
        shutdown = asyncio.ensure_future(session.shutdown())
        await wait_until(lambda: session.execution_scope.state is not ScopeState.OPEN)
        assert log.named("shutdown") == []
        assert not shutdown.done()
        # While draining, running work may still copy its guard; new work may not start.
        guard.copy().release()
        finish.set()
        await asyncio.wait_for(shutdown, 5)
        await work
        assert log.events == [("detach", "memory"), ("work done",), ("shutdown", "memory")]


@pytest.mark.asyncio
async def test_shutdown_order_detach_scope_managers_reverse_dispatcher_callbacks() -> None:
    """detach -> scope reaches zero -> managers shut down in reverse -> dispatcher -> callbacks."""
    log = EventLog()
    manual = ManualDispatcher()
    async with open_session(in_loop_dispatcher=manual) as session:
        for name in ("a", "b", "c"):
            await session.add_resource_manager(RecordingResourceManager(name, log))
        controller = await SimulatedController.attach(session)
        session.add_on_detach(lambda reason: log.add("on_detach", repr(reason)))
        session.add_on_shutdown(lambda: log.add("on_shutdown"))
        address = await session.register_wrapper(lambda data: data)
        call = asyncio.ensure_future(controller.call(address, b"x"))
        await wait_until(lambda: _has_pending(session._in_loop))
        # The queued task holds the execution scope: shutdown detaches, then waits for it.
        shutdown = asyncio.ensure_future(session.shutdown())
        await wait_until(lambda: log.named("on_detach"))
        with pytest.raises(Exception, match="disconnected"):
            await call  # the controller's pending call fails when the link goes
        assert log.named("shutdown") == []
        log.add("scope released")
        assert await session._in_loop.ask(RunUntilEmpty()) == 1
        await asyncio.wait_for(shutdown, 5)
    assert log.events == [
        ("detach", "c"),
        ("detach", "b"),
        ("detach", "a"),
        ("on_detach", "None"),
        ("scope released",),
        ("shutdown", "c"),
        ("shutdown", "b"),
        ("shutdown", "a"),
        ("on_shutdown",),
    ]
    # The dispatcher stopped after the managers, before the callbacks returned.
    assert session._in_loop.closed


@pytest.mark.asyncio
async def test_resource_manager_errors_are_reported_and_others_still_run() -> None:
    """A manager that fails detach or shutdown is reported; the others run anyway."""
    log, sink = EventLog(), ErrorSink()
    async with open_session(error_reporter=sink) as session:
        await session.add_resource_manager(RecordingResourceManager("a", log))
        await session.add_resource_manager(
            RecordingResourceManager("b", log, fail_detach=True, fail_shutdown=True)
        )
        await session.add_resource_manager(RecordingResourceManager("c", log))
    assert log.events == [
        ("detach", "c"),
        ("detach", "b"),
        ("detach", "a"),
        ("shutdown", "c"),
        ("shutdown", "b"),
        ("shutdown", "a"),
    ]
    assert sink.messages() == ["b failed to detach", "b failed to shut down"]


@pytest.mark.asyncio
async def test_resource_manager_added_after_shutdown_began_is_refused() -> None:
    """Registering a manager once shutdown began raises; the manager is closed, not leaked."""
    log = EventLog()
    gate = asyncio.Event()
    async with open_session() as session:
        await session.add_resource_manager(
            RecordingResourceManager("slow", log, shutdown_gate=gate)
        )
        shutdown = asyncio.ensure_future(session.shutdown())
        await wait_until(lambda: log.named("detach"))
        await asyncio.sleep(0)
        late = RecordingResourceManager("late", log)
        with pytest.raises(SessionShutdownError, match="after shutdown began"):
            await session.add_resource_manager(late)
        assert late.ref.closed
        gate.set()
        await asyncio.wait_for(shutdown, 5)
    assert ("shutdown", "late") not in log.events


@pytest.mark.asyncio
async def test_resource_manager_added_after_detach_gets_detach() -> None:
    """A manager registered after the Session detached still gets detach before shutdown."""
    log = EventLog()
    async with open_session() as session:
        await session.detach()
        await session.add_resource_manager(RecordingResourceManager("late", log))
    assert log.events == [("detach", "late"), ("shutdown", "late")]


@pytest.mark.asyncio
async def test_shutdown_is_idempotent_and_concurrent() -> None:
    """Many concurrent shutdown calls all return after one complete shutdown."""
    log = EventLog()
    async with open_session() as session:
        await session.add_resource_manager(RecordingResourceManager("m", log))
        await asyncio.gather(*(session.shutdown() for _ in range(20)))
        assert session.is_shut_down
        calls = []
        session.add_on_shutdown(lambda: calls.append("late"))
        await wait_until(lambda: calls)
    assert log.events == [("detach", "m"), ("shutdown", "m")]


@pytest.mark.asyncio
async def test_dispatch_after_shutdown_is_refused_with_error() -> None:
    """Wrapper calls after the dispatcher stopped get an error, never silence."""
    async with open_session() as session:
        address = await session.register_wrapper(lambda data: data)
        await session.shutdown()
        with pytest.raises((SessionShutdownError, RemoteCallError, ActorClosedError)):
            await session.call_wrapper(address, b"x", timeout=5)


@pytest.mark.asyncio
async def test_manual_dispatcher_refuses_queued_tasks_on_shutdown() -> None:
    """Tasks still queued when a manual dispatcher shuts down are refused with an error."""
    manual = ManualDispatcher()
    async with open_session(blocking_dispatcher=manual) as session:
        address = await session.register_wrapper(lambda data: data, blocking=True)
        call = asyncio.ensure_future(session.call_wrapper(address, b"x"))
        await wait_until(lambda: _has_pending(session._blocking))
        await session._blocking.ask(ShutdownDispatcher())
        with pytest.raises(RemoteCallError, match="refused"):
            await asyncio.wait_for(call, 5)


@pytest.mark.asyncio
async def test_thread_pool_dispatcher_runs_blocking_wrappers_off_loop() -> None:
    """Blocking wrappers run on worker threads; results come back to the loop."""
    async with open_session() as session:
        loop_thread = threading.get_ident()
        seen: list[int] = []

        def blocking(data: bytes) -> bytes:
            seen.append(threading.get_ident())
            return data * 2

        address = await session.register_wrapper(blocking, blocking=True)
        results = await asyncio.gather(*(session.call_wrapper(address, b"ab") for _ in range(20)))
        assert results == [b"abab"] * 20
        assert seen
        assert loop_thread not in seen


@pytest.mark.asyncio
async def test_sessions_are_independent() -> None:
    """Two Sessions in one process share nothing: tables, scopes and shutdown are separate."""
    async with open_session(name="one") as one, open_session(name="two") as two:
        a = await one.register_wrapper(lambda data: b"one")
        b = await two.register_wrapper(lambda data: b"two")
        assert a == b  # same token, different tables
        assert await one.call_wrapper(a, b"") == b"one"
        assert await two.call_wrapper(b, b"") == b"two"
        with ExecutionScopeGuard(one):
            assert two.execution_scope.count == 0
        await one.shutdown()
        assert await two.call_wrapper(b, b"") == b"two"
        assert not two.is_shut_down


async def _has_pending(dispatcher: ActorRef[Any]) -> bool:
    return await dispatcher.ask(PendingCount()) > 0
