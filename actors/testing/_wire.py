"""WireController: the product's SimpleRemoteEPC, driven by name, to test an executor over the wire.

It plays the part ``llvm-jitlink`` plays against ``llvm-jitlink-executor`` (simple-remote-epc.md),
without LLVM. The wire engine is ``actors.orc.SimpleRemoteEPC`` (`WireController.epc`): this
layer only adds what tests of an *executor* need, and never checks the Setup against what a
controller of that LLVM generation requires (an executor under test may lack anything):

- it starts orcrt's executor by default (``python -m actors --llvm-version N``) and always
  captures its stdout and stderr (`WireController.wait` returns them with the exit status);
- it decodes the Setup in the layout of the LLVM major it is given (any of 14..22), never a
  detected one;
- calls take a bootstrap symbol name or an address, each under `WireController.call_timeout`;
- handlers can be replaced (`add_handler`), and executor calls answered with an empty payload
  are recorded in `WireController.unanswered`;
- malformed input on purpose: raw bytes (`send_bytes`), frames with any header fields
  (`send_frame`), Hangup (`hangup`), and EOF without waiting for anything (`close`).

    async with await WireController.spawn(22) as wc:
        inst = wc.address(protocol.MEMORY_MANAGER_INSTANCE_SYMBOL)
        base = await wc.call_sps(protocol.MEMORY_RESERVE, inst, 4096)
        await wc.close()                          # EOF at a frame boundary
        assert (await wc.wait()).returncode == 0

`ListeningExecutor` starts an executor in listen mode (``listen=HOST:0``) and connects any
number of WireControllers to it.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import protocol
from actors.orc import (
    CallSignature,
    ExecutorExit,
    ExecutorProcess,
    SimpleRemoteEPC,
    UnansweredCall,
    connect_executor,
    spawn_executor,
)
from actors.orc._epc_process import start_executor_process
from protocol import ExecutorInfo, Opcode, encode_frame

from ._simulated import Handler

__all__ = [
    "CallSignature",
    "ExecutorExit",
    "ListeningExecutor",
    "UnansweredCall",
    "WireController",
    "executor_command",
]

R = TypeVar("R")

DEFAULT_TIMEOUT: Final = 10.0
"""Seconds any single step (start, Setup, one call, exit) may take before `TimeoutError`."""

_LISTENING: Final = re.compile(r"listening on (.+):(\d+)\s*$")


def executor_command() -> list[str]:
    """The command that runs orcrt's executor with this interpreter: ``python -m actors``.

    Used by `WireController.spawn` and `ListeningExecutor.start` when no command is given; the
    caller appends arguments. Pure; any thread.
    """
    return [sys.executable, "-m", "actors"]


def _version_args(llvm_major: int, pass_version: bool) -> list[str]:
    return ["--llvm-version", str(llvm_major)] if pass_version else []


class WireController:
    """A SimpleRemoteEPC controller for tests of executors (see the module docstring).

    Create one with `spawn` (pipes) or `connect` (TCP; or `ListeningExecutor.connect`); never
    with the constructor. Use it from one event loop (any number of tasks on it; calls may be
    pipelined with ``asyncio.gather``); it is not thread-safe. Every step that waits has a
    timeout (`call_timeout` for calls) and raises `TimeoutError` instead of hanging. Use it as an
    async context manager, or call `aclose`, so that the executor it started is killed and
    reaped whatever happens.

    Attributes:
        llvm_major: the LLVM major whose Setup layout was expected (one of `protocol.SUPPORTED_LLVM_MAJORS`).
        info: the executor's Setup (triple, page size, bootstrap map and symbols).
        call_timeout: seconds one `call` may wait for its Result (None: no limit).
        unanswered: executor -> controller calls answered with an empty payload, in order.
    """

    llvm_major: int
    info: ExecutorInfo
    call_timeout: float | None
    unanswered: list[UnansweredCall]

    def __init__(self, _epc: SimpleRemoteEPC, _unanswered: list[UnansweredCall]) -> None:
        self._epc = _epc
        self.llvm_major = _epc.llvm_major
        self.info = _epc.info
        self.call_timeout = DEFAULT_TIMEOUT
        self.unanswered = _unanswered

    def __repr__(self) -> str:
        return f"<WireController {self._epc!r}>"

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
        unanswered: list[UnansweredCall] = []
        epc = await spawn_executor(
            [*(command or executor_command()), *_version_args(llvm_major, pass_version), *args],
            llvm_major=llvm_major,
            env=env,
            capture_output=True,
            handlers=handlers,
            on_unanswered=unanswered.append,
            setup_timeout=timeout,
            check_bootstrap=False,
        )
        return cls(epc, unanswered)

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
        unanswered: list[UnansweredCall] = []
        epc = await connect_executor(
            host,
            port,
            llvm_major=llvm_major,
            handlers=handlers,
            on_unanswered=unanswered.append,
            setup_timeout=timeout,
            check_bootstrap=False,
        )
        return cls(epc, unanswered)

    # -- Setup ------------------------------------------------------------------------------

    @property
    def epc(self) -> SimpleRemoteEPC:
        """The product EPC underneath (memory manager, dylibs, run_as_* ...)."""
        return self._epc

    @property
    def pid(self) -> int | None:
        """The executor's process id if this controller spawned it, else None."""
        return self._epc.pid

    @property
    def setup_payload(self) -> bytes:
        """The raw Setup payload as received (frame header excluded)."""
        return self._epc.setup_payload

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
        return await self._epc.call_wrapper(address, args, timeout=self.call_timeout)

    async def call_sps(
        self, signature: CallSignature[R], *args: Any, target: str | int | None = None
    ) -> R:
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
        return await self._epc.call_sps(signature, *args, address=target, timeout=self.call_timeout)

    def add_handler(self, tag: int, handler: Handler) -> None:
        """Answer the executor's CallWrapper frames for ``tag`` with ``handler(args)``.

        The handler (sync, or async returning bytes) runs in its own task on this loop, so it
        may itself `call` the executor. Its result bytes go back as the Result payload; if it
        raises, the payload is empty and the call is recorded in `unanswered`. Replaces any
        handler for the same tag.

        Raises:
            ValueError: ``tag`` is not a u64.
        """
        if tag in self._epc._handlers:
            self._epc.deregister_handler(tag)
        self._epc.register_handler(tag, handler)

    # -- raw frames and session end ---------------------------------------------------------

    async def send_bytes(self, data: bytes) -> None:
        """Write ``data`` to the executor as is (for malformed-input tests).

        Raises:
            DisconnectedError: our side of the link is already closed.
            ConnectionError: the executor's side is gone.
        """
        await self._epc.send_raw(data)

    async def send_frame(self, opcode: int, seq_no: int, tag: int, payload: bytes = b"") -> None:
        """Send one frame with any header fields (e.g. a Result for an unknown sequence number).

        Raises:
            protocol.EncodeError: a field does not fit the header (opcode > 3 included: use
                `send_bytes` for that).
            DisconnectedError, ConnectionError: as `send_bytes`.
        """
        await self._epc.send_raw(encode_frame(opcode, seq_no, tag, payload))

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
        await self._epc.send_eof()

    async def wait_closed(self, timeout: float | None = DEFAULT_TIMEOUT) -> BaseException | None:
        """Wait until the executor's side of the link ends; return why.

        Returns:
            None for a clean end (EOF at a frame boundary, or a Hangup from the executor),
            else the error (`protocol.ProtocolError` for bad bytes, `ConnectionError`, ...).

        Raises:
            TimeoutError: the link is still up after ``timeout`` seconds.
        """
        return await self._epc.wait_disconnected(timeout)

    async def wait(self, timeout: float | None = DEFAULT_TIMEOUT) -> ExecutorExit:
        """Wait for the executor process this controller spawned to exit; return its status.

        Does not close the link itself: call `close` (or send what ends the session) first.

        Raises:
            RuntimeError: the controller was made with `connect` (it owns no process).
            TimeoutError: the process is still running after ``timeout`` seconds; it is killed.
        """
        process = self._epc.process
        if process is None:
            raise RuntimeError(
                "this WireController connected over TCP and owns no process; "
                "wait on the ListeningExecutor instead"
            )
        return await process.wait(timeout)

    async def aclose(self) -> None:
        """Close the link, kill the executor if this controller spawned it and it still runs,
        and stop every task of this controller. Idempotent; called by ``async with``."""
        await self._epc.disconnect(timeout=0)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


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

    def __init__(self, _process: ExecutorProcess, _host: str, _port: int, _llvm_major: int) -> None:
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
        process = await start_executor_process(full, env=env, capture_output=True)
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
