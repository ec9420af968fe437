"""ExecutorProcessControl: the controller's handle on the process where JIT'd code runs.

LLVM's ``ExecutorProcessControl`` (EPC) in Python, one interface for three kinds of executor:
LLVM's ``llvm-jitlink-executor`` (14 to 22) or orcrt's ``orcrt-executor`` over pipes or TCP
(`SimpleRemoteEPC`, ``_epc_wire``; made by ``_epc_connect``), and an orcrt executor Session in
this process (`InProcessEPC`, ``_epc_inprocess``). Everything above the transport is written once, here and
in the service clients, in terms of one primitive: `ExecutorProcessControl.call_wrapper`
(call the wrapper function at an executor address with argument bytes, get result bytes).

Theory of operation
-------------------
- Setup. The executor describes itself once (orcv2-reference.md §4.1): triple, page size,
  bootstrap symbols (17+: and a bootstrap map). The EPC keeps them, fixes the LLVM version it
  speaks to (its row of `protocol.LLVM_PROTOCOLS`: versions differ in memory-manager and dylib
  protocols) and checks that the symbols that version needs are there, naming the first
  missing one with LLVM's text before any call is sent.
- Services are clients of bootstrap wrappers, made on first use: `memory_manager`
  (``EPCGenericJITLinkMemoryManager``'s protocol), `memory_access`, `dylibs`; and the
  ``run_as_*`` calls. Each looks its wrapper up by name when called, so an executor lacking an
  optional wrapper fails only the feature that needs it (`MissingBootstrapSymbolError`).
- Executor -> controller calls name a *tag* (an executor address, usually of a symbol the
  controller planted). A handler registered for the tag answers; any other tag gets LLVM's
  out-of-band error ``No function registered for tag 0x…`` and the call is reported to
  ``on_unanswered``; nothing crashes or hangs. Each incoming call runs in a task of its own,
  so a handler may call the executor back while JIT'd code waits for it.
- Errors carried as values by the executor's wrappers become `ExecutorCallError`; transport
  trouble becomes ``actors.DisconnectedError`` naming the cause; out-of-band errors
  ``actors.RemoteCallError``.

Everything runs on the event loop that created the EPC; none of it is thread-safe. Scripts
without a loop use ``actors.orc.BlockingPortal`` (``portal.enter(spawn_executor(...))``, then
``portal.call(epc.run_as_main, ...)``).
"""

from __future__ import annotations

import abc
import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Protocol, Self, TypeVar

import attrs

import protocol
from actors import DisconnectedError, RemoteCallError
from protocol import ExecutorInfo

from ._epc_dylibs import EPCDylibManager
from ._epc_errors import ExecutorCallError, MissingBootstrapSymbolError
from ._epc_handlers import Handler, Unanswered, UnansweredCall, log_unanswered
from ._epc_memory import EPCMemoryAccess, EPCMemoryManager, WrapperMemoryAccess

__all__ = [
    "SUPPORTED_LLVM_MAJORS",
    "CallSignature",
    "ExecutorProcessControl",
    "JITDispatchInfo",
    "check_llvm_major",
    "disconnected_error",
    "llvm_major_from_path",
    "required_bootstrap_symbols",
]


R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

SUPPORTED_LLVM_MAJORS: Final = protocol.SUPPORTED_LLVM_MAJORS
"""The LLVM majors an EPC speaks: the rows of the version table, `protocol.LLVM_PROTOCOLS`."""

_LLVM_PREFIX: Final = re.compile(r"(?:^|/)llvm-(\d+)/")


def required_bootstrap_symbols(llvm_major: int) -> tuple[str, ...]:
    """The bootstrap symbols a controller of LLVM ``llvm_major`` needs at setup (the row's
    ``required``: what LLVM's SimpleRemoteEPC of that version fails without). Pure; any thread.

    Raises:
        ValueError: ``llvm_major`` is not one of `SUPPORTED_LLVM_MAJORS`.
    """
    return protocol.llvm_protocol(llvm_major).required


def check_llvm_major(llvm_major: int) -> None:
    """Raise ValueError naming the supported majors unless ``llvm_major`` is one of them."""
    protocol.llvm_protocol(llvm_major)


def llvm_major_from_path(path: str) -> int | None:
    """The LLVM major of a tool installed under ``…/llvm-NN/…`` (Debian's layout), else None.

    ``/usr/lib/llvm-14/bin/llvm-jitlink-executor`` gives 14. Pure; any thread.
    """
    match = _LLVM_PREFIX.search(path)
    return int(match.group(1)) if match else None


def _signed32(value: int) -> int:
    """``value`` truncated to a signed 32-bit int, as LLVM's runAsMain returns it."""
    return ((value + (1 << 31)) & 0xFFFF_FFFF) - (1 << 31)


class CallSignature(Protocol[R_co]):
    """What `ExecutorProcessControl.call_sps` needs of a signature; `protocol.WrapperSignature`
    fits. Covariant in the result type, so a result can be assigned to a wider type."""

    @property
    def name(self) -> str:
        """The wrapper's symbol name (the default call target)."""
        ...

    def encode_args(self, *values: Any) -> bytes:
        """Serialize one call's arguments."""
        ...

    def decode_result(self, data: bytes) -> R_co:
        """Decode a Result payload (raises `protocol.DecodeError`, also for an empty one)."""
        ...


@attrs.frozen(kw_only=True)
class JITDispatchInfo:
    """Where JIT'd code calls the controller: ``fn(ctx, tag, arg_data, arg_size)``.

    The values of the bootstrap symbols ``__llvm_orc_SimpleRemoteEPC_dispatch_fn`` and
    ``…_dispatch_ctx``; ORC defines ``__orc_rt_jit_dispatch`` and ``…_ctx`` as these.

    Attributes:
        fn: the native dispatch function's address.
        ctx: the context pointer to pass as its first argument.
    """

    fn: int
    ctx: int


class ExecutorProcessControl(abc.ABC):
    """An executor process's services, reached by calls of its wrapper functions.

    Made by `spawn_executor`, `connect_executor` or `open_inprocess_executor` (which return
    once the Setup is read and checked), never by the constructor. Use from the loop that made
    it; any number of tasks may call at once (calls are pipelined). Use it as an async context
    manager, or call `disconnect`, so the link is closed and what it started is cleaned up.

    After `disconnect` (or once the link is lost), every call raises
    ``actors.DisconnectedError`` naming the cause.
    """

    def __init__(
        self,
        *,
        handlers: Mapping[int, Handler] | None = None,
        on_unanswered: Unanswered | None = None,
    ) -> None:
        self._info: ExecutorInfo | None = None
        self._llvm_major = 0
        self._protocol: protocol.LLVMProtocol | None = None
        self._handlers: dict[int, Handler] = {}
        for tag, handler in (handlers or {}).items():
            self.register_handler(tag, handler)
        self._on_unanswered = on_unanswered or log_unanswered
        self._handler_tasks: set[asyncio.Task[None]] = set()
        self._memory_manager: EPCMemoryManager | None = None
        self._memory_access: EPCMemoryAccess | None = None
        self._dylibs: EPCDylibManager | None = None

    def __repr__(self) -> str:
        if self._info is None:
            return f"<{type(self).__name__} starting>"
        state = "disconnected" if self.disconnected else "connected"
        return f"<{type(self).__name__} llvm={self._llvm_major} {self._info.triple} {state}>"

    # -- Setup ------------------------------------------------------------------------------

    def _accept_setup(self, info: ExecutorInfo, llvm_major: int, *, check: bool) -> None:
        """Keep the executor's Setup; with ``check``, require the generation's symbols."""
        if check:
            for name in required_bootstrap_symbols(llvm_major):
                if name not in info.bootstrap_symbols:
                    raise MissingBootstrapSymbolError(name)
        self._info = info
        self._llvm_major = llvm_major
        self._protocol = protocol.llvm_protocol(llvm_major)

    @property
    def info(self) -> ExecutorInfo:
        """The executor's Setup: triple, page size, bootstrap map and symbols."""
        if self._info is None:
            raise RuntimeError(f"{type(self).__name__} has not read the executor's Setup yet")
        return self._info

    @property
    def triple(self) -> str:
        """The executor's target triple, e.g. ``x86_64-pc-linux-gnu``."""
        return self.info.triple

    @property
    def page_size(self) -> int:
        """The executor's page size in bytes."""
        return self.info.page_size

    @property
    def llvm_major(self) -> int:
        """The LLVM major whose protocol is spoken: given, from the executor's path
        (``…/llvm-NN/…``), or recognised from the Setup (`protocol.recognise_llvm_protocol`:
        e.g. a 15 executor, whose Setup is 14's, is spoken to as 14)."""
        if self._info is None:
            raise RuntimeError(f"{type(self).__name__} has not read the executor's Setup yet")
        return self._llvm_major

    @property
    def llvm_protocol(self) -> protocol.LLVMProtocol:
        """The version-table row of `llvm_major`: which wrapper variants the EPC calls."""
        if self._protocol is None:
            raise RuntimeError(f"{type(self).__name__} has not read the executor's Setup yet")
        return self._protocol

    @property
    def bootstrap_symbols(self) -> Mapping[str, int]:
        """The bootstrap symbols of the Setup, name -> address (read-only)."""
        return self.info.bootstrap_symbols

    @property
    def bootstrap_map(self) -> Mapping[str, bytes]:
        """LLVM 17+'s bootstrap map (key -> SPS bytes; empty on Linux and before 17)."""
        return self.info.bootstrap_map

    def bootstrap_address(self, name: str, detail: str = "") -> int:
        """The address the executor advertised for bootstrap symbol ``name``.

        Raises:
            MissingBootstrapSymbolError: the Setup has no such symbol (``detail`` says what
                needed it).
        """
        try:
            return self.info.bootstrap_symbols[name]
        except KeyError:
            raise MissingBootstrapSymbolError(name, detail) from None

    @property
    def jit_dispatch(self) -> JITDispatchInfo:
        """The executor's dispatch function and context, for JIT'd code calling the controller.

        Raises:
            MissingBootstrapSymbolError: the Setup lacks either symbol.
        """
        return JITDispatchInfo(
            fn=self.bootstrap_address(protocol.DISPATCH_FN_SYMBOL),
            ctx=self.bootstrap_address(protocol.DISPATCH_CTX_SYMBOL),
        )

    # -- services ----------------------------------------------------------------------------

    @property
    def memory_manager(self) -> EPCMemoryManager:
        """The JIT memory manager client (reserve / finalize / release), made on first use."""
        if self._memory_manager is None:
            self._memory_manager = EPCMemoryManager(self)
        return self._memory_manager

    @property
    def memory_access(self) -> EPCMemoryAccess:
        """Batched reads and writes of executor memory, made on first use."""
        if self._memory_access is None:
            self._memory_access = self._make_memory_access()
        return self._memory_access

    def _make_memory_access(self) -> EPCMemoryAccess:
        return WrapperMemoryAccess(self)

    @property
    def dylibs(self) -> EPCDylibManager:
        """The dynamic-library client (open, lookup), made on first use."""
        if self._dylibs is None:
            self._dylibs = EPCDylibManager(self)
        return self._dylibs

    # -- calls -------------------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def disconnected(self) -> bool:
        """True once `disconnect` was called or the link was lost."""

    @abc.abstractmethod
    async def call_wrapper(
        self, address: int, args: bytes, *, timeout: float | None = None
    ) -> bytes:
        """Call the wrapper function at executor ``address`` with ``args``; its result bytes.

        Any number of calls may be outstanding. An empty result from a wire executor may be an
        out-of-band error (the wire cannot carry its text).

        Raises:
            DisconnectedError: the link is gone, before or during the call (names why).
            RemoteCallError: an out-of-band error whose text reached us (in-process).
            TimeoutError: no result within ``timeout`` seconds (the call is abandoned: a late
                result is ignored).
        """

    @abc.abstractmethod
    async def disconnect(self) -> None:
        """End the session: pending calls fail with `DisconnectedError`, the link is closed,
        and whatever the EPC started (a process, a Session) is cleaned up. Idempotent; any
        number of callers, each returns once the cleanup is done."""

    async def call_sps(
        self,
        signature: CallSignature[R],
        *args: Any,
        address: int | str | None = None,
        timeout: float | None = None,
    ) -> R:
        """Call a wrapper with SPS-encoded ``args``; return its decoded result.

        The target is the bootstrap symbol ``signature.name`` unless ``address`` is given (an
        address, or another bootstrap symbol's name). Error values (``SPSError``,
        ``SPSExpected``) come back as `protocol.Failure`, not as exceptions.

        Raises:
            MissingBootstrapSymbolError: the target name is not in the Setup (nothing sent).
            RemoteCallError: an empty result where the signature needs bytes (an out-of-band
                error: see the executor's stderr), or an out-of-band error with its text.
            protocol.EncodeError, TypeError: ``args`` do not fit the signature.
            protocol.DecodeError: the result is malformed for the signature.
            DisconnectedError, TimeoutError: as `call_wrapper`.
        """
        target = signature.name if address is None else address
        where = self.bootstrap_address(target) if isinstance(target, str) else target
        payload = await self.call_wrapper(where, signature.encode_args(*args), timeout=timeout)
        try:
            return signature.decode_result(payload)
        except protocol.DecodeError as exc:
            if payload:
                raise
            raise RemoteCallError(
                f"{signature.name or 'wrapper'} answered with an empty payload "
                "(an out-of-band error; see the executor's stderr)"
            ) from exc

    async def _checked(self, signature: CallSignature[R | protocol.Failure], *args: Any) -> R:
        """`call_sps` of a bootstrap wrapper; an error value raises `ExecutorCallError`."""
        value = await self.call_sps(signature, *args)
        if isinstance(value, protocol.Failure):
            raise ExecutorCallError(value.message, function=signature.name)
        return value

    async def run_as_main(self, address: int, args: Sequence[str] = ()) -> int:
        """Run ``int main(int argc, char **argv)`` at ``address``; its return value.

        ``argv`` is exactly ``args`` plus a NULL: no program name is prepended (argc =
        ``len(args)``), as LLVM's ``runAsMain``. The result is main's int (the executor's i64
        truncated to 32 bits); the OS would reduce it to 8 bits as an exit status.

        Raises:
            RemoteCallError: the executor refused or crashed the call (out-of-band).
            DisconnectedError: the link went away meanwhile (the executor died, say).
        """
        return _signed32(await self.call_sps(protocol.RUN_AS_MAIN, address, list(args)))

    async def run_as_void(self, address: int) -> None:
        """Run ``void fn(void)`` at ``address`` (LLVM 22's ``runAsVoidFunction``).

        Raises:
            MissingBootstrapSymbolError: the executor has no such wrapper (LLVM 14's and 15's
                have not: use `run_as_main`).
            RemoteCallError, DisconnectedError: as `run_as_main`.
        """
        where = self.bootstrap_address(protocol.RUN_AS_VOID.name, _NOT_IN_14)
        await self.call_sps(protocol.RUN_AS_VOID, address, address=where)

    async def run_as_int(self, address: int, argument: int) -> int:
        """Run ``int fn(int)`` at ``address`` with ``argument``; its result.

        Raises:
            MissingBootstrapSymbolError: the executor has no such wrapper (LLVM 14's and 15's
                have not).
            RemoteCallError, DisconnectedError: as `run_as_main`.
        """
        where = self.bootstrap_address(protocol.RUN_AS_INT.name, _NOT_IN_14)
        return await self.call_sps(protocol.RUN_AS_INT, address, argument, address=where)

    # -- executor -> controller calls ----------------------------------------------------------

    def register_handler(self, tag: int, handler: Handler) -> None:
        """Answer the executor's calls to ``tag`` with ``handler(args)``.

        The handler runs in a task of its own on the EPC's loop (so it may call the executor
        back); its bytes are the result; an exception becomes an out-of-band error. Any time,
        also before the first call arrives (handlers given to the factories are registered
        before the Setup is read).

        Raises:
            ValueError: ``tag`` is not a u64, or already has a handler (LLVM:
                ``Tag 0x… already registered``).
        """
        if not 0 <= tag < 1 << 64:
            raise ValueError(f"tag {tag!r} is not a u64")
        if tag in self._handlers:
            raise ValueError(f"Tag {tag:#x} already registered")
        self._handlers[tag] = handler

    def deregister_handler(self, tag: int) -> None:
        """Forget the handler of ``tag`` (later calls get the out-of-band error).

        Raises:
            KeyError: no handler is registered for ``tag``.
        """
        try:
            del self._handlers[tag]
        except KeyError:
            raise KeyError(f"no handler is registered for tag {tag:#x}") from None

    def _start_incoming(
        self,
        seq_no: int,
        tag: int,
        args: bytes,
        answer: Callable[[bytes, str | None], Awaitable[None]],
    ) -> None:
        """Run the handler for an incoming call in a task; ``answer(result, error)`` replies
        (``error`` is the out-of-band reason, then ``result`` is empty)."""
        task = asyncio.create_task(
            self._incoming(seq_no, tag, args, answer), name=f"epc-handler-{tag:#x}"
        )
        self._handler_tasks.add(task)
        task.add_done_callback(self._handler_tasks.discard)

    async def _incoming(
        self,
        seq_no: int,
        tag: int,
        args: bytes,
        answer: Callable[[bytes, str | None], Awaitable[None]],
    ) -> None:
        handler = self._handlers.get(tag)
        result = b""
        reason: str | None = None
        if handler is None:
            reason = f"No function registered for tag {tag:#x}"
        else:
            try:
                outcome = handler(args)
                result = await outcome if inspect.isawaitable(outcome) else outcome
                if not isinstance(result, bytes):
                    raise TypeError(f"handler returned {type(result).__name__}, not bytes")
            except Exception as exc:
                reason = f"handler for tag {tag:#x} raised {type(exc).__name__}: {exc}"
                result = b""
        if reason is not None:
            self._on_unanswered(UnansweredCall(seq_no=seq_no, tag=tag, args=args, reason=reason))
        await answer(result, reason)

    async def _stop_handlers(self) -> None:
        tasks = list(self._handler_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- context manager ----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.disconnect()


_NOT_IN_14 = "LLVM 14's and 15's executors have none: use run_as_main"


def disconnected_error(why: str) -> DisconnectedError:
    """``DisconnectedError("disconnected: <why>")``."""
    return DisconnectedError(f"disconnected: {why}")
