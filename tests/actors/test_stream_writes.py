"""StreamControllerAccess sends the results of one read in one write, before the read returns.

The link is wired to in-memory transports (as tests/benchmarks/bench_executor.py does), so the
test sees every ``write`` and can feed ``data_received`` itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import protocol
from actors import open_session
from actors._stream import StreamControllerAccess, _LinkProtocol
from tests.fakes import wait_until


class _Sink(asyncio.WriteTransport):
    """Records each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


class _Source(asyncio.ReadTransport):
    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass


def _frames(data: bytes) -> list[tuple[int, int, bytes]]:
    """(opcode, seq_no, payload) of each whole frame in ``data``."""
    decoder = protocol.FrameDecoder(1 << 20)
    return [
        (frame.opcode, frame.seq_no, bytes(frame.payload)) for frame in decoder.feed_frames(data)
    ]


def _call(seq: int, tag: int, payload: bytes) -> bytes:
    return protocol.encode_frame(protocol.Opcode.CALL_WRAPPER, seq, tag, payload)


@pytest.mark.asyncio
async def test_results_of_one_read_go_out_in_one_write_before_data_received_returns() -> None:
    async with open_session() as session:
        gate = asyncio.Event()

        def echo(data: bytes) -> bytes:
            return data

        async def later(data: bytes) -> bytes:
            await gate.wait()
            return data + b"!"

        echo_address = await session.register_wrapper(echo)
        later_address = await session.register_wrapper(later)
        access = StreamControllerAccess(b"setup")
        sink = _Sink()
        links: list[Any] = []

        async def open_memory() -> None:
            link = _LinkProtocol(access.ref, access.session._ref, 1 << 20)
            link.connection_made(_Source())
            access._attach_transports(link, _Source(), sink, -1)
            links.append(link)

        access._open = open_memory
        await session.attach(access)
        await wait_until(lambda: sink.writes)  # Setup
        sink.writes.clear()
        (link,) = links

        link.data_received(_call(1, echo_address, b"a") + _call(2, echo_address, b"b"))
        assert len(sink.writes) == 1  # both results, one write, already sent
        assert _frames(sink.writes[0]) == [
            (protocol.Opcode.RESULT, 1, b"a"),
            (protocol.Opcode.RESULT, 2, b"b"),
        ]

        # A result that comes later (an async wrapper) still goes out, when the access is idle.
        link.data_received(_call(3, later_address, b"c"))
        gate.set()
        await wait_until(lambda: len(sink.writes) == 2)
        assert _frames(sink.writes[1]) == [(protocol.Opcode.RESULT, 3, b"c!")]
