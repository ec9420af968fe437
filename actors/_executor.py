"""The executor: one Session per controller link, serving LLVM's SimpleRemoteEPC protocol.

`serve_pipes` is what ``llvm-jitlink -oop-executor`` starts (``filedescs=R,W``); `serve_socket`
serves one accepted TCP connection; `serve_listener` accepts up to ``max_sessions``
connections, each with its own, independent Session in this process. Each returns the exit
status: 0 when the controller ended the session cleanly (EOF at a frame boundary, or Hangup),
1 when the link failed (a protocol error, I/O error, EOF inside a frame); the reason goes to
the error reporter.

`open_executor_session` is the same executor without a link: a Session in this process with
the bootstrap services of one LLVM version, for a controller in this process (the
in-process EPC of ``actors.orc``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable

import attrs

import native
import protocol

from ._actor import ErrorReporter
from ._bootstrap import BootstrapOptions, install_bootstrap
from ._dispatcher import ThreadPoolDispatcher
from ._native_wrappers import native_sync_wrapper
from ._session import Session, open_session
from ._stream import StreamControllerAccess

__all__ = [
    "ExecutorOptions",
    "ExecutorSession",
    "open_executor_session",
    "process_triple",
    "serve_listener",
    "serve_pipes",
    "serve_socket",
]


@attrs.frozen(kw_only=True)
class ExecutorOptions:
    """How an executor session behaves.

    ``llvm_major``: the controller's LLVM major (one of `protocol.SUPPORTED_LLVM_MAJORS`); the
    executor speaks first, so it must be known up front. ``guarded``: refuse native calls outside memory this Session
    initialized and symbols it resolved (LLVM's executor has no such guard).
    ``max_frame_size``: the largest frame accepted from the controller.
    ``busy_poll_us``: poll the link this long after each answer before sleeping (0 = off).
    """

    llvm_major: int
    guarded: bool = True
    max_frame_size: int = protocol.DEFAULT_MAX_FRAME_SIZE
    busy_poll_us: float = 0.0


def process_triple() -> str:
    """The target triple of this process, spelled as LLVM's executor reports it on Linux."""
    machine = os.uname().machine
    vendor = "pc" if machine in ("x86_64", "i686", "i386") else "unknown"
    return f"{machine}-{vendor}-linux-gnu"


async def _install_services(
    session: Session, llvm_major: int, guarded: bool
) -> protocol.ExecutorInfo:
    """Install the executor's services of ``llvm_major`` into ``session``; what Setup says."""
    services = await install_bootstrap(
        session, BootstrapOptions(llvm_major=llvm_major, guarded=guarded)
    )
    await session.configure_native_calls(native_sync_wrapper, guarded=guarded)
    return protocol.ExecutorInfo(
        triple=process_triple(),
        page_size=native.page_size(),
        bootstrap_symbols=services.symbols,
    )


@attrs.frozen(kw_only=True, eq=False)
class ExecutorSession:
    """What `open_executor_session` yields: the Session and what its Setup would say.

    Attributes:
        session: the executor Session (attach a controller access to it to receive its
            calls to the controller).
        info: triple, page size and the bootstrap symbols (name -> executor address of each
            bootstrap wrapper; call them with ``session.call_wrapper``).
    """

    session: Session
    info: protocol.ExecutorInfo


@contextlib.asynccontextmanager
async def open_executor_session(
    llvm_major: int,
    *,
    name: str = "executor",
    guarded: bool = True,
    error_reporter: ErrorReporter | None = None,
) -> AsyncIterator[ExecutorSession]:
    """An executor Session in this process with the bootstrap services of LLVM ``llvm_major``.

    The same services `serve_pipes` offers a controller (memory and dylib managers, memory
    access, run-as-main/void/int, the native dispatch entry for JIT'd code), without a link:
    a controller in this process calls the wrappers by address (``session.call_wrapper``) and
    attaches its own ``ControllerAccess`` for the calls JIT'd code makes to it. The Session
    shuts down when the block ends (memory it handed out is released then). Called from a
    coroutine on the loop the Session will run on.

    Args:
        llvm_major: the LLVM major whose bootstrap is offered (`protocol.SUPPORTED_LLVM_MAJORS`).
        name: the Session's name (logs, errors).
        guarded: refuse native calls outside memory this Session initialized and symbols it
            resolved (see `ExecutorOptions`).
        error_reporter: receives errors that have no caller (default: logging).

    Raises:
        ValueError: ``llvm_major`` is not supported (the message lists what is).
    """
    protocol.llvm_protocol(llvm_major)  # before a Session exists: a plain ValueError
    async with open_session(name=name, error_reporter=error_reporter) as session:
        info = await _install_services(session, llvm_major, guarded)
        yield ExecutorSession(session=session, info=info)


async def _serve(
    make_access: Callable[[bytes], StreamControllerAccess],
    options: ExecutorOptions,
    name: str,
    error_reporter: ErrorReporter | None,
    on_ready: Callable[[], object] | None = None,
) -> int:
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[BaseException | None] = loop.create_future()

    def on_detach(reason: BaseException | None) -> None:
        if not ended.done():
            ended.set_result(reason)

    blocking = ThreadPoolDispatcher(initializer=native.enter_jit_thread)
    async with open_session(
        name=name, error_reporter=error_reporter, blocking_dispatcher=blocking
    ) as session:
        session.add_on_detach(on_detach)
        info = await _install_services(session, options.llvm_major, options.guarded)
        payload = protocol.encode_setup(info, protocol.setup_layout_for(options.llvm_major))
        await session.attach(make_access(payload), name=f"{name}.controller")
        if on_ready is not None:
            on_ready()
        reason = await ended
    return 0 if reason is None else 1


async def serve_pipes(
    read_fd: int,
    write_fd: int,
    options: ExecutorOptions,
    *,
    error_reporter: ErrorReporter | None = None,
    on_ready: Callable[[], object] | None = None,
) -> int:
    """Serve the controller on two pipe descriptors (``filedescs=R,W``); return the exit status.

    The descriptors are owned (and closed) by the session from now on. ``on_ready()`` is
    called once the link is attached (Setup is on its way), e.g. to end start-up work.
    """
    return await _serve(
        lambda payload: StreamControllerAccess.over_pipes(
            read_fd,
            write_fd,
            payload,
            max_frame_size=options.max_frame_size,
            busy_poll_us=options.busy_poll_us,
        ),
        options,
        "executor",
        error_reporter,
        on_ready,
    )


async def serve_socket(
    sock: socket.socket,
    options: ExecutorOptions,
    *,
    name: str = "executor",
    error_reporter: ErrorReporter | None = None,
) -> int:
    """Serve the controller on an accepted stream socket; return the exit status."""
    return await _serve(
        lambda payload: StreamControllerAccess.over_socket(
            sock,
            payload,
            max_frame_size=options.max_frame_size,
            busy_poll_us=options.busy_poll_us,
        ),
        options,
        name,
        error_reporter,
    )


async def serve_listener(
    host: str,
    port: int,
    options: ExecutorOptions,
    *,
    max_sessions: int = 1,
    error_reporter: ErrorReporter | None = None,
    on_listening: Callable[[str, int], object] | None = None,
) -> int:
    """Listen on ``host:port``; serve up to ``max_sessions`` connections, each in its own
    Session, concurrently; return 0 if every session ended cleanly, else 1.

    ``on_listening(host, port)`` is called once the socket listens (with the real port when
    ``port`` is 0). LLVM's executor accepts exactly one connection: that is ``max_sessions=1``.
    """
    if max_sessions < 1:
        raise ValueError(f"max_sessions must be at least 1, got {max_sessions}")
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    statuses: list[int] = []
    try:
        listener.bind((host, port))
        listener.listen(max_sessions)
        listener.setblocking(False)
        bound_host, bound_port = listener.getsockname()[:2]
        if on_listening is not None:
            on_listening(bound_host, bound_port)
        async with asyncio.TaskGroup() as group:
            for index in range(max_sessions):
                connection, _ = await loop.sock_accept(listener)
                if index + 1 == max_sessions:
                    with contextlib.suppress(OSError):
                        listener.close()  # no further connections are accepted

                async def one(conn: socket.socket = connection, number: int = index) -> None:
                    statuses.append(
                        await serve_socket(
                            conn,
                            options,
                            name=f"executor-{number}",
                            error_reporter=error_reporter,
                        )
                    )

                group.create_task(one())
    finally:
        listener.close()
    return 0 if all(status == 0 for status in statuses) else 1
