"""The warm start's forked child: becomes the program the launcher would have exec'd.

The server forks (`actors._warm_server`) and calls `become_program` in the child, which
installs what the launcher sent in place of the server's own process state, then runs the
very entry point the cold start runs: for an executor `actors._cli.entry`, which prepares the
C++ host state (`native.prepare_cxx_host`), serves and ends with C ``exit``; for
``orcrt-jitlink`` `actors.orc._jitlink_cli.entry`, which links and runs the program and ends
with ``os._exit`` after flushing Python's and C's streams. Order matters:

1. descriptors: the launcher's, under their own numbers (0-2 among them; the filedescs pipes);
   every other descriptor (the server's sockets, its log) is closed; the working directory;
2. process group: a new one of its own (signals for the server's group do not reach it, and a
   terminal it opens does not become its controlling terminal);
3. umask and resource limits; then signal dispositions (default, or ignored where the launcher
   ignored them) and the signal mask, as the launcher had them;
4. the environment, exactly the launcher's (so no PEP 538 LC_CTYPE coercion of the server's);
5. Python's ``sys.stdin/stdout/stderr`` rebuilt over the new descriptors (a terminal now gets
   line buffering, as in a fresh interpreter);
6. the arguments; for an executor, when neither ``--llvm-version`` nor ``ORCRT_LLVM_VERSION``
   names the LLVM version, it is detected from the launcher's parent (the controller), as a
   cold executor detects it from its own parent, and passed as ``--llvm-version``.

Runs only in a freshly forked child of a server with no other thread; never returns.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import signal
import socket
import struct
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import _warm_wire as wire
from ._warm_wire import LaunchRequest

__all__ = ["become_program", "standby"]

_UNCATCHABLE = frozenset({signal.SIGKILL, signal.SIGSTOP})


def _install_descriptors(received: Sequence[int], numbers: Sequence[int]) -> None:
    """Put each received descriptor under its launcher number; close everything else."""
    wanted = set(numbers)
    # Out of the way first: a received descriptor may sit on another one's number.
    floor = max([*numbers, *received, 2]) + 1
    parked = []
    for fd in received:
        parked.append(os.dup(fd) if fd >= floor else _dup_at_least(fd, floor))
        os.close(fd)
    for fd, number in zip(parked, numbers, strict=True):
        os.dup2(fd, number, inheritable=True)
        os.close(fd)
    _close_all_but(wanted)


def _dup_at_least(fd: int, floor: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor)


def _apply_limits(limits: Sequence[tuple[int, int]]) -> None:
    for number, (soft, hard) in enumerate(limits):
        as_python = (
            resource.RLIM_INFINITY if soft == 2**64 - 1 else soft,
            resource.RLIM_INFINITY if hard == 2**64 - 1 else hard,
        )
        try:
            resource.setrlimit(number, as_python)
        except ValueError as exc:  # a limit this kernel does not know: not in the request
            raise OSError(f"resource limit {number}: {exc}") from exc


def _apply_signals(blocked: frozenset[int], ignored: frozenset[int]) -> None:
    for number in signal.valid_signals():
        if number in _UNCATCHABLE:
            continue
        wanted = signal.SIG_IGN if number in ignored else signal.SIG_DFL
        if signal.getsignal(number) == wanted:
            continue  # Python's table is exact here: no C code of the server sets handlers
        with contextlib.suppress(OSError, ValueError):  # reserved by the C library (32, 33)
            signal.signal(number, wanted)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked & set(signal.valid_signals()))


def _apply_environment(entries: Sequence[bytes]) -> None:
    os.environb.clear()
    for entry in entries:
        key, equals, value = entry.partition(b"=")
        if equals and key and key not in os.environb:
            os.environb[key] = value  # putenv() in order: C's environ keeps the launcher's order


def _rebuild_stdio() -> None:
    """New ``sys.std*`` over descriptors 0-2, made as the interpreter makes them at start-up
    (create_stdio): line buffered on a terminal (stderr always), raw writes under ``-u``."""
    # -u / PYTHONUNBUFFERED (the server started with the launcher's PYTHON* variables): the
    # interpreter made its own streams write-through then.
    buffered = not getattr(sys.__stdout__, "write_through", False)
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        old = getattr(sys, name)
        try:
            os.fstat(fd)
        except OSError:
            continue  # the launcher had it closed: so has the executor
        writing = fd != 0
        binary = open(  # noqa: SIM115  # the stream lives as long as the process
            fd,
            "wb" if writing else "rb",
            buffering=-1 if buffered or not writing else 0,
            closefd=False,
        )
        stream = io.TextIOWrapper(
            binary,
            encoding=getattr(old, "encoding", None),
            errors=getattr(old, "errors", None),
            newline="\n",
            line_buffering=buffered and (os.isatty(fd) or fd == 2),
            write_through=not buffered,
        )
        setattr(sys, name, stream)


def _arguments(request: LaunchRequest) -> list[str]:
    argv = [os.fsdecode(argument) for argument in request.argv]
    if request.program != wire.LAUNCH_KINDS[wire.KIND_LAUNCH]:
        return argv  # only an executor needs to know its controller's LLVM version
    told = any(a == "--llvm-version" or a.startswith("--llvm-version=") for a in argv[1:])
    if not told and not os.environ.get("ORCRT_LLVM_VERSION"):
        from ._cli import detect_controller_llvm_major

        major = detect_controller_llvm_major(request.parent_pid)
        if major is not None:
            argv[1:1] = ["--llvm-version", str(major)]
    return argv


def become_program(request: LaunchRequest, received: Sequence[int]) -> NoReturn:
    """Turn this forked child into the program the launcher asked for; never returns.

    ``received``: the descriptors that came with the request, the working directory first,
    then one per ``request.fd_numbers``. Every other descriptor of the process is closed; the
    caller detaches the Python objects that own the server's descriptors first. Any failure
    before the program runs is reported on the launcher's stderr and ends the child with
    status 1 (the launcher relays it).
    """
    try:
        cwd, *passed = received
        os.fchdir(cwd)
        os.close(cwd)
        _install_descriptors(passed, request.fd_numbers)
        os.setpgid(0, 0)
        os.umask(request.umask)
        _apply_limits(request.limits)
        _apply_signals(request.blocked_signals, request.ignored_signals)
        _apply_environment(request.environ)
        _rebuild_stdio()
        sys.argv = _arguments(request)
    except BaseException as exc:
        try:
            os.write(2, f"{request.program}: error: warm start failed: {exc}\n".encode())
        finally:
            os._exit(1)
    if request.program == wire.LAUNCH_KINDS[wire.KIND_LAUNCH]:
        from ._cli import entry
    else:
        from .orc._jitlink_cli import entry
    entry()  # the cold start's entry point from here on: it ends the process itself
    os._exit(70)  # not reached


def _close_all_but(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own descriptor is closed already
                os.close(fd)


def _receive(channel: socket.socket) -> tuple[bytes, list[int]] | None:
    """The whole request the server forwards (header included) and its descriptors; None at
    EOF before a request (the server let this standby go)."""
    data = bytearray()
    fds: list[int] = []
    size = None
    while size is None or len(data) < size:
        chunk, ancillary, _flags, _ = channel.recvmsg(1 << 16, socket.CMSG_SPACE(253 * 4))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % 4
                fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
        if not chunk:
            return None
        data += chunk
        if size is None and len(data) >= wire.HEADER.size:
            size = wire.HEADER.size + wire.HEADER.unpack_from(data)[2]
    return bytes(data), fds


def standby(channel: socket.socket) -> NoReturn:
    """A child forked in advance: wait for the next launch, then `become_program`.

    The server forks it after each launch so that the next one costs no fork, and forwards the
    launcher's request to it over ``channel`` (the request as the launcher sent it, and its
    descriptors). Until then it holds nothing but ``channel`` and the server's stdio (it closes
    whatever else it inherited at once: another launch's pipes must not stay open here) and
    sits in a process group of its own. EOF on ``channel`` (the server exits, or replaces it):
    exit 0. Never returns.
    """
    try:
        _close_all_but({0, 1, 2, channel.fileno()})
        os.setpgid(0, 0)
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)  # the server's handlers; a kill is a kill
        received = _receive(channel)
        if received is None:
            os._exit(0)
        raw, fds = received
        _magic, kind, _size = wire.HEADER.unpack_from(raw)
        request = wire.decode_launch(raw[wire.HEADER.size :], kind)
        channel.detach()  # its number is swept with the rest by become_program
    except BaseException as exc:
        try:
            os.write(2, f"orcrt-warm-server: standby {os.getpid()} failed: {exc}\n".encode())
        finally:
            os._exit(1)
    become_program(request, fds)
