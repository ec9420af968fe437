"""How a session ends: clean EOF and Hangup exit 0; malformed input exits 1 with one line.

Every failure is reported on stderr in exactly one line starting ``orcrt-executor: error:``.
Nothing here may hang: each step waits under the WireController's timeouts.
"""

from __future__ import annotations

import asyncio
import struct

import pytest

import protocol
from actors import DisconnectedError
from actors.testing._wire import ExecutorExit, WireController
from protocol import Opcode

from ._jit import PAGE, load_dispatching_main, requires_x86_64, reserve, run_main

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

ERROR_PREFIX = "orcrt-executor: error:"
TAG = 0x5EED_0000_7A61


def _header(size: int, opcode: int, seq_no: int = 0, tag: int = 0) -> bytes:
    return struct.pack("<QQQQ", size, opcode, seq_no, tag)


async def _end_with(wire: WireController, data: bytes) -> ExecutorExit:
    """Send ``data`` raw, close our side, and return how the executor ended."""
    await wire.send_bytes(data)
    await wire.close()
    return await wire.wait()


def _one_error_line(status: ExecutorExit) -> str:
    assert status.returncode == 1, status
    (line,) = status.stderr_lines
    assert line.startswith(ERROR_PREFIX), line
    return line


async def test_session_end_eof_at_frame_boundary_exits_0(wire: WireController) -> None:
    """Closing after whole frames ends the session cleanly and silently."""
    assert await reserve(wire, PAGE)
    await wire.close()
    assert await wire.wait_closed() is None
    status = await wire.wait()
    assert (status.returncode, status.stderr) == (0, "")


async def test_session_end_hangup_exits_0(wire: WireController) -> None:
    """A Hangup from the controller ends the session cleanly (its payload is ignored)."""
    await wire.hangup("controller going away")
    status = await wire.wait()
    assert (status.returncode, status.stderr) == (0, "")


async def test_session_end_hangup_with_garbage_payload_exits_0(wire: WireController) -> None:
    """14 and 22 ignore the Hangup payload; so does orcrt, even when it is not an SPSError."""
    await wire.send_frame(Opcode.HANGUP, 0, 0, b"\x07garbage")
    status = await wire.wait()
    assert (status.returncode, status.stderr) == (0, "")


async def test_session_end_eof_inside_header_exits_1(wire: WireController) -> None:
    """EOF after part of a header: exit 1, one error line."""
    _one_error_line(await _end_with(wire, _header(40, Opcode.CALL_WRAPPER)[:20]))


async def test_session_end_eof_inside_payload_exits_1(wire: WireController) -> None:
    """EOF after a header that announces more payload than arrives: exit 1, one error line."""
    frame = protocol.encode_frame(
        Opcode.CALL_WRAPPER, 1, wire.address(protocol.MEMORY_RESERVE.name), b"\0" * 16
    )
    _one_error_line(await _end_with(wire, frame[:-3]))


@pytest.mark.parametrize(
    ("header", "named"),
    [
        pytest.param(_header(32, 9), "opcode 9", id="opcode-9"),
        pytest.param(_header(31, Opcode.CALL_WRAPPER), "31", id="size-31"),
        pytest.param(_header(0, Opcode.RESULT), "MsgSize 0", id="size-0"),
        pytest.param(_header(1 << 62, Opcode.CALL_WRAPPER), str(1 << 62), id="size-2^62"),
    ],
)
async def test_session_end_malformed_header_exits_1(
    wire: WireController, header: bytes, named: str
) -> None:
    """A bad header is fatal at once (no EOF needed, nothing buffered): exit 1, one line."""
    await wire.send_bytes(header)
    assert named in _one_error_line(await wire.wait())


async def test_session_end_result_with_a_tag_exits_1(wire: WireController) -> None:
    """A Result must carry tag 0 (LLVM: "Unexpected TagAddr in result message")."""
    await wire.send_frame(Opcode.RESULT, 1, 5, b"")
    assert "0x5" in _one_error_line(await wire.wait())


async def test_session_end_result_for_unknown_sequence_number_exits_1(
    wire: WireController,
) -> None:
    """A Result for a call the executor never made is fatal, as in LLVM: exit 1, one line."""
    await wire.send_frame(Opcode.RESULT, 4242, 0, b"")
    line = _one_error_line(await wire.wait())
    assert "4242" in line


async def test_session_end_setup_sent_to_executor_exits_1(wire: WireController) -> None:
    """Setup is the executor's message; receiving one is fatal: exit 1, one error line."""
    await wire.send_frame(Opcode.SETUP, 0, 0, wire.setup_payload)
    line = _one_error_line(await wire.wait())
    assert "Setup" in line


async def test_session_end_calls_after_the_end_fail_at_once(wire: WireController) -> None:
    """Once the executor dropped the link, a call fails with DisconnectedError naming why."""
    await wire.send_bytes(_header(32, 9))
    assert await wire.wait_closed() is None  # the executor closed its end cleanly after its error
    with pytest.raises(DisconnectedError):
        await wire.call(protocol.MEMORY_RESERVE.name, b"")
    assert (await wire.wait()).returncode == 1


@requires_x86_64
async def test_session_end_while_jitted_code_waits_in_dispatch(wire: WireController) -> None:
    """A fatal frame while JIT'd code waits for the controller in dispatch: the dispatch
    fails, the code returns, the executor exits 1 with one line; our pending call fails."""
    entered = asyncio.Event()
    never = asyncio.Event()

    async def handler(args: bytes) -> bytes:
        entered.set()
        await never.wait()
        return b""

    wire.add_handler(TAG, handler)
    main = await load_dispatching_main(wire, TAG, b"")
    running = asyncio.create_task(run_main(wire, main))
    async with asyncio.timeout(10):
        await entered.wait()
    await wire.send_bytes(_header(32, 9))
    with pytest.raises(DisconnectedError):
        await running
    _one_error_line(await wire.wait())


@requires_x86_64
async def test_session_end_eof_while_jitted_code_waits_in_dispatch(wire: WireController) -> None:
    """A clean EOF while JIT'd code waits in dispatch: the dispatch fails, the code returns,
    the executor exits 0 (no hang on the blocked worker)."""
    entered = asyncio.Event()
    never = asyncio.Event()

    async def handler(args: bytes) -> bytes:
        entered.set()
        await never.wait()
        return b""

    wire.add_handler(TAG, handler)
    running = asyncio.create_task(run_main(wire, await load_dispatching_main(wire, TAG, b"")))
    async with asyncio.timeout(10):
        await entered.wait()
    await wire.close()
    with pytest.raises(DisconnectedError):
        await running
    status = await wire.wait()
    assert (status.returncode, status.stderr) == (0, "")
