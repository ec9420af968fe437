"""A TCP controller that resets the connection: a clean end between frames, an error inside one."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

import protocol
from actors.testing import ListeningExecutor

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


def _connect_read_setup_and_reset(port: int, *, partial: bytes) -> None:
    """Read the executor's Setup, optionally send ``partial`` bytes, then reset (RST)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        decoder = protocol.FrameDecoder()
        while (frame := decoder.next_frame()) is None:
            chunk = sock.recv(65536)
            assert chunk, "executor closed before Setup"
            decoder.feed(chunk)
        assert frame.opcode == protocol.Opcode.SETUP
        if partial:
            sock.sendall(partial)
        # SO_LINGER with a zero timeout turns close() into a reset.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("major", [14, 22])
async def test_tcp_reset_between_frames_is_a_clean_end(major: int) -> None:
    """A reset at a frame boundary ends the session like EOF there: exit 0, nothing on stderr
    but the listening line."""
    async with await ListeningExecutor.start(major) as executor:
        await asyncio.to_thread(_connect_read_setup_and_reset, executor.port, partial=b"")
        ended = await executor.wait()
    assert ended.returncode == 0, ended
    assert [line for line in ended.stderr_lines if "listening on" not in line] == []


@pytest.mark.parametrize("major", [14, 22])
async def test_tcp_reset_inside_a_frame_is_an_error(major: int) -> None:
    """A reset in the middle of a frame is a failed link: exit 1 with one error line."""
    header_start = protocol.encode_frame(protocol.Opcode.CALL_WRAPPER, 0, 0x1000, b"x" * 64)[:20]
    async with await ListeningExecutor.start(major) as executor:
        await asyncio.to_thread(_connect_read_setup_and_reset, executor.port, partial=header_start)
        ended = await executor.wait()
    assert ended.returncode == 1, ended
    errors = [line for line in ended.stderr_lines if line.startswith("orcrt-executor: error:")]
    assert len(errors) == 1, ended
