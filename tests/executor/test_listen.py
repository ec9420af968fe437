"""Listen mode: several TCP sessions served at once by one executor process, independently."""

from __future__ import annotations

import asyncio
import struct

import pytest

import protocol
from actors.testing._wire import ListeningExecutor, WireController
from protocol import SegmentFinalizeRequest

from ._jit import PAGE, RW, finalize, peek, requires_x86_64, reserve

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30), requires_x86_64]


async def _own_memory(wire: WireController, marker: bytes) -> int:
    """Reserve, finalize RW and write ``marker`` into this session's own memory."""
    base = await reserve(wire, PAGE)
    assert await finalize(wire, [SegmentFinalizeRequest(RW, base, PAGE, b"")]) == base
    await wire.call_sps(protocol.MEM_WRITE_BUFFERS, [(base, marker)])
    return base


async def test_listen_three_sessions_at_once(llvm_major: int) -> None:
    """Three controllers work concurrently, each on its own memory; closing one leaves the
    others serving; the executor exits 0 once all three have closed."""
    async with await ListeningExecutor.start(llvm_major, args=["--max-sessions", "3"]) as executor:
        controllers = [await executor.connect() for _ in range(3)]
        try:
            markers = [struct.pack("<Q", 0x1111111111111111 * (i + 1)) for i in range(3)]
            bases = await asyncio.gather(
                *(_own_memory(wc, m) for wc, m in zip(controllers, markers, strict=True))
            )
            assert len(set(bases)) == 3
            for wc, base, marker in zip(controllers, bases, markers, strict=True):
                assert await peek(wc, base, 8) == marker

            await controllers[0].close()
            assert await controllers[0].wait_closed() is None
            for wc, base, marker in zip(controllers[1:], bases[1:], markers[1:], strict=True):
                assert await peek(wc, base, 8) == marker
                assert await reserve(wc, PAGE)
            for wc in controllers[1:]:
                await wc.close()
            status = await executor.wait()
        finally:
            for wc in controllers:
                await wc.aclose()
    assert status.returncode == 0, status
    assert status.stderr_lines == [f"orcrt-executor: listening on 127.0.0.1:{executor.port}"]


async def test_listen_failing_session_leaves_the_others_alone(llvm_major: int) -> None:
    """One session fed garbage ends with one error line; the other keeps serving; the exit
    status reports the failure (1)."""
    async with (
        await ListeningExecutor.start(llvm_major, args=["--max-sessions", "2"]) as executor,
        await executor.connect() as bad,
        await executor.connect() as good,
    ):
        await bad.send_bytes(struct.pack("<QQQQ", 32, 9, 0, 0))
        assert await bad.wait_closed() is None
        assert await reserve(good, PAGE)
        await good.close()
        status = await executor.wait()
    assert status.returncode == 1
    errors = [line for line in status.stderr_lines if line.startswith("orcrt-executor: error:")]
    assert len(errors) == 1, status.stderr


async def test_listen_default_serves_one_session(llvm_major: int) -> None:
    """Without --max-sessions the executor serves one connection, like LLVM's, then exits 0."""
    async with (
        await ListeningExecutor.start(llvm_major) as executor,
        await executor.connect() as wire,
    ):
        assert await reserve(wire, PAGE)
        await wire.close()
        status = await executor.wait()
    assert status.returncode == 0
    with pytest.raises(ConnectionRefusedError):
        await WireController.connect(executor.host, executor.port, llvm_major, timeout=5)
