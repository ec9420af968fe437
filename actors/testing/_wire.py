"""WireController: a minimal SimpleRemoteEPC controller in Python, to test an executor over the wire.

It plays the part ``llvm-jitlink`` plays against ``llvm-jitlink-executor`` (simple-remote-epc.md),
without LLVM: it starts an executor process with two pipes (``filedescs=R,W``) or connects to
one listening on TCP (``listen=HOST:PORT``), reads its Setup, calls its wrapper functions by name
or address, answers its calls to controller tags, and ends the session cleanly or with
deliberately malformed bytes:

    async with await WireController.spawn(22) as wc:
        inst = wc.address(protocol.MEMORY_MANAGER_INSTANCE_SYMBOL)
        base = await wc.call_sps(protocol.MEMORY_RESERVE, inst, 4096)
        await wc.close()                          # EOF at a frame boundary
        assert (await wc.wait()).returncode == 0

Theory of operation
-------------------
One reader task per link feeds a sans-IO `protocol.FrameDecoder`. The first frame must be Setup;
it is decoded with the layout of the LLVM major given at start (the executor speaks first and
cannot learn it from us). Afterwards:

| frame from the executor     | what the controller does                                        |
|-----------------------------|-----------------------------------------------------------------|
| Result(seq)                 | resolves the pending `WireController.call` with that ``seq``    |
| CallWrapper(seq, tag)       | runs the handler registered for ``tag`` in a task, answers      |
|                             | Result(seq); no handler, or a failing one: an empty payload     |
|                             | (LLVM's out-of-band error), and the call is recorded            |
| Hangup                      | the link ends (clean)                                           |
| Setup again, bad framing,   | the link ends with a `protocol.ProtocolError`                   |
| Result for an unknown seq   |                                                                 |
| EOF at a frame boundary     | the link ends (clean); inside a frame: `protocol.DecodeError`   |

When the link ends, every pending call fails with `actors.DisconnectedError` naming the reason.
Each outgoing frame goes out with one ``write``, so pipelined calls never interleave. Calls made
by ``asyncio.gather`` share the link; their sequence numbers are distinct.

A spawned executor's stdout and stderr are drained into memory all the time (a full pipe would
block it); `WireController.wait` returns them with the exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import sys
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Final, Protocol, Self, TypeVar

import attrs

import protocol
from actors._errors import DisconnectedError, RemoteCallError
from protocol import ExecutorInfo, Frame, FrameDecoder, Opcode, encode_frame

from ._simulated import Handler

__all__ = [
    "CallSignature",
    "ExecutorExit",
    "ListeningExecutor",
    "UnansweredCall",
    "WireController",
    "executor_command",
]

R_co = TypeVar("R_co", covariant=True)

DEFAULT_TIMEOUT: Final = 10.0
"""Seconds any single step (start, Setup, one call, exit) may take before `TimeoutError`."""

_READ_CHUNK: Final = 1 << 16
_LISTENING: Final = re.compile(r"listening on (.+):(\d+)\s*$")


def executor_command() -> list[str]:
    """The command that runs orcrt's executor with this interpreter: ``python -m actors``.

    Used by `WireController.spawn` and `ListeningExecutor.start` when no command is given; the
    caller appends arguments. Pure; any thread.
    """
    return [sys.executable, "-m", "actors"]


class CallSignature(Protocol[R_co]):
    """What `WireController.call_sps` needs of a signature: `protocol.WrapperSignature` fits.

    Covariant in the result type (``WrapperSignature`` itself is invariant), so a result can
    be assigned to a wider type, e.g. appended to a ``list[object]``.
    """

    @property
    def name(self) -> str:
        """The wrapper's symbol name (the default call target)."""
        ...

    def encode_args(self, *values: object) -> bytes:
        """Serialize one call's arguments."""
        ...

    def decode_result(self, data: bytes) -> R_co:
        """Decode a Result payload (raises `protocol.DecodeError`, also for an empty one)."""
        ...


@attrs.frozen(kw_only=True)
class ExecutorExit:
    """How an executor process ended: its exit status and everything it wrote.

    Attributes:
        returncode: the exit status (negative: killed by that signal).
        stdout: its standard output, decoded as UTF-8 (invalid bytes replaced).
        stderr: its standard error, decoded the same way.
    """

    returncode: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        """The non-empty lines of `stderr`, without line ends."""
        return [line for line in self.stderr.splitlines() if line.strip()]


@attrs.frozen(kw_only=True)
class UnansweredCall:
    """An executor -> controller call answered with an empty payload (LLVM's out-of-band error).

    Attributes:
        seq_no: the executor's sequence number.
        tag: the tag address it called.
        args: the argument bytes.
        reason: why: no handler for the tag, or the handler's exception.
    """

    seq_no: int
    tag: int
    args: bytes
    reason: str


class _Process:
    """A spawned executor process whose stdout/stderr are drained into memory continuously."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._stderr_changed = asyncio.Condition()
        self._stderr_done = False
        self._drains = [
            asyncio.create_task(self._drain_stdout(), name="wire-executor-stdout"),
            asyncio.create_task(self._drain_stderr(), name="wire-executor-stderr"),
        ]

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _drain_stdout(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while chunk := await stream.read(_READ_CHUNK):
            self.stdout += chunk

    async def _drain_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        try:
            while chunk := await stream.read(_READ_CHUNK):
                async with self._stderr_changed:
                    self.stderr += chunk
                    self._stderr_changed.notify_all()
        finally:
            async with self._stderr_changed:
                self._stderr_done = True
                self._stderr_changed.notify_all()

    async def wait_for_stderr_line(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """The first complete stderr line matching ``pattern``; None if stderr ended first."""
        async with self._stderr_changed:
            while True:
                for line in self.stderr.decode("utf-8", "replace").splitlines(keepends=True):
                    if line.endswith("\n") and (match := pattern.search(line)):
                        return match
                if self._stderr_done:
                    return None
                await self._stderr_changed.wait()

    def snapshot(self, returncode: int) -> ExecutorExit:
        return ExecutorExit(
            returncode=returncode,
            stdout=self.stdout.decode("utf-8", "replace"),
            stderr=self.stderr.decode("utf-8", "replace"),
        )

    async def wait(self, timeout: float | None) -> ExecutorExit:
        """Wait for exit and for both streams to end; kill it and raise TimeoutError if late."""
        try:
            async with asyncio.timeout(timeout):
                returncode = await self.process.wait()
                await asyncio.gather(*self._drains)
        except TimeoutError:
            self.kill()
            raise TimeoutError(
                f"executor pid {self.pid} did not exit within {timeout} s (killed); "
                f"stderr so far: {self.stderr.decode('utf-8', 'replace')!r}"
            ) from None
        return self.snapshot(returncode)

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def aclose(self) -> None:
        """Kill the process if it still runs, reap it, and stop draining (idempotent)."""
        self.kill()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(DEFAULT_TIMEOUT):
                await self.process.wait()
        for drain in self._drains:
            drain.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)


def _child_env(env: Mapping[str, str | None] | None) -> dict[str, str] | None:
    if env is None:
        return None
    merged = dict(os.environ)
    for key, value in env.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def _start_process(
    command: Sequence[str], pass_fds: Sequence[int], env: Mapping[str, str | None] | None
) -> _Process:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        pass_fds=tuple(pass_fds),
        env=_child_env(env),
    )
    return _Process(process)


def _version_args(llvm_major: int, pass_version: bool) -> list[str]:
    return ["--llvm-version", str(llvm_major)] if pass_version else []


class WireController:
    """A SimpleRemoteEPC controller for tests (see the module docstring for the frame table).

    Create one with `spawn` (pipes) or `connect` (TCP; or `ListeningExecutor.connect`); never
    with the constructor. Use it from one event loop (any number of tasks on it; calls may be
    pipelined with ``asyncio.gather``); it is not thread-safe. Every step that waits has a
    timeout (`call_timeout` for calls) and raises `TimeoutError` instead of hanging. Use it as an
    async context manager, or call `aclose`, so that the executor it started is killed and
    reaped whatever happens.

    Attributes:
        llvm_major: the LLVM major whose Setup layout was expected (14 or 22, or any 14..22).
        info: the executor's Setup (triple, page size, bootstrap map and symbols).
        call_timeout: seconds one `call` may wait for its Result (None: no limit).
        unanswered: executor -> controller calls answered with an empty payload, in order.
    """

    llvm_major: int
    info: ExecutorInfo
    call_timeout: float | None
    unanswered: list[UnansweredCall]

    def __init__(
        self,
        _reader: asyncio.StreamReader,
        _writer: asyncio.StreamWriter,
        _llvm_major: int,
        _process: _Process | None,
        _half_close: bool,
        _handlers: Mapping[int, Handler] | None = None,
    ) -> None:
        self.llvm_major = _llvm_major
        self.call_timeout = DEFAULT_TIMEOUT
        self.unanswered = []
        self._layout = protocol.setup_layout_for(_llvm_major)
        self._reader = _reader
        self._writer = _writer
        self._process = _process
        self._half_close = _half_close  # TCP: shutdown(SHUT_WR) keeps reading; pipes: close
        self._decoder = FrameDecoder()
        loop = asyncio.get_running_loop()
        self._setup: asyncio.Future[ExecutorInfo] = loop.create_future()
        self._ended: asyncio.Future[BaseException | None] = loop.create_future()
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._abandoned: set[int] = set()
        self._handlers: dict[int, Handler] = {}
        for tag, handler in (_handlers or {}).items():
            self.add_handler(tag, handler)
        self._handler_tasks: set[asyncio.Task[None]] = set()
        self._next_seq = 1
        self._setup_payload = b""
        self._closed = False
        self._reader_task = asyncio.create_task(self._read_loop(), name="wire-controller-reader")

    def __repr__(self) -> str:
        state = (
            "ended"
            if self._ended.done()
            else "closed"
            if self._closed
            else "open"
            if self._setup.done()
            else "starting"
        )
        pid = f" pid={self._process.pid}" if self._process else ""
        return f"<WireController llvm={self.llvm_major} {state}{pid} pending={len(self._pending)}>"

    # -- starting ---------------------------------------------------------------------------

    @classmethod
    async def spawn(
        cls,
        llvm_major: int,
        *,
        args: Sequence[str] = (),
        command: Sequence[str] | None = None,
        env: Mapping[str, str | None] | None = None,
        pass_version: bool = True,
        handlers: Mapping[int, Handler] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> WireController:
        """Start an executor over two pipes and wait for its Setup.

        Runs ``command`` (default `executor_command`) with ``--llvm-version N`` (unless
        ``pass_version`` is false, e.g. to test ``ORCRT_LLVM_VERSION``), then ``args``, then
        ``filedescs=R,W``. ``env`` is applied on top of this process's environment (a value of
        None removes that variable). ``handlers`` are registered (as by `add_handler`) before
        the first frame is read, for executors that call the controller at once. Call from a
        coroutine on the loop that will use it.

        Raises:
            DisconnectedError: the executor ended before sending Setup (message: its exit
                status and stderr).
            protocol.ProtocolError: its first frame is not a Setup of the expected layout.
            TimeoutError: no Setup within ``timeout`` seconds (the process is killed).
            ValueError: ``llvm_major`` has no known Setup layout.
        """
        protocol.setup_layout_for(llvm_major)  # fail early on an unknown version
        to_executor_r, to_executor_w = os.pipe()
        from_executor_r, from_executor_w = os.pipe()
        full = [
            *(command or executor_command()),
            *_version_args(llvm_major, pass_version),
            *args,
            f"filedescs={to_executor_r},{from_executor_w}",
        ]
        try:
            process = await _start_process(full, (to_executor_r, from_executor_w), env)
        except BaseException:
            os.close(to_executor_w)
            os.close(from_executor_r)
            raise
        finally:
            os.close(to_executor_r)  # the child holds its own copies
            os.close(from_executor_w)
        try:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=_READ_CHUNK, loop=loop)
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                os.fdopen(from_executor_r, "rb", buffering=0),
            )
            transport, flow = await loop.connect_write_pipe(
                asyncio.streams.FlowControlMixin, os.fdopen(to_executor_w, "wb", buffering=0)
            )
            writer = asyncio.StreamWriter(transport, flow, None, loop)
        except BaseException:
            await process.aclose()
            raise
        controller = cls(reader, writer, llvm_major, process, False, handlers)
        await controller._wait_setup(timeout)
        return controller

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        llvm_major: int,
        *,
        handlers: Mapping[int, Handler] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> WireController:
        """Connect to an executor listening on ``host:port`` over TCP and wait for its Setup.

        The controller owns no process (`wait` is not available; see `ListeningExecutor`).
        ``handlers`` as in `spawn`.
        ``close`` half-closes the socket, so the executor's last frames can still be read.

        Raises:
            OSError: the connection was refused.
            DisconnectedError: the executor closed the connection before sending Setup.
            protocol.ProtocolError: its first frame is not a Setup of the expected layout.
            TimeoutError: no connection or no Setup within ``timeout`` seconds.
            ValueError: ``llvm_major`` has no known Setup layout.
        """
        protocol.setup_layout_for(llvm_major)
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, limit=_READ_CHUNK)
        controller = cls(reader, writer, llvm_major, None, True, handlers)
        await controller._wait_setup(timeout)
        return controller

    async def _wait_setup(self, timeout: float | None) -> None:
        try:
            async with asyncio.timeout(timeout):
                done, _ = await asyncio.wait(
                    (self._setup, self._ended), return_when=asyncio.FIRST_COMPLETED
                )
            if self._setup in done:
                self.info = self._setup.result()
                return
            reason = self._ended.result()
            if isinstance(reason, protocol.ProtocolError):
                raise reason
            detail = ""
            if self._process is not None:
                status = await self._process.wait(timeout)
                detail = f" (exit status {status.returncode}; stderr: {status.stderr!r})"
            raise DisconnectedError(
                f"the executor closed the link before sending Setup{detail}"
            ) from reason
        except BaseException:
            await self.aclose()
            raise

    # -- Setup ------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The executor's process id if this controller spawned it, else None."""
        return None if self._process is None else self._process.pid

    @property
    def setup_payload(self) -> bytes:
        """The raw Setup payload as received (frame header excluded)."""
        return self._setup_payload

    @property
    def symbols(self) -> Mapping[str, int]:
        """The bootstrap symbols of the Setup, name -> address (read-only)."""
        return self.info.bootstrap_symbols

    def address(self, name: str) -> int:
        """The address the executor advertised for bootstrap symbol ``name``.

        Raises:
            KeyError: the Setup did not contain ``name`` (the message names it).
        """
        try:
            return self.info.bootstrap_symbols[name]
        except KeyError:
            raise KeyError(
                f"the executor's Setup has no bootstrap symbol {name!r} "
                f"({len(self.info.bootstrap_symbols)} symbols)"
            ) from None

    # -- calls ------------------------------------------------------------------------------

    async def call(self, target: str | int, args: bytes = b"") -> bytes:
        """Call the executor's wrapper function ``target``; return the Result payload.

        ``target`` is a bootstrap symbol name (looked up in the Setup) or an address. Any number
        of calls may be outstanding at once; each gets the next sequence number. An empty
        payload is what the executor sends for an out-of-band error.

        Raises:
            KeyError: ``target`` is a name the Setup lacks.
            DisconnectedError: the link ended before the Result arrived (names why).
            TimeoutError: no Result within `call_timeout` (the call is abandoned; a late Result
                for it is ignored).
        """
        address = self.address(target) if isinstance(target, str) else target
        if self._ended.done():
            raise self._disconnected()
        seq_no = self._next_seq
        self._next_seq += 1
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[seq_no] = reply
        try:
            async with asyncio.timeout(self.call_timeout):
                await self._send(encode_frame(Opcode.CALL_WRAPPER, seq_no, address, args))
                return await reply
        except BaseException:
            if self._pending.pop(seq_no, None) is not None and not self._ended.done():
                self._abandoned.add(seq_no)
            raise

    async def call_sps(
        self, signature: CallSignature[R_co], *args: object, target: str | int | None = None
    ) -> R_co:
        """Call a wrapper with SPS-encoded ``args``; return its decoded result.

        The target is ``signature.name`` in the Setup unless ``target`` is given (a name or an
        address, e.g. the address LLVM 14 gets from looking up
        ``llvm_orc_registerEHFrameSectionWrapper``). Errors carried as values (``SPSError``,
        ``SPSExpected``) come back as `protocol.Failure`, not as exceptions.

        Raises:
            RemoteCallError: the executor answered with an empty payload where the result type
                needs bytes (an out-of-band error; its text is on the executor's stderr).
            protocol.EncodeError, TypeError: ``args`` do not fit the signature.
            protocol.DecodeError: the Result payload is malformed for the signature.
            KeyError, DisconnectedError, TimeoutError: as `call`.
        """
        payload = await self.call(
            signature.name if target is None else target, signature.encode_args(*args)
        )
        try:
            return signature.decode_result(payload)
        except protocol.DecodeError as exc:
            if payload:
                raise
            raise RemoteCallError(
                f"{signature.name or 'wrapper'} answered with an empty payload "
                "(an out-of-band error; see the executor's stderr)"
            ) from exc

    def add_handler(self, tag: int, handler: Handler) -> None:
        """Answer the executor's CallWrapper frames for ``tag`` with ``handler(args)``.

        The handler (sync, or async returning bytes) runs in its own task on this loop, so it
        may itself `call` the executor. Its result bytes go back as the Result payload; if it
        raises, the payload is empty and the call is recorded in `unanswered`. Replaces any
        handler for the same tag.

        Raises:
            ValueError: ``tag`` is not a u64.
        """
        if not 0 <= tag < 1 << 64:
            raise ValueError(f"tag {tag!r} is not a u64")
        self._handlers[tag] = handler

    # -- raw frames and session end ---------------------------------------------------------

    async def send_bytes(self, data: bytes) -> None:
        """Write ``data`` to the executor as is (for malformed-input tests).

        Raises:
            DisconnectedError: our side of the link is already closed.
            ConnectionError: the executor's side is gone.
        """
        await self._send(data)

    async def send_frame(self, opcode: int, seq_no: int, tag: int, payload: bytes = b"") -> None:
        """Send one frame with any header fields (e.g. a Result for an unknown sequence number).

        Raises:
            protocol.EncodeError: a field does not fit the header (opcode > 3 included: use
                `send_bytes` for that).
            DisconnectedError, ConnectionError: as `send_bytes`.
        """
        await self._send(encode_frame(opcode, seq_no, tag, payload))

    async def hangup(self, message: str | None = None) -> None:
        """Send Hangup carrying ``SPSError`` (success, or ``message``) and then close our side.

        Raises:
            DisconnectedError, ConnectionError: as `send_bytes`.
        """
        error = None if message is None else protocol.Failure(message)
        await self.send_frame(Opcode.HANGUP, 0, 0, protocol.Error.encode(error))
        await self.close()

    async def close(self) -> None:
        """End our side of the session: EOF after the last whole frame we sent.

        Pipes: our write end is closed; TCP: the socket is shut down for writing, so the
        executor's remaining frames are still read. Calls still pending are answered if the
        executor answers them, or fail when the link ends. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        writer = self._writer
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
            if self._half_close and writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()  # a pipe: the fd is closed once the buffer is flushed

    async def wait_closed(self, timeout: float | None = DEFAULT_TIMEOUT) -> BaseException | None:
        """Wait until the executor's side of the link ends; return why.

        Returns:
            None for a clean end (EOF at a frame boundary, or a Hangup from the executor),
            else the error (`protocol.ProtocolError` for bad bytes, `ConnectionError`, ...).

        Raises:
            TimeoutError: the link is still up after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._ended)

    async def wait(self, timeout: float | None = DEFAULT_TIMEOUT) -> ExecutorExit:
        """Wait for the executor process this controller spawned to exit; return its status.

        Does not close the link itself: call `close` (or send what ends the session) first.

        Raises:
            RuntimeError: the controller was made with `connect` (it owns no process).
            TimeoutError: the process is still running after ``timeout`` seconds; it is killed.
        """
        if self._process is None:
            raise RuntimeError(
                "this WireController connected over TCP and owns no process; "
                "wait on the ListeningExecutor instead"
            )
        return await self._process.wait(timeout)

    async def aclose(self) -> None:
        """Close the link, kill the executor if this controller spawned it and it still runs,
        and stop every task of this controller. Idempotent; called by ``async with``."""
        await self.close()
        if self._process is not None:
            await self._process.aclose()
        tasks = [self._reader_task, *self._handler_tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._end(DisconnectedError("the controller was closed"))
        self._writer.close()
        if self._half_close:  # a socket (pipe writers have no close waiter)
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- internals --------------------------------------------------------------------------

    async def _send(self, data: bytes) -> None:
        if self._closed:
            raise DisconnectedError("our side of the link is closed")
        self._writer.write(data)  # one write per frame: frames never interleave
        await self._writer.drain()

    def _disconnected(self) -> DisconnectedError:
        reason = self._ended.result() if self._ended.done() else None
        why = "the executor ended the session" if reason is None else str(reason)
        return DisconnectedError(f"disconnected: {why}")

    def _end(self, reason: BaseException | None) -> None:
        if self._ended.done():
            return
        self._ended.set_result(reason)
        error = self._disconnected()
        for reply in self._pending.values():
            if not reply.done():
                reply.set_exception(error)
        self._pending.clear()

    async def _read_loop(self) -> None:
        decoder = self._decoder
        try:
            while True:
                data = await self._reader.read(_READ_CHUNK)
                if not data:
                    decoder.feed_eof()
                    self._end(None)
                    return
                for frame in decoder.feed_frames(data):
                    if not self._on_frame(frame):
                        return
        except protocol.ProtocolError as exc:
            self._end(exc)
        except (ConnectionError, OSError) as exc:
            self._end(exc)

    def _on_frame(self, frame: Frame) -> bool:
        """Handle one frame; False when the link ended."""
        if not self._setup.done():
            if frame.opcode != Opcode.SETUP or frame.seq_no != 0 or frame.tag != 0:
                self._end(
                    protocol.DecodeError(
                        f"expected Setup as the first frame, got {frame.opcode.name} "
                        f"(seq {frame.seq_no}, tag {frame.tag:#x})",
                        offset=0,
                    )
                )
                return False
            self._setup_payload = frame.payload
            try:
                self._setup.set_result(protocol.decode_setup(frame.payload, self._layout))
            except protocol.DecodeError as exc:
                self._end(exc.with_context(f"Setup (LLVM {self.llvm_major} layout)"))
                return False
            return True
        match frame.opcode:
            case Opcode.RESULT:
                reply = self._pending.pop(frame.seq_no, None)
                if reply is None:
                    if frame.seq_no in self._abandoned:
                        self._abandoned.discard(frame.seq_no)
                        return True
                    self._end(
                        protocol.DecodeError(
                            f"No call for sequence number {frame.seq_no}", offset=0
                        )
                    )
                    return False
                if frame.tag != 0:
                    self._end(
                        protocol.DecodeError(
                            f"unexpected tag {frame.tag:#x} in result message", offset=24
                        )
                    )
                    return False
                if not reply.done():
                    reply.set_result(frame.payload)
                return True
            case Opcode.CALL_WRAPPER:
                task = asyncio.create_task(self._answer(frame), name=f"wire-handler-{frame.tag:#x}")
                self._handler_tasks.add(task)
                task.add_done_callback(self._handler_tasks.discard)
                return True
            case Opcode.HANGUP:
                self._end(None)
                return False
            case Opcode.SETUP:
                self._end(protocol.DecodeError("unexpected second Setup message", offset=8))
                return False

    async def _answer(self, frame: Frame) -> None:
        handler = self._handlers.get(frame.tag)
        result = b""
        reason: str | None = None
        if handler is None:
            reason = f"no handler for tag {frame.tag:#x}"
        else:
            try:
                outcome = handler(frame.payload)
                result = await outcome if inspect.isawaitable(outcome) else outcome
            except Exception as exc:
                reason = f"handler for tag {frame.tag:#x} raised {type(exc).__name__}: {exc}"
        if reason is not None:
            self.unanswered.append(
                UnansweredCall(
                    seq_no=frame.seq_no, tag=frame.tag, args=frame.payload, reason=reason
                )
            )
            result = b""
        with contextlib.suppress(DisconnectedError, ConnectionError, OSError):
            await self._send(encode_frame(Opcode.RESULT, frame.seq_no, 0, result))


class ListeningExecutor:
    """An executor process started in listen mode (``listen=HOST:0``), for TCP tests.

    `start` runs it and learns the port it bound from its stderr; `connect` opens one session
    (a `WireController`) per call, up to its ``--max-sessions``. Use it as an async context
    manager, or call `aclose`, so that the process is killed and reaped whatever happens.
    One event loop; not thread-safe.

    Attributes:
        host: the address it listens on.
        port: the TCP port it bound.
        llvm_major: the LLVM major it was told to speak.
    """

    host: str
    port: int
    llvm_major: int

    def __init__(self, _process: _Process, _host: str, _port: int, _llvm_major: int) -> None:
        self._process = _process
        self.host = _host
        self.port = _port
        self.llvm_major = _llvm_major

    def __repr__(self) -> str:
        return f"<ListeningExecutor pid={self._process.pid} {self.host}:{self.port}>"

    @property
    def pid(self) -> int:
        """The executor's process id."""
        return self._process.pid

    @classmethod
    async def start(
        cls,
        llvm_major: int,
        *,
        host: str = "127.0.0.1",
        args: Sequence[str] = (),
        command: Sequence[str] | None = None,
        env: Mapping[str, str | None] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> ListeningExecutor:
        """Run ``command --llvm-version N ARGS listen=HOST:0`` and wait until it listens.

        Raises:
            RuntimeError: the process ended without reporting its port (message: its exit
                status and stderr).
            TimeoutError: it did not report a port within ``timeout`` seconds (it is killed).
        """
        full = [
            *(command or executor_command()),
            *_version_args(llvm_major, True),
            *args,
            f"listen={host}:0",
        ]
        process = await _start_process(full, (), env)
        try:
            async with asyncio.timeout(timeout):
                match = await process.wait_for_stderr_line(_LISTENING)
            if match is None:
                status = await process.wait(timeout)
                raise RuntimeError(
                    f"the executor exited with status {status.returncode} before listening; "
                    f"stderr: {status.stderr!r}"
                )
        except BaseException:
            await process.aclose()
            raise
        return cls(process, match.group(1), int(match.group(2)), llvm_major)

    async def connect(
        self,
        *,
        handlers: Mapping[int, Handler] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> WireController:
        """Open a new session: connect and wait for its Setup (see `WireController.connect`)."""
        return await WireController.connect(
            self.host, self.port, self.llvm_major, handlers=handlers, timeout=timeout
        )

    async def wait(self, timeout: float | None = DEFAULT_TIMEOUT) -> ExecutorExit:
        """Wait for the process to exit; return its status and output.

        Raises:
            TimeoutError: still running after ``timeout`` seconds; it is killed.
        """
        return await self._process.wait(timeout)

    async def aclose(self) -> None:
        """Kill the process if it still runs and reap it. Idempotent."""
        await self._process.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
