"""StreamControllerAccess: LLVM's SimpleRemoteEPC protocol over pipes or a TCP socket.

The link is an asyncio protocol feeding a sans-IO `protocol.FrameDecoder`; every frame turns
into a message for this actor:

| frame from the controller      | message                   | notes                                 |
|--------------------------------|---------------------------|---------------------------------------|
| CallWrapper(seq, tag=address)  | `WrapperCall` (to Session)| answered by a Result(seq, tag 0)      |
| Result(seq, tag 0)             | `IncomingResult`          | a nonzero tag is a protocol error     |
| Hangup                         | `LinkLost(None)`          | 14/22 ignore its payload (§6)         |
| Setup, opcode > 3, bad framing | `LinkLost(ProtocolError)` | fatal, as in LLVM                     |
| EOF (or a reset) at a boundary | `LinkLost(None)`          | the normal end of a session           |
| EOF inside a frame, I/O error  | `LinkLost(error)`         |                                       |

Calls go from the link straight to the Session, with a reply that hands the result to this
actor (`result_reply`), with no detour through futures. The Session, this access (for results
it can send without waiting) and the memory and dylib managers handle mail inline when idle
(`actors._actor`), so a call to a synchronous wrapper is answered within the ``data_received``
that read it: no task switch from frame to result frame. The executor speaks first:
`on_connect` sends Setup (simple-remote-epc.md §4). Frames are whole (header and payload in one
buffer), so they never interleave; the results of one burst go out in one ``write`` (or
every 64 KiB): at the end of the ``data_received`` that read the calls (`EndOfRead`, handled
inline, so the write does not wait for the next loop iteration) or when the mailbox runs dry
(`on_idle`). Pipelined results cost one system call per burst, and a TCP peer sees no header/payload split (TCP_NODELAY is
set, unlike LLVM's own executor, whose two writes per frame cost ~40 ms each with Nagle and
delayed ACKs). A result for a sequence number we never used is fatal ("No call for sequence
number N"), as in LLVM.
LLVM 14/22 have no wire encoding for out-of-band errors: such a result goes out as an empty
payload (what LLVM's executor sends) and the message is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from protocol import FrameDecoder, Opcode, ProtocolError, encode_frame

from ._actor import ActorRef
from ._controller import (
    END_OF_READ,
    ControllerAccess,
    ControllerAccessMessage,
    IncomingResult,
    LinkLost,
    result_reply,
)
from ._errors import DisconnectedError
from ._session import WrapperCall
from ._wrappers import OutOfBandError, WrapperResult

__all__ = ["StreamControllerAccess"]

_FLUSH_BYTES = 64 * 1024  # send batched frames at least this often, even under load

log = logging.getLogger(__name__)


class _LinkProtocol(asyncio.Protocol):
    """Reads frames and turns them into messages for the access (runs on the loop)."""

    def __init__(
        self,
        access: ActorRef[ControllerAccessMessage],
        session: ActorRef[WrapperCall],
        max_frame_size: int,
    ) -> None:
        self._access = access
        self._session = session
        self._decoder = FrameDecoder(max_frame_size)
        self._transport: asyncio.BaseTransport | None = None
        self._ended = False
        self._can_write: asyncio.Event = asyncio.Event()
        self._can_write.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._ended:
            return
        try:
            frames = self._decoder.feed_frames(data)
        except ProtocolError as exc:
            self._end(exc)
            return
        access = self._access
        call = self._session.tell
        for frame in frames:
            opcode = frame.opcode
            if opcode == Opcode.CALL_WRAPPER:
                reply = result_reply(access, frame.seq_no)
                call(WrapperCall(address=frame.tag, args=frame.payload, reply=reply))
            elif opcode == Opcode.RESULT:
                if frame.tag != 0:
                    self._end(ProtocolError(f"unexpected tag {frame.tag:#x} in result message"))
                    return
                access.tell(IncomingResult(seq_no=frame.seq_no, result=frame.payload))
            elif opcode == Opcode.HANGUP:
                self._end(None)
                return
            else:
                self._end(ProtocolError("unexpected Setup message from the controller"))
                return
        if frames and not access.closed:
            # The results of this read go out now (one write), not one loop iteration later
            # from on_idle; an idle access takes this inline (actors._actor).
            access.tell(END_OF_READ)

    def eof_received(self) -> bool:
        try:
            self._decoder.feed_eof()
        except ProtocolError as exc:
            self._end(exc)
        else:
            self._end(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._can_write.set()
        if exc is None:
            self._end(None)
        elif isinstance(exc, ConnectionResetError) and self._at_frame_boundary():
            # The controller closed its socket with our last frames unread (LLVM 22 does this
            # after a failed link): it left between messages, which is how sessions end.
            log.debug("controller reset the connection at a frame boundary: %s", exc)
            self._end(None)
        else:
            self._end(DisconnectedError(f"disconnected: {exc}"))

    def _at_frame_boundary(self) -> bool:
        try:
            self._decoder.feed_eof()
        except ProtocolError:
            return False
        return True

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def _end(self, reason: BaseException | None) -> None:
        if self._ended:
            return
        self._ended = True
        if self._transport is not None and isinstance(self._transport, asyncio.ReadTransport):
            self._transport.pause_reading()
        if not self._access.closed:
            self._access.tell(LinkLost(reason=reason))


class _WriteProtocol(asyncio.BaseProtocol):
    """Flow control for a write pipe; losing it ends the link like EOF."""

    def __init__(self, link: _LinkProtocol) -> None:
        self._link = link

    def pause_writing(self) -> None:
        self._link.pause_writing()

    def resume_writing(self) -> None:
        self._link.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._link.connection_lost(exc)


Opener = Callable[["StreamControllerAccess"], Any]


class StreamControllerAccess(ControllerAccess):
    """Controller access speaking SimpleRemoteEPC over a byte stream (see the module table).

    Build it with `over_pipes` (``filedescs=R,W``, as ``llvm-jitlink -oop-executor`` starts
    its executor) or `over_socket` (an accepted TCP connection), with the Setup payload the
    executor advertises. Attach it with ``await session.attach(access)``; it sends Setup at
    once. After the link ends, the transport is closed and the Session detaches.

    ``busy_poll_us`` (default 0, off): after sending, poll the link for up to that many
    microseconds before letting the loop sleep. It trades CPU for latency of sequential
    calls (see README, Performance); the loop is blocked for at most that long.
    """

    inline_delivery = True  # idle: take mail on the sender's stack (actors._actor)

    def __init__(
        self, setup_payload: bytes, *, max_frame_size: int = 1 << 30, busy_poll_us: float = 0.0
    ) -> None:
        super().__init__()
        if busy_poll_us < 0:
            raise ValueError(f"busy_poll_us must not be negative, got {busy_poll_us}")
        self._setup_payload = setup_payload
        self._max_frame_size = max_frame_size
        self._busy_poll_s = busy_poll_us / 1e6
        self._poller: select.poll | None = None
        self._link: _LinkProtocol | None = None
        self._read_transport: asyncio.BaseTransport | None = None
        self._write_transport: asyncio.WriteTransport | None = None
        self._open: Callable[[], Any] | None = None
        self._outbox: list[bytes] = []
        self._outbox_bytes = 0

    @classmethod
    def over_pipes(
        cls, read_fd: int, write_fd: int, setup_payload: bytes, **kwargs: Any
    ) -> StreamControllerAccess:
        """An access reading frames from ``read_fd`` and writing them to ``write_fd``.

        The access owns both descriptors from now on and closes them when the link ends.
        """
        access = cls(setup_payload, **kwargs)

        async def open_pipes() -> None:
            loop = asyncio.get_running_loop()
            link = _LinkProtocol(access.ref, access.session._ref, access._max_frame_size)
            reader = os.fdopen(read_fd, "rb", buffering=0)
            writer = os.fdopen(write_fd, "wb", buffering=0)
            read_transport, _ = await loop.connect_read_pipe(lambda: link, reader)
            write_transport, _ = await loop.connect_write_pipe(lambda: _WriteProtocol(link), writer)
            access._attach_transports(link, read_transport, write_transport, read_fd)

        access._open = open_pipes
        return access

    @classmethod
    def over_socket(
        cls, sock: socket.socket, setup_payload: bytes, **kwargs: Any
    ) -> StreamControllerAccess:
        """An access on an accepted stream socket (TCP_NODELAY is set). It owns the socket."""
        access = cls(setup_payload, **kwargs)

        async def open_socket() -> None:
            loop = asyncio.get_running_loop()
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _LinkProtocol(access.ref, access.session._ref, access._max_frame_size)
            transport, _ = await loop.connect_accepted_socket(lambda: link, sock)
            access._attach_transports(link, transport, transport, sock.fileno())

        access._open = open_socket
        return access

    def _attach_transports(
        self,
        link: _LinkProtocol,
        read_transport: asyncio.BaseTransport,
        write_transport: asyncio.WriteTransport,
        read_fd: int,
    ) -> None:
        self._link = link
        self._read_transport = read_transport
        self._write_transport = write_transport
        if self._busy_poll_s > 0:
            self._poller = select.poll()
            self._poller.register(read_fd, select.POLLIN)

    async def on_connect(self) -> None:
        """Open the transport and send Setup (the executor speaks first)."""
        if self._open is None:
            raise RuntimeError("build a StreamControllerAccess with over_pipes or over_socket")
        await self._open()
        self._write(encode_frame(Opcode.SETUP, 0, 0, self._setup_payload))
        self._flush()

    def _write(self, frame: bytes) -> None:
        transport = self._write_transport
        if transport is None or transport.is_closing():
            raise DisconnectedError("disconnected: the link is closed")
        self._outbox.append(frame)
        self._outbox_bytes += len(frame)
        if self._outbox_bytes >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._outbox:
            return
        data = self._outbox[0] if len(self._outbox) == 1 else b"".join(self._outbox)
        self._outbox.clear()
        self._outbox_bytes = 0
        transport = self._write_transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def on_idle(self) -> None:
        """The mailbox ran empty: send the frames batched meanwhile (see `flush`)."""
        self.flush()

    def flush(self) -> None:
        """Send the frames batched meanwhile in one write; then, with busy polling on, watch
        the link for the next frame before the loop may sleep. Runs at the end of each read
        (`EndOfRead`) and when the mailbox runs empty."""
        flushed = bool(self._outbox)
        self._flush()
        if flushed and self._poller is not None:
            self._busy_poll(self._poller)

    def _busy_poll(self, poller: select.poll) -> None:
        # After answering, a sequential controller sends its next call within tens of
        # microseconds. Sleeping in epoll until then costs a wake-up (~25-40 us on a VM);
        # polling briefly keeps this thread on the CPU and sees the frame at once. Bounded
        # by busy_poll_us, and only after a write, so an idle executor does not spin.
        deadline = time.perf_counter() + self._busy_poll_s
        while not poller.poll(0):
            if time.perf_counter() >= deadline:
                return

    async def _drain(self) -> None:
        link = self._link
        if link is not None and not link._can_write.is_set():
            await link._can_write.wait()

    async def send_call(self, seq_no: int, tag: int, args: bytes) -> None:
        """Send CallWrapper(seq_no, tag) with ``args``."""
        await self._drain()
        self._write(encode_frame(Opcode.CALL_WRAPPER, seq_no, tag, args))

    async def send_result(self, ref: int, result: WrapperResult) -> None:
        """Send Result(ref, tag 0); an out-of-band error goes as an empty payload (logged)."""
        await self._drain()
        self._write(encode_frame(Opcode.RESULT, ref, 0, _payload(ref, result)))

    def send_result_nowait(self, ref: int, result: WrapperResult) -> bool:
        """Queue Result(ref, tag 0) for the next write unless the transport asked us to pause."""
        link = self._link
        if link is not None and not link._can_write.is_set():
            return False
        self._write(encode_frame(Opcode.RESULT, ref, 0, _payload(ref, result)))
        return True

    def unknown_result(self, seq_no: int) -> None:
        """A result for a call we never made: fatal, as in LLVM."""
        self.ref.tell(LinkLost(reason=ProtocolError(f"No call for sequence number {seq_no}")))

    async def close_link(self, reason: BaseException | None) -> None:
        """Close both directions; batched frames are flushed first."""
        self._flush()
        for transport in {
            id(t): t for t in (self._write_transport, self._read_transport) if t
        }.values():
            transport.close()


def _payload(ref: int, result: WrapperResult) -> bytes:
    """A result's payload: LLVM 14/22 cannot carry out-of-band errors, so those go empty."""
    if isinstance(result, OutOfBandError):
        log.error("call %d failed out of band (sent as an empty result): %s", ref, result.message)
        return b""
    return result
