"""SimpleRemoteEPC: the EPC of an executor process, over two pipes or a TCP socket.

It plays the part LLVM's ``SimpleRemoteEPC`` plays in ``llvm-jitlink`` (simple-remote-epc.md,
orcv2-reference.md §4). ``spawn_executor`` and ``connect_executor`` (``_epc_connect``) make one
and return it once the executor's Setup is read and checked.

Theory of operation
-------------------
The transport hands what it reads straight to a sans-IO `protocol.FrameDecoder` (an asyncio
Protocol: no reader task, a Result resolves its caller's future in the callback that read it);
the EPC writes each frame with one ``write`` and waits only while the transport's buffer is
over its high-water mark. The first frame must be
Setup (seq 0, tag 0); its layout is the given LLVM major's, or, when none is given, the one
the payload fits (`protocol.detect_setup_layout`). Afterwards:

| frame from the executor     | what the EPC does                                               |
|-----------------------------|-----------------------------------------------------------------|
| Result(seq)                 | resolves the pending call ``seq`` (tag must be 0)               |
| Result for an abandoned seq | ignored (its caller timed out or was cancelled)                 |
| CallWrapper(seq, tag)       | runs the tag's handler in a task, answers Result(seq); no       |
|                             | handler, or a failing one: an empty payload (the wire's only    |
|                             | out-of-band error) and ``on_unanswered`` hears why              |
| Hangup                      | the link ends (clean)                                           |
| Setup again, bad framing,   | the link ends with a `protocol.ProtocolError`; our side is      |
| Result for an unknown seq   | closed, so the executor ends too (LLVM: "No call for sequence   |
|                             | number N" is fatal)                                             |
| EOF at a frame boundary     | the link ends (clean); inside a frame: `protocol.DecodeError`   |

Outgoing calls take sequence numbers from 0 up, never reused (§7 item 60); pipelined calls
never interleave, each frame being one write. When the link ends every pending
call fails with ``actors.DisconnectedError`` naming the reason; for a spawned executor that
vanished, the reason includes how its process ended (``pid N: killed by signal 9``).

`SimpleRemoteEPC.disconnect` fails pending calls at once ("the controller disconnected"),
ends our side with EOF at a frame boundary (TCP: ``shutdown(SHUT_WR)``, which LLVM's
executors need to notice), waits for the executor to end its side and its process to exit
(killing it when late), and closes every descriptor: nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Final

import protocol
from actors import DisconnectedError
from protocol import ExecutorInfo, Frame, FrameDecoder, Opcode, SetupLayout, encode_frame

from ._epc import ExecutorProcessControl, disconnected_error
from ._epc_handlers import Handler, Unanswered
from ._epc_process import ExecutorProcess, describe_status

__all__ = ["LinkProtocol", "SimpleRemoteEPC"]

_DISCONNECT_TIMEOUT: Final = 10.0
_EXIT_GRACE: Final = 2.0  # seconds to learn a vanished executor's exit status for the message
_CONTROLLER_DISCONNECTED: Final = "the controller disconnected"


def _layout_name(layout: SetupLayout) -> str:
    """E.g. ``LLVM 14-16's (no bootstrap map)``, from the version table."""
    majors = [row.major for row in protocol.LLVM_PROTOCOLS.values() if row.setup_layout is layout]
    span = f"{majors[0]}-{majors[-1]}" if len(majors) > 1 else f"{majors[0]}"
    kind = "no bootstrap map" if layout is SetupLayout.WITHOUT_MAP else "with a bootstrap map"
    return f"LLVM {span}'s ({kind})"


def _recognise(payload: bytes) -> tuple[ExecutorInfo, int]:
    """Decode a Setup in the layout it fits; the major of the row it was made for."""
    layout = protocol.detect_setup_layout(payload)
    info = protocol.decode_setup(payload, layout)
    return info, protocol.recognise_llvm_protocol(info, layout).major


class SimpleRemoteEPC(ExecutorProcessControl):
    """The EPC of an executor reached over pipes or TCP (see the module docstring).

    Made by `spawn_executor` or `connect_executor`, never by the constructor. One event loop;
    any number of tasks on it. `disconnect` (or leaving ``async with``) ends the session and
    reaps a spawned executor.
    """

    def __init__(
        self,
        _process: ExecutorProcess | None,
        _half_close: bool,
        *,
        llvm_major: int | None,
        check_bootstrap: bool,
        handlers: Mapping[int, Handler] | None,
        on_unanswered: Unanswered | None,
    ) -> None:
        super().__init__(handlers=handlers, on_unanswered=on_unanswered)
        self._process = _process
        self._half_close = _half_close  # TCP: shutdown(SHUT_WR) keeps reading; pipes: close
        self._requested_major = llvm_major
        self._check_bootstrap = check_bootstrap
        self._decoder = FrameDecoder()
        self._loop = loop = asyncio.get_running_loop()
        # Set by _attach: the transport we read frames from and the one we write them to
        # (the same for a socket).
        self._read_transport: asyncio.BaseTransport | None = None
        self._write_transport: asyncio.WriteTransport | None = None
        self._lost: list[asyncio.Future[None]] = []
        self._paused = False
        self._drained: asyncio.Future[None] | None = None
        self._setup: asyncio.Future[None] = loop.create_future()
        self._ended: asyncio.Future[BaseException | None] = loop.create_future()
        self._why = ""
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._abandoned: set[int] = set()
        self._next_seq = 0
        self._setup_payload = b""
        self._write_closed = False
        self._closing = False
        self._eof_task: asyncio.Task[None] | None = None
        self._disconnect_task: asyncio.Task[None] | None = None

    def _attach(self, read: asyncio.BaseTransport, write: asyncio.WriteTransport) -> None:
        self._read_transport = read
        self._write_transport = write

    def __repr__(self) -> str:
        if self._ended.done():
            state = "ended"
        elif self._closing:
            state = "disconnecting"
        elif self._setup.done():
            state = "open"
        else:
            state = "starting"
        pid = f" pid={self._process.pid}" if self._process else ""
        major = f" llvm={self._llvm_major}" if self._info is not None else ""
        return f"<SimpleRemoteEPC{major} {state}{pid} pending={len(self._pending)}>"

    # -- properties --------------------------------------------------------------------------

    @property
    def process(self) -> ExecutorProcess | None:
        """The executor process if this EPC spawned it (None over TCP)."""
        return self._process

    @property
    def pid(self) -> int | None:
        """The executor's process id if this EPC spawned it, else None."""
        return None if self._process is None else self._process.pid

    @property
    def setup_payload(self) -> bytes:
        """The raw Setup payload as received (frame header excluded)."""
        return self._setup_payload

    @property
    def disconnected(self) -> bool:
        """True once `disconnect` began or the link ended."""
        return self._closing or self._ended.done()

    @property
    def pending_calls(self) -> int:
        """How many calls wait for their Result."""
        return len(self._pending)

    # -- calls -------------------------------------------------------------------------------

    async def call_wrapper(
        self, address: int, args: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Send ``CallWrapper(seq, address, args)``; the Result payload (see the ABC).

        An empty payload is what LLVM's and orcrt's executors send for an out-of-band error.
        """
        if self.disconnected:
            raise self._disconnected()
        seq_no = self._next_seq
        self._next_seq = seq_no + 1
        reply: asyncio.Future[bytes] = self._loop.create_future()
        self._pending[seq_no] = reply
        try:
            self._write(encode_frame(Opcode.CALL_WRAPPER, seq_no, address, args))
            if timeout is None:
                if self._paused:
                    await self._wait_drained()
                return await reply
            async with asyncio.timeout(timeout):
                if self._paused:
                    await self._wait_drained()
                return await reply
        except BaseException:
            if self._pending.pop(seq_no, None) is not None and not self._ended.done():
                self._abandoned.add(seq_no)
            raise

    # -- low level: for tools and tests ------------------------------------------------------

    async def send_raw(self, data: bytes) -> None:
        """Write ``data`` to the executor as it is (protocol tests, fault injection).

        Raises:
            DisconnectedError: our side of the link is already closed.
        """
        if self._write_closed:
            raise DisconnectedError("our side of the link is closed")
        await self._send(data)

    async def send_eof(self) -> None:
        """End our side of the link: EOF after the last whole frame we sent, nothing else.

        Pipes: our write end is closed once its buffer is flushed; TCP: the socket is shut down
        for writing, so the executor's remaining frames are still read. Pending calls are
        answered if the executor answers them, or fail when its side ends. Idempotent.
        """
        self._close_write()

    def _close_write(self) -> None:
        if self._write_closed:
            return
        self._write_closed = True
        transport = self._write_transport
        if transport is None or transport.is_closing():
            return
        with contextlib.suppress(ConnectionError, OSError):
            if self._half_close and transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()  # a pipe: the fd is closed once the buffer is flushed

    async def wait_disconnected(self, timeout: float | None = None) -> BaseException | None:
        """Wait until the executor's side of the link ends; return why.

        Returns:
            None for a clean end (EOF at a frame boundary, or Hangup), else the error
            (`protocol.ProtocolError` for bad bytes, `ConnectionError`, ...).

        Raises:
            TimeoutError: the link is still up after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._ended)

    # -- the end -----------------------------------------------------------------------------

    async def disconnect(self, *, timeout: float | None = _DISCONNECT_TIMEOUT) -> None:
        """End the session (see the module docstring): pending calls fail, our side sends
        EOF, then the executor gets ``timeout`` seconds to end its side and exit before it is
        killed (0: at once). Idempotent; concurrent callers all wait for the same cleanup."""
        if self._disconnect_task is None:
            self._disconnect_task = asyncio.create_task(
                self._disconnect(timeout), name="epc-disconnect"
            )
        await asyncio.shield(self._disconnect_task)

    async def _disconnect(self, timeout: float | None) -> None:
        self._closing = True
        self._fail_pending(disconnected_error(_CONTROLLER_DISCONNECTED))
        try:
            await self.send_eof()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self._ended)
                    if self._process is not None:
                        await self._process.wait_exit(None)
        finally:
            await self._release()

    async def _release(self) -> None:
        """Kill and reap the process, stop every task, close every descriptor."""
        if self._process is not None:
            await self._process.aclose()
        tasks = [*self._handler_tasks, *([self._eof_task] if self._eof_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._end(disconnected_error(_CONTROLLER_DISCONNECTED), _CONTROLLER_DISCONNECTED)
        self._write_closed = True
        for transport in (self._read_transport, self._write_transport):
            if transport is not None:
                transport.close()
        # The descriptors are closed when the transports report the loss (next iteration).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_EXIT_GRACE):
                await asyncio.gather(*self._lost)

    def _disconnected(self) -> DisconnectedError:
        if self._closing and not self._why:
            return disconnected_error(_CONTROLLER_DISCONNECTED)
        return disconnected_error(self._why or "the executor ended the session")

    def _fail_pending(self, error: DisconnectedError) -> None:
        pending, self._pending = self._pending, {}
        self._abandoned.update(pending)
        for reply in pending.values():
            if not reply.done():
                reply.set_exception(error)

    def _end(self, reason: BaseException | None, why: str) -> None:
        """The executor's side ended (once): remember why, fail every pending call, and close
        our side after an error (as LLVM's controller disconnects)."""
        if self._ended.done():
            return
        self._why = why
        self._ended.set_result(reason)
        self._fail_pending(disconnected_error(why))
        if not self._setup.done():
            self._setup.cancel()
        if reason is not None:
            self._close_write()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def _send(self, data: bytes) -> None:
        """Write one frame (one write: frames never interleave); wait while the transport's
        buffer is over its high-water mark."""
        self._write(data)
        if self._paused:
            await self._wait_drained()

    def _write(self, data: bytes) -> None:
        transport = self._write_transport
        if self._write_closed or transport is None or transport.is_closing():
            raise self._disconnected()
        transport.write(data)

    async def _wait_drained(self) -> None:
        while self._paused and not self._ended.done():
            if self._drained is None or self._drained.done():
                self._drained = self._loop.create_future()
            await asyncio.shield(self._drained)

    # -- what the transports report (see _LinkProtocol) ---------------------------------------

    def _pause_writing(self) -> None:
        self._paused = True

    def _resume_writing(self) -> None:
        self._paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def _on_data(self, data: bytes) -> None:
        if self._ended.done():
            return
        try:
            frames = self._decoder.feed_frames(data)
        except protocol.ProtocolError as exc:
            self._end(exc, str(exc))
            return
        for frame in frames:
            if not self._on_frame(frame):
                return

    def _on_eof(self) -> None:
        if self._ended.done() or self._eof_task is not None:
            return
        try:
            self._decoder.feed_eof()
        except protocol.ProtocolError as exc:
            self._end(exc, str(exc))
            return
        self._eof_task = self._loop.create_task(self._end_at_eof(), name="epc-eof")

    def _on_lost(self, exc: BaseException | None) -> None:
        if exc is None:
            self._on_eof()
        elif not self._ended.done():
            self._end(exc, f"the link failed: {exc}")

    async def _end_at_eof(self) -> None:
        if self._closing:  # the executor's answer to our EOF
            self._end(None, _CONTROLLER_DISCONNECTED)
            return
        why = "the executor ended the session"
        if self._process is not None:
            status = await self._process.wait_exit(_EXIT_GRACE)
            if status is not None:
                why += f" ({describe_status(self._process.pid, status)})"
        self._end(None, why)

    def _on_frame(self, frame: Frame) -> bool:
        """Handle one frame; False when the link ended."""
        if not self._setup.done():
            return self._on_setup(frame)
        match frame.opcode:
            case Opcode.RESULT:
                reply = self._pending.pop(frame.seq_no, None)
                if reply is None:
                    if frame.seq_no in self._abandoned:
                        self._abandoned.discard(frame.seq_no)
                        return True
                    return self._fatal(f"No call for sequence number {frame.seq_no}", 16)
                if frame.tag != 0:
                    return self._fatal(f"Unexpected TagAddr {frame.tag:#x} in result message", 24)
                if not reply.done():
                    reply.set_result(frame.payload)
                return True
            case Opcode.CALL_WRAPPER:
                seq_no = frame.seq_no

                async def answer(result: bytes, error: str | None) -> None:
                    del error  # the wire carries no error text: the payload stays empty
                    with contextlib.suppress(DisconnectedError, ConnectionError, OSError):
                        await self._send(encode_frame(Opcode.RESULT, seq_no, 0, result))

                self._start_incoming(seq_no, frame.tag, frame.payload, answer)
                return True
            case Opcode.HANGUP:
                self._end(None, "the executor hung up")
                return False
            case Opcode.SETUP:
                return self._fatal("unexpected second Setup message", 8)

    def _fatal(self, what: str, offset: int) -> bool:
        error = protocol.DecodeError(what, offset=offset)
        self._end(error, str(error))
        return False

    def _on_setup(self, frame: Frame) -> bool:
        if frame.opcode != Opcode.SETUP or frame.seq_no != 0 or frame.tag != 0:
            return self._fatal(
                f"expected Setup as the first frame, got {frame.opcode.name} "
                f"(seq {frame.seq_no}, tag {frame.tag:#x})",
                0,
            )
        self._setup_payload = frame.payload
        try:
            info, major = self._decode_setup(frame.payload)
            self._accept_setup(info, major, check=self._check_bootstrap)
        except (protocol.ProtocolError, LookupError) as exc:
            self._end(exc, str(exc))
            return False
        self._setup.set_result(None)
        return True

    def _decode_setup(self, payload: bytes) -> tuple[ExecutorInfo, int]:
        major = self._requested_major
        if major is None:
            return _recognise(payload)
        row = protocol.llvm_protocol(major)
        expected = row.setup_layout
        try:
            return protocol.decode_setup(payload, expected), major
        except protocol.DecodeError as exc:
            try:
                actual = protocol.detect_setup_layout(payload)
            except protocol.DecodeError:
                raise exc.with_context(f"Setup (LLVM {major} layout)") from None
            if row.inferred:
                # An inferred row's layout is the table's best guess; the Setup decides.
                return _recognise(payload)
            raise protocol.DecodeError(
                f"the executor's Setup has the layout of {_layout_name(actual)}, not LLVM "
                f"{major}'s: it serves another LLVM version",
                offset=0,
            ) from exc

    async def _wait_setup(self, timeout: float | None) -> None:
        """Return once the Setup is read and checked; else clean up and raise why not.

        A silent executor is killed at once; one that sent a bad or insufficient Setup gets
        our EOF and a moment to exit by itself, as it would with LLVM's controller.
        """
        grace: float | None = _EXIT_GRACE
        try:
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.wait((self._setup, self._ended), return_when="FIRST_COMPLETED")
            except TimeoutError:
                grace = 0
                pid = f" (pid {self._process.pid} killed)" if self._process else ""
                raise TimeoutError(f"the executor sent no Setup within {timeout} s{pid}") from None
            if self._setup.done() and not self._setup.cancelled():
                return
            reason = self._ended.result()
            if reason is not None:
                raise reason
            detail = ""
            if self._process is not None:
                status = await self._process.wait(timeout)
                stderr = f"; stderr: {status.stderr!r}" if self._process.captured else ""
                detail = f" ({describe_status(self._process.pid, status.returncode)}{stderr})"
            raise DisconnectedError(f"the executor closed the link before sending Setup{detail}")
        except BaseException:
            await self.disconnect(timeout=grace)
            raise


class LinkProtocol(asyncio.Protocol):
    """Hands what a transport reports to its EPC: data and EOF (when it is the read side),
    flow control (when it is the write side), and the loss of the connection.

    Made by the factories' ``connect_*_pipe``/``create_connection`` calls, one per transport;
    its methods run on the loop, called by the transport.
    """

    def __init__(self, epc: SimpleRemoteEPC, *, reads: bool) -> None:
        self._epc = epc
        self._reads = reads
        self.lost: asyncio.Future[None] = epc._loop.create_future()
        epc._lost.append(self.lost)

    def data_received(self, data: bytes) -> None:
        self._epc._on_data(data)

    def eof_received(self) -> bool:
        self._epc._on_eof()
        return True  # a socket stays open for writing: our EOF is ours to send

    def pause_writing(self) -> None:
        self._epc._pause_writing()

    def resume_writing(self) -> None:
        self._epc._resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if self._reads:
            self._epc._on_lost(exc)
        else:  # our write pipe: the executor closed its read end; its EOF or death follows
            self._epc._resume_writing()
