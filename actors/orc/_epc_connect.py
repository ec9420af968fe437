"""The EPC factories: `spawn_executor`, `connect_executor`, and `EPCOpener` (what they return).

`spawn_executor` starts an executor as ``llvm-jitlink -oop-executor`` does: the command with
``filedescs=R,W`` appended, two fresh pipes, stdin from /dev/null (LLVM's
``llvm-jitlink-executor`` of 14 to 22, orcrt's ``orcrt-executor``, anything speaking the
protocol). `connect_executor` reaches one listening on TCP (``listen=HOST:PORT``), as
``-oop-executor-connect`` does. Both return a `SimpleRemoteEPC` once its Setup is read and
checked; whatever goes wrong on the way, the process is reaped and every descriptor closed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeVar

import protocol

from ._epc import ExecutorProcessControl, check_llvm_major, llvm_major_from_path
from ._epc_handlers import Handler, Unanswered
from ._epc_process import ExecutorProcess, start_executor_process
from ._epc_wire import LinkProtocol, SimpleRemoteEPC
from ._opener import Opener

__all__ = [
    "DEFAULT_SETUP_TIMEOUT",
    "EPCOpener",
    "connect_executor",
    "open_pipe_link",
    "spawn_executor",
]

E = TypeVar("E", bound=ExecutorProcessControl)

DEFAULT_SETUP_TIMEOUT: Final = 10.0
"""Seconds an executor may take from start (or connection) to its Setup."""


class EPCOpener(Opener[E]):
    """What the EPC factories return: await it for the EPC, or use it as an async context
    manager (the EPC disconnects when the block ends).

        epc = await spawn_executor(path)            # or:
        async with spawn_executor(path) as epc: ...
        epc = portal.enter(spawn_executor(path))     # from a script, via a BlockingPortal

    Awaited (or entered) at most once.
    """

    async def _close(self, resource: E) -> None:
        await resource.disconnect()


async def open_pipe_link(
    command: Sequence[str],
    *,
    env: Mapping[str, str | None] | None,
    capture_output: bool,
    make_epc: Callable[[ExecutorProcess], SimpleRemoteEPC],
    inherit_stdin: bool = False,
) -> SimpleRemoteEPC:
    """Start ``command filedescs=R,W`` with two fresh pipes and attach our ends to the EPC
    ``make_epc(process)`` makes.

    Raises:
        OSError: the command cannot be run (no descriptor is left open).
    """
    to_executor_r, to_executor_w = os.pipe()
    from_executor_r, from_executor_w = os.pipe()
    full = [*command, f"filedescs={to_executor_r},{from_executor_w}"]
    try:
        process = await start_executor_process(
            full,
            pass_fds=(to_executor_r, from_executor_w),
            env=env,
            capture_output=capture_output,
            inherit_stdin=inherit_stdin,
        )
    except BaseException:
        os.close(to_executor_w)
        os.close(from_executor_r)
        raise
    finally:
        os.close(to_executor_r)  # the child holds its own copies
        os.close(from_executor_w)
    loop = asyncio.get_running_loop()
    read_file = os.fdopen(from_executor_r, "rb", buffering=0)
    write_file = os.fdopen(to_executor_w, "wb", buffering=0)
    epc = make_epc(process)
    try:
        read_transport, _ = await loop.connect_read_pipe(
            lambda: LinkProtocol(epc, reads=True), read_file
        )
        try:
            write_transport, _ = await loop.connect_write_pipe(
                lambda: LinkProtocol(epc, reads=False), write_file
            )
        except BaseException:
            read_transport.close()
            raise
    except BaseException:
        read_file.close()
        write_file.close()
        await process.aclose()
        raise
    epc._attach(read_transport, write_transport)
    return epc


def _argv(command: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    if isinstance(command, str | os.PathLike):
        return [os.fspath(command)]
    argv = [os.fspath(part) for part in command]
    if not argv:
        raise ValueError("the executor command is empty")
    return argv


async def _spawn(
    command: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    llvm_major: int | None,
    env: Mapping[str, str | None] | None,
    capture_output: bool,
    handlers: Mapping[int, Handler] | None,
    on_unanswered: Unanswered | None,
    setup_timeout: float | None,
    check_bootstrap: bool,
    inherit_stdin: bool,
) -> SimpleRemoteEPC:
    argv = _argv(command)
    if llvm_major is None:
        llvm_major = llvm_major_from_path(argv[0])
    if llvm_major is not None:
        if check_bootstrap:
            check_llvm_major(llvm_major)
        protocol.setup_layout_for(llvm_major)  # fail before starting anything
    major = llvm_major

    def make_epc(process: ExecutorProcess) -> SimpleRemoteEPC:
        return SimpleRemoteEPC(
            process,
            False,
            llvm_major=major,
            check_bootstrap=check_bootstrap,
            handlers=handlers,
            on_unanswered=on_unanswered,
        )

    epc = await open_pipe_link(
        argv,
        env=env,
        capture_output=capture_output,
        make_epc=make_epc,
        inherit_stdin=inherit_stdin,
    )
    await epc._wait_setup(setup_timeout)
    return epc


def spawn_executor(
    command: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    llvm_major: int | None = None,
    env: Mapping[str, str | None] | None = None,
    capture_output: bool = False,
    handlers: Mapping[int, Handler] | None = None,
    on_unanswered: Unanswered | None = None,
    setup_timeout: float | None = DEFAULT_SETUP_TIMEOUT,
    check_bootstrap: bool = True,
    inherit_stdin: bool = False,
) -> EPCOpener[SimpleRemoteEPC]:
    """Start an executor over two pipes, as ``llvm-jitlink -oop-executor`` does; its EPC.

    Runs ``command`` (a path, or an argument vector) with ``filedescs=R,W`` appended, and reads
    its Setup. Await the result, or use it as an async context manager (`EPCOpener`).

    Args:
        command: e.g. ``/usr/lib/llvm-14/bin/llvm-jitlink-executor``, or
            ``["orcrt-executor", "--llvm-version", "22"]`` (orcrt's executor must be told).
        llvm_major: the LLVM major to speak (`SUPPORTED_LLVM_MAJORS`). Default: from the path
            (``…/llvm-NN/…``), else recognised from the Setup
            (`protocol.recognise_llvm_protocol`).
        env: applied on top of this process's environment (None removes a variable).
        capture_output: drain the executor's stdout/stderr into `SimpleRemoteEPC.process`
            instead of letting it inherit ours (where JIT'd output then appears).
        handlers: executor -> controller handlers by tag, registered before the Setup is read.
        on_unanswered: told about each executor call answered with an error (default: log).
        setup_timeout: seconds until the Setup must have arrived.
        check_bootstrap: require the generation's bootstrap symbols (tests of executors
            switch this off).
        inherit_stdin: give the executor our stdin instead of /dev/null (llvm-jitlink does:
            JIT'd code may read the user's input).

    Raises:
        OSError: the command cannot be run.
        ValueError: ``llvm_major`` (given or from the path) is not supported.
        MissingBootstrapSymbolError: the Setup lacks a symbol the generation needs (named;
            no call was sent).
        protocol.ProtocolError: the first frame is not a Setup, or not of the expected layout.
        DisconnectedError: the executor exited before its Setup (message: how, and its stderr
            when captured).
        TimeoutError: no Setup within ``setup_timeout`` seconds.
        In every case the process is killed and reaped and the pipes are closed.
    """
    return EPCOpener(
        _spawn(
            command,
            llvm_major=llvm_major,
            env=env,
            capture_output=capture_output,
            handlers=handlers,
            on_unanswered=on_unanswered,
            setup_timeout=setup_timeout,
            check_bootstrap=check_bootstrap,
            inherit_stdin=inherit_stdin,
        )
    )


async def _connect(
    host: str,
    port: int,
    *,
    llvm_major: int | None,
    handlers: Mapping[int, Handler] | None,
    on_unanswered: Unanswered | None,
    setup_timeout: float | None,
    check_bootstrap: bool,
) -> SimpleRemoteEPC:
    if llvm_major is not None:
        if check_bootstrap:
            check_llvm_major(llvm_major)
        protocol.setup_layout_for(llvm_major)
    epc = SimpleRemoteEPC(
        None,
        True,
        llvm_major=llvm_major,
        check_bootstrap=check_bootstrap,
        handlers=handlers,
        on_unanswered=on_unanswered,
    )
    async with asyncio.timeout(setup_timeout):
        transport, _ = await asyncio.get_running_loop().create_connection(
            lambda: LinkProtocol(epc, reads=True), host, port
        )
    epc._attach(transport, transport)
    await epc._wait_setup(setup_timeout)
    return epc


def connect_executor(
    host: str,
    port: int,
    *,
    llvm_major: int | None = None,
    handlers: Mapping[int, Handler] | None = None,
    on_unanswered: Unanswered | None = None,
    setup_timeout: float | None = DEFAULT_SETUP_TIMEOUT,
    check_bootstrap: bool = True,
) -> EPCOpener[SimpleRemoteEPC]:
    """Connect to an executor listening on ``host:port`` (``listen=HOST:PORT``); its EPC.

    As ``llvm-jitlink -oop-executor-connect``. The EPC owns no process; `disconnect` shuts the
    socket down for writing first, which LLVM's executors need to notice the end. Arguments as
    `spawn_executor` (``llvm_major`` default: from the Setup's layout).

    Raises:
        OSError: the connection was refused.
        TimeoutError: no connection, or no Setup, within ``setup_timeout`` seconds.
        ValueError, MissingBootstrapSymbolError, protocol.ProtocolError, DisconnectedError:
            as `spawn_executor`.
    """
    return EPCOpener(
        _connect(
            host,
            port,
            llvm_major=llvm_major,
            handlers=handlers,
            on_unanswered=on_unanswered,
            setup_timeout=setup_timeout,
            check_bootstrap=check_bootstrap,
        )
    )
