"""Lifecycle and faults against real spawned processes: every failure is a clear error, and
afterwards no child process (nor zombie) and no descriptor is left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

import protocol
from actors import DisconnectedError
from actors.orc import (
    ExecutorProcessControl,
    Segment,
    SimpleRemoteEPC,
    open_inprocess_executor,
    spawn_executor,
)
from protocol import MemProt

from ._code import SPIN, requires_x86_64, return_int
from .conftest import children, fake_executor, llvm_executor, open_fds, orcrt_command

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

RX = MemProt.READ | MemProt.EXEC


@pytest_asyncio.fixture
async def clean() -> AsyncIterator[None]:
    """Checks that the test leaves no child process and no open descriptor behind."""
    async with spawn_executor(orcrt_command(14)):
        pass  # first use of subprocesses on this loop: whatever asyncio keeps open, opens now
    before = open_fds()
    yield
    assert children() == []
    assert open_fds() == before


@pytest.fixture(params=["llvm14", "orcrt"])
def victim(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """The command of a real executor: LLVM 14's (skipped where missing) and orcrt's."""
    if request.param == "llvm14":
        yield [str(llvm_executor(14))]
    else:
        yield orcrt_command(22)


async def _load(epc: ExecutorProcessControl, code: bytes) -> int:
    base = await epc.memory_manager.reserve(epc.page_size)
    await epc.memory_manager.finalize([Segment(RX, base, epc.page_size, code)])
    return base


async def _pending_forever(epc: ExecutorProcessControl) -> asyncio.Task[int]:
    """A run_as_main of code that never returns, started and pending."""
    spin = await _load(epc, SPIN)
    running = asyncio.create_task(epc.run_as_main(spin))
    await asyncio.sleep(0)  # the call is sent
    assert not running.done()
    return running


@requires_x86_64
async def test_epc_fault_executor_killed_fails_pending_calls(
    victim: list[str], clean: None
) -> None:
    """kill -9 of the executor while a call runs: the call fails naming the signal; later
    calls fail too; the child is reaped, nothing stays open."""
    epc = await spawn_executor(victim, llvm_major=22 if "actors" in victim else None)
    running = await _pending_forever(epc)
    assert epc.pid is not None
    os.kill(epc.pid, signal.SIGKILL)
    with pytest.raises(DisconnectedError, match=r"ended the session \(pid \d+: killed by signal 9"):
        await running
    with pytest.raises(DisconnectedError, match="killed by signal 9"):
        await epc.memory_manager.reserve(4096)
    assert await epc.wait_disconnected(5) is None  # EOF at a frame boundary
    await epc.disconnect()
    assert epc.process is not None
    assert epc.process.returncode == -signal.SIGKILL


@requires_x86_64
async def test_epc_fault_disconnect_ends_pending_calls(victim: list[str], clean: None) -> None:
    """disconnect while a call runs JIT'd code that never returns: the call fails at once
    with the cause; the executor, which cannot finish, is killed after the grace period."""
    epc = await spawn_executor(victim, llvm_major=22 if "actors" in victim else None)
    running = await _pending_forever(epc)
    await epc.disconnect(timeout=0.5)
    with pytest.raises(DisconnectedError, match="disconnected: the controller disconnected"):
        await running
    assert epc.pending_calls == 0


@requires_x86_64
async def test_epc_fault_timed_out_call_leaves_the_link_working(clean: None) -> None:
    """A call that times out is abandoned; the link and other calls carry on."""
    async with spawn_executor(orcrt_command(22), capture_output=True) as epc:
        spin = await _load(epc, SPIN)
        with pytest.raises(TimeoutError):
            await epc.call_sps(protocol.RUN_AS_MAIN, spin, [], timeout=0.2)
        assert await epc.run_as_main(await _load(epc, return_int(3))) == 3
        await epc.disconnect(timeout=0.5)  # the spinning thread never ends: killed


async def test_epc_fault_truncated_frame(clean: None) -> None:
    """The executor dies in the middle of a frame: the pending call fails with the decode
    error (the stream ended inside a frame)."""
    epc = await spawn_executor(fake_executor("truncated"))
    with pytest.raises(DisconnectedError, match="end of stream inside a frame"):
        await epc.call_wrapper(0x1000, b"")
    assert isinstance(await epc.wait_disconnected(5), protocol.DecodeError)
    await epc.disconnect()


async def test_epc_fault_result_for_an_unknown_call(clean: None) -> None:
    """A Result nobody asked for is fatal, as in LLVM: pending calls fail naming it; our side
    is closed, so the executor ends at once."""
    epc = await spawn_executor(fake_executor("stray"), capture_output=True)
    with pytest.raises(DisconnectedError, match="No call for sequence number 99"):
        await epc.call_wrapper(0x1000, b"")
    assert epc.process is not None
    assert (await epc.process.wait(5)).returncode == 0  # it saw our EOF
    await epc.disconnect()


async def test_epc_fault_executor_never_sends_setup(clean: None) -> None:
    """An executor that never speaks: TimeoutError naming the wait; it is killed and reaped."""
    with pytest.raises(TimeoutError, match=r"sent no Setup within 0.3 s \(pid \d+ killed\)"):
        await spawn_executor(fake_executor("mute"), setup_timeout=0.3)


async def test_epc_fault_executor_exits_before_setup(clean: None) -> None:
    """An executor that exits at once: the error says how, with its stderr when captured."""
    command = [sys.executable, "-c", "import sys; print('no luck', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(DisconnectedError, match=r"before sending Setup \(pid \d+: exit status 3; "):
        await spawn_executor(command, capture_output=True)
    with pytest.raises(FileNotFoundError):
        await spawn_executor("/nonexistent/llvm-jitlink-executor")


@requires_x86_64
async def test_epc_fault_many_epcs_are_independent(clean: None) -> None:
    """Several EPCs in one process, of every kind at hand, work at once; killing one executor
    leaves the others working."""
    commands = [orcrt_command(22), orcrt_command(14)]
    for major in (14, 22):
        path = f"/usr/lib/llvm-{major}/bin/llvm-jitlink-executor"
        if os.access(path, os.X_OK):
            commands.append([path])
    remotes: list[SimpleRemoteEPC] = list(
        await asyncio.gather(*(spawn_executor(command) for command in commands))
    )
    async with open_inprocess_executor() as local:
        epcs: list[ExecutorProcessControl] = [*remotes, local]
        try:
            bases = await asyncio.gather(
                *(_load(epc, return_int(i + 10)) for i, epc in enumerate(epcs))
            )
            results = await asyncio.gather(
                *(epc.run_as_main(base) for epc, base in zip(epcs, bases, strict=True))
            )
            assert results == [i + 10 for i in range(len(epcs))]
            victim = remotes[0]
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            await victim.wait_disconnected(5)
            survivors = epcs[1:]
            again = await asyncio.gather(
                *(epc.run_as_main(base) for epc, base in zip(survivors, bases[1:], strict=True))
            )
            assert again == results[1:]
        finally:
            await asyncio.gather(*(remote.disconnect() for remote in remotes))
    assert all(remote.process and remote.process.returncode is not None for remote in remotes)
