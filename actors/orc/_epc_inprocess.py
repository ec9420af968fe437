"""InProcessEPC: the EPC of an orcrt executor Session in this process (no wire, no frames).

LLVM's in-process EPC (``SelfExecutorProcessControl``) runs JIT'd code in the controller's own
process. Here the executor is an orcrt ``actors.Session`` with the bootstrap services of one
LLVM generation (``actors.open_executor_session``), so the very same memory-manager, dylib and
run-as-main wrappers serve both the wire executors and this one:

| direction              | path                                                                |
|------------------------|---------------------------------------------------------------------|
| controller -> executor | ``Session.call_wrapper(address, args)``: a message, no frame         |
| executor -> controller | JIT'd code -> the native dispatch entry -> ``Session.call_controller``|
|                        | -> our `ControllerAccess` subclass -> the tag's handler, whose result |
|                        | (or the out-of-band error, text included) goes back as                |
|                        | ``IncomingResult``                                                    |
| memory access          | direct, checked copies in this process (``native``)                   |

Lifetime: the Session lives in a host task the EPC starts (its task group must be entered and
left by one task); `InProcessEPC.disconnect` fails pending calls, lets the host leave the
Session's block (detach, then shutdown: memory is released, dealloc actions run) and waits for
it. JIT'd code still running then is waited for: code in this process cannot be killed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Final

import native
from actors import (
    ActorClosedError,
    ControllerAccess,
    DisconnectedError,
    ErrorReporter,
    IncomingResult,
    OutOfBandError,
    Session,
    WrapperResult,
    open_executor_session,
)

from ._epc import ExecutorProcessControl, check_llvm_major, disconnected_error
from ._epc_connect import EPCOpener
from ._epc_handlers import Handler, Unanswered
from ._epc_memory import EPCMemoryAccess

__all__ = ["InProcessEPC", "open_inprocess_executor"]

_CSTRING_LIMIT: Final = 1 << 20  # read_strings: the longest C string read
_CONTROLLER_DISCONNECTED: Final = "the controller disconnected"


class _Access(ControllerAccess):
    """The executor Session's link to us: its calls to the controller reach our handlers."""

    def __init__(self, epc: InProcessEPC) -> None:
        super().__init__()
        self._epc = epc

    async def send_call(self, seq_no: int, tag: int, args: bytes) -> None:
        """Run the handler of ``tag``; answer with `IncomingResult` when it is done."""
        ref = self.ref

        async def answer(result: bytes, error: str | None) -> None:
            outcome: WrapperResult = result if error is None else OutOfBandError(error)
            # Closed: the Session detached meanwhile and has failed the call already.
            with contextlib.suppress(ActorClosedError):
                ref.tell(IncomingResult(seq_no=seq_no, result=outcome))

        self._epc._start_incoming(seq_no, tag, args, answer)

    async def send_result(self, ref: int, result: WrapperResult) -> None:
        """Never used: our calls go to ``Session.call_wrapper``, not through `IncomingCall`."""
        raise RuntimeError(f"the in-process EPC sent no IncomingCall, yet got result {ref}")

    async def close_link(self, reason: BaseException | None) -> None:
        """The Session detached (our disconnect, or its own shutdown)."""
        self._epc._link_closed(reason)


class _DirectMemoryAccess(EPCMemoryAccess):
    """Checked copies in this process (``process_vm_readv``/``writev``): a bad address is a
    `native.MemoryAccessError`, never a crash."""

    def __init__(self, epc: InProcessEPC) -> None:
        self._epc = epc

    def __repr__(self) -> str:
        return "<InProcessEPC memory access>"

    def _check(self) -> None:
        if self._epc.disconnected:
            raise self._epc._disconnected()

    async def _write_uints(
        self, width: int, pairs: Sequence[tuple[int, int]], *, pointers: bool
    ) -> None:
        self._check()
        native.write_uints(width, list(pairs), checked=True)

    async def _write_buffers(self, pairs: Sequence[tuple[int, bytes]]) -> None:
        self._check()
        native.write_buffers(list(pairs), checked=True)

    async def _read_uints(
        self, width: int, addresses: Sequence[int], *, pointers: bool
    ) -> list[int]:
        self._check()
        return native.read_uints(width, list(addresses), checked=True)

    async def _read_buffers(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        self._check()
        return native.read_buffers(list(ranges), checked=True)

    async def _read_strings(self, addresses: Sequence[int]) -> list[str]:
        self._check()
        raw = native.read_cstrings(list(addresses), limit=_CSTRING_LIMIT, checked=True)
        return [item.decode("utf-8", "surrogateescape") for item in raw]


class InProcessEPC(ExecutorProcessControl):
    """The EPC of an executor Session in this process (see the module docstring).

    Made by `open_inprocess_executor`, never by the constructor. One event loop (the Session
    runs on it); any number of tasks.
    """

    def __init__(
        self,
        *,
        llvm_major: int,
        name: str,
        guarded: bool,
        handlers: Mapping[int, Handler] | None,
        on_unanswered: Unanswered | None,
        error_reporter: ErrorReporter | None,
    ) -> None:
        super().__init__(handlers=handlers, on_unanswered=on_unanswered)
        self._requested_major = llvm_major
        self._name = name
        self._guarded = guarded
        self._error_reporter = error_reporter
        loop = asyncio.get_running_loop()
        self._stop: asyncio.Future[None] = loop.create_future()
        self._session: Session | None = None
        self._pending: set[asyncio.Future[bytes]] = set()
        self._calls: set[asyncio.Future[bytes]] = set()  # the Session's side of each call
        self._closing = False
        self._link_reason: str | None = None
        self._host: asyncio.Task[None] | None = None
        self._disconnect_task: asyncio.Task[None] | None = None

    @property
    def session(self) -> Session:
        """The executor Session (for its own API: wrappers, statistics, ...)."""
        if self._session is None:
            raise RuntimeError("the in-process executor has not started")
        return self._session

    @property
    def disconnected(self) -> bool:
        """True once `disconnect` began or the Session detached."""
        return self._closing or self._link_reason is not None

    async def _start(self) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._host = asyncio.create_task(self._run(ready), name=f"{self._name}-host")
        try:
            await ready
        except BaseException:
            await self.disconnect()
            raise

    async def _run(self, ready: asyncio.Future[None]) -> None:
        try:
            async with open_executor_session(
                self._requested_major,
                name=self._name,
                guarded=self._guarded,
                error_reporter=self._error_reporter,
            ) as executor:
                await executor.session.attach(_Access(self), name=f"{self._name}.controller")
                self._session = executor.session
                self._accept_setup(executor.info, self._requested_major, check=True)
                ready.set_result(None)
                await self._stop
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
                return
            raise

    def _link_closed(self, reason: BaseException | None) -> None:
        if self._link_reason is None:
            self._link_reason = (
                _CONTROLLER_DISCONNECTED
                if self._closing
                else f"the executor Session detached{f': {reason}' if reason else ''}"
            )

    def _disconnected(self) -> DisconnectedError:
        return disconnected_error(self._link_reason or _CONTROLLER_DISCONNECTED)

    def _make_memory_access(self) -> EPCMemoryAccess:
        return _DirectMemoryAccess(self)

    async def call_wrapper(
        self, address: int, args: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Call the Session's wrapper at ``address`` (see the ABC); out-of-band errors keep
        their text (``RemoteCallError``)."""
        if self.disconnected:
            raise self._disconnected()
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        call = asyncio.ensure_future(self.session.call_wrapper(address, args))
        self._calls.add(call)

        def forward(done: asyncio.Future[bytes]) -> None:
            self._calls.discard(done)
            self._pending.discard(reply)
            if reply.done():
                if not done.cancelled():
                    done.exception()  # retrieved: the caller has gone
                return
            if done.cancelled():
                reply.cancel()
            elif (error := done.exception()) is not None:
                reply.set_exception(error)
            else:
                reply.set_result(done.result())

        self._pending.add(reply)
        call.add_done_callback(forward)
        try:
            async with asyncio.timeout(timeout):
                return await reply
        finally:
            self._pending.discard(reply)

    async def disconnect(self) -> None:
        """End the session: pending calls fail at once; the Session detaches and shuts down
        (JIT'd code still running is waited for). Idempotent."""
        if self._disconnect_task is None:
            self._disconnect_task = asyncio.create_task(
                self._disconnect(), name=f"{self._name}-disconnect"
            )
        await asyncio.shield(self._disconnect_task)

    async def _disconnect(self) -> None:
        self._closing = True
        error = disconnected_error(_CONTROLLER_DISCONNECTED)
        for reply in list(self._pending):
            if not reply.done():
                reply.set_exception(error)
        self._pending.clear()
        if not self._stop.done():
            self._stop.set_result(None)
        try:
            if self._host is not None:
                await self._host
        finally:
            self._link_closed(None)
            await self._stop_handlers()
            # Calls the Session never answered (it has ended) must not outlive the EPC.
            for call in list(self._calls):
                call.cancel()
            await asyncio.gather(*self._calls, return_exceptions=True)


def open_inprocess_executor(
    llvm_major: int = 22,
    *,
    name: str = "inprocess-executor",
    guarded: bool = True,
    handlers: Mapping[int, Handler] | None = None,
    on_unanswered: Unanswered | None = None,
    error_reporter: ErrorReporter | None = None,
) -> EPCOpener[InProcessEPC]:
    """An orcrt executor Session in this process and its EPC (await it, or ``async with``).

    Args:
        llvm_major: which LLVM version's bootstrap the Session offers and the EPC speaks (one
            of `SUPPORTED_LLVM_MAJORS`; 14 has no memory-read or run_as_void/int wrappers,
            but memory access is direct here anyway).
        name: the Session's name.
        guarded: refuse to run code outside memory the Session initialized (default).
        handlers: executor -> controller handlers by tag.
        on_unanswered: told about each executor call answered with an error (default: log).
        error_reporter: the Session's reporter of errors without a caller (default: logging).

    Raises:
        ValueError: ``llvm_major`` is not supported (the message lists what is).
    """
    check_llvm_major(llvm_major)

    async def start() -> InProcessEPC:
        epc = InProcessEPC(
            llvm_major=llvm_major,
            name=name,
            guarded=guarded,
            handlers=handlers,
            on_unanswered=on_unanswered,
            error_reporter=error_reporter,
        )
        await epc._start()
        return epc

    return EPCOpener(start())
