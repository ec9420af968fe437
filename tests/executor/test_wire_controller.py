"""The WireController's own contract, against a scripted fake executor (`_fake_executor`)."""

from __future__ import annotations

import asyncio
import struct
import sys
from pathlib import Path

import pytest

import protocol
from actors import DisconnectedError, RemoteCallError
from actors.testing._wire import ListeningExecutor, WireController

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

FAKE = str(Path(__file__).with_name("_fake_executor.py"))


def _fake(mode: str) -> list[str]:
    return [sys.executable, FAKE, mode]


async def test_wire_controller_reads_setup_in_the_given_layout(llvm_major: int) -> None:
    """Setup is decoded with the layout of the LLVM major given to spawn."""
    async with await WireController.spawn(llvm_major, command=_fake("silent")) as wc:
        assert wc.info.triple == "fake"
        assert dict(wc.symbols) == {"answer": 0x1000, "other": 0x2000}
        assert wc.address("answer") == 0x1000
        with pytest.raises(KeyError, match="no bootstrap symbol 'missing'"):
            wc.address("missing")
        await wc.close()
        assert (await wc.wait()).returncode == 0


async def test_wire_controller_executor_dying_before_setup_is_reported() -> None:
    """An executor that exits before Setup: DisconnectedError with its status and stderr."""
    with pytest.raises(DisconnectedError, match=r"exit status 3.*giving up"):
        await WireController.spawn(14, command=_fake("die"))


async def test_wire_controller_first_frame_must_be_setup() -> None:
    """A first frame other than Setup is a protocol error raised by spawn."""
    with pytest.raises(protocol.DecodeError, match="expected Setup"):
        await WireController.spawn(14, command=_fake("bad-first"))


async def test_wire_controller_timed_out_call_is_abandoned_and_its_late_result_ignored() -> None:
    """A call past call_timeout raises TimeoutError; its late Result does not break the link;
    pipelined calls each get their own Result."""
    async with await WireController.spawn(14, command=_fake("late")) as wc:
        wc.call_timeout = 0.2
        with pytest.raises(TimeoutError):
            await wc.call("answer")  # held by the fake until a b"flush" call arrives
        wc.call_timeout = 10
        assert struct.unpack("<Q", await wc.call("answer", b"flush")) == (1,)
        held, flush = await asyncio.gather(wc.call(0x3000, b"x"), wc.call("other", b"flush"))
        assert (struct.unpack("<Q", held), struct.unpack("<Q", flush)) == ((2,), (3,))
        await wc.close()
        assert await wc.wait_closed() is None
        assert (await wc.wait()).returncode == 0


async def test_wire_controller_result_for_unknown_sequence_number_ends_the_link() -> None:
    """A Result nobody asked for ends the link with a protocol error; calls then fail."""
    async with await WireController.spawn(14, command=_fake("stray")) as wc:
        reason = await wc.wait_closed()
        assert isinstance(reason, protocol.DecodeError)
        assert "No call for sequence number 99" in str(reason)
        with pytest.raises(DisconnectedError, match="99"):
            await wc.call("answer")


async def test_wire_controller_answers_executor_calls_with_handlers() -> None:
    """A CallWrapper from the executor reaches the tag's handler; its bytes go back."""
    seen: list[bytes] = []

    def handler(args: bytes) -> bytes:
        seen.append(args)
        return b"\x2a"

    # Given at spawn: the executor may call right after Setup, before spawn returns.
    async with await WireController.spawn(
        14, command=_fake("call-me"), handlers={0xAB: handler}
    ) as wc:
        status = await wc.wait()
        assert wc.unanswered == []
    assert status.returncode == 0x2A
    assert seen == [b"ping"]


async def test_wire_controller_unhandled_executor_call_gets_an_empty_result() -> None:
    """Without a handler the call is answered with an empty payload and recorded."""
    async with await WireController.spawn(14, command=_fake("call-me")) as wc:
        status = await wc.wait()
        (unanswered,) = wc.unanswered
    assert status.returncode == 255
    assert (unanswered.seq_no, unanswered.tag, unanswered.args) == (7, 0xAB, b"ping")
    assert unanswered.reason == "No function registered for tag 0xab"


async def test_wire_controller_call_sps_reports_empty_payload_as_remote_error() -> None:
    """call_sps turns an empty payload for a non-void result into RemoteCallError."""
    async with await WireController.spawn(22) as wc:
        with pytest.raises(RemoteCallError, match="empty payload"):
            await wc.call_sps(protocol.RUN_AS_MAIN, 0x10, [])


async def test_wire_controller_wait_needs_a_spawned_process() -> None:
    """wait() on a TCP controller is a usage error; the ListeningExecutor owns the process."""
    async with (
        await ListeningExecutor.start(22) as executor,
        await executor.connect() as wc,
    ):
        assert wc.pid is None
        with pytest.raises(RuntimeError, match="ListeningExecutor"):
            await wc.wait()
        await wc.close()
        assert (await executor.wait()).returncode == 0


async def test_listening_executor_that_exits_early_is_reported() -> None:
    """If the executor exits instead of listening, start raises with its status and stderr."""
    with pytest.raises(RuntimeError, match=r"status 2.*--max-sessions"):
        await ListeningExecutor.start(22, args=["--max-sessions", "0"])


async def test_wire_controller_aclose_kills_a_running_executor() -> None:
    """Leaving the context without closing kills the executor: nothing is left running."""
    async with await WireController.spawn(14, command=_fake("silent")) as wc:
        process = wc.epc.process
        assert process is not None
    assert process.returncode is not None
