"""The warm start's per-user server (``orcrt-warm-server``): start-up, then `WarmLoop`.

The launcher (``orcrt-executor`` with ``ORCRT_WARM`` set, ``actors/_warm_launcher.c``) starts it
when nobody answers at its socket: detached (own session, stdio on /dev/null and a log file
beside the socket, working directory /, umask 077). At start it imports every module of
``actors``, ``actors.orc`` (but the IR layers), ``actors.orc.jitlink``, ``native`` and
``protocol`` and what an executor session or orcrt-jitlink imports lazily, loads the
native shim and maps the C++ runtime libraries (mapping only: `native.prepare_cxx_host` still
runs in every child, as in a cold executor), freezes the heap out of garbage collection (a
child then never walks, or dirties, the server's objects), binds and listens, asks servers of
older states of the same installation to retire, and tells the launcher it is ready (a byte on
``--ready-fd``). `actors._warm_loop.WarmLoop` does the rest.

The socket lives in a directory only this user can enter (``$XDG_RUNTIME_DIR/orcrt-warm``, else
``${TMPDIR:-/tmp}/orcrt-warm-UID``; ours, mode 0700, not a symlink: checked by the launcher and
again here); its name, ``<installation>-<state>.sock``, is a hash of the launcher's path and of
the installed files and ``PYTHON*``/``LD_*`` variables, so an upgrade gets a new server.
``ORCRT_WARM_IDLE_S`` (seconds, default 600) is how long it waits without a launch.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import resource
import signal
import socket
from collections.abc import Sequence
from typing import Final

from . import _warm_wire as wire
from ._warm_loop import WarmLoop, log

__all__ = ["DEFAULT_IDLE_TIMEOUT", "main", "preload"]

DEFAULT_IDLE_TIMEOUT: Final = 600.0
"""Seconds without a launch (and without a running executor) before the server exits."""

ENV_IDLE: Final = "ORCRT_WARM_IDLE_S"
_PROG: Final = "orcrt-warm-server"
_BACKLOG: Final = 128
# The packages whose every module is imported at start: an executor's and orcrt-jitlink's.
_PACKAGES: Final = ("actors", "actors.orc", "actors.orc.jitlink", "native", "protocol")
# Modules of those that only the IR layers and LLJIT use: they import llvmlite (LLVM itself),
# which no program the server forks needs, and which would then sit in every executor.
_NOT_PRELOADED: Final = frozenset(
    f"actors.orc.{stem}"
    for stem in (
        "_cod",
        "_ir",
        "_ir_compile",
        "_ir_layers",
        "_ir_partition",
        "_lljit",
        "_lljit_builder",
    )
)
# Modules an executor session or an orcrt-jitlink run imports lazily; imported here once so no
# child pays for them (tests/executor/test_warm_preload.py checks that none is missing).
_PRELOAD: Final = (
    "uvloop",
    "concurrent.futures.thread",
    "queue",
    "asyncio.subprocess",
    "asyncio.unix_events",
)


class _StartError(Exception):
    pass


def _check_private_dir(path: str) -> None:
    """The socket's directory: ours, a real directory, no access for group or others."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise _StartError(f"cannot use {path}: {exc.strerror}") from exc
    import stat

    if not stat.S_ISDIR(info.st_mode):
        raise _StartError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise _StartError(f"{path} belongs to uid {info.st_uid}, not to uid {os.getuid()}")
    if info.st_mode & 0o077:
        raise _StartError(f"{path} has mode {info.st_mode & 0o777:03o}: others may enter it")


def preload() -> None:
    """Import what an executor session and an orcrt-jitlink run import, load the shim and map
    the C++ runtime libraries.

    Called once by the server at start (and by tests, in a process of their own); importing is
    all it does to this process besides mapping those libraries. Raises ImportError or OSError
    when the installation is broken.
    """
    import ctypes

    import native

    for name in _PACKAGES:
        package = importlib.import_module(name)
        for directory in package.__path__:
            for file in sorted(os.listdir(directory)):
                stem, _dot, suffix = file.partition(".")
                module = f"{name}.{stem}"
                if (
                    suffix == "py"
                    and stem.isidentifier()
                    and stem not in ("__init__", "__main__")
                    and module not in _NOT_PRELOADED
                ):
                    importlib.import_module(module)
    for name in _PRELOAD:
        importlib.import_module(name)
    native.load_shim()
    for library in native.CXX_RUNTIME_LIBRARIES:
        # Mapped once, shared by every child; each child's prepare_cxx_host still loads them
        # (then only a reference count) and sets the streams up itself.
        ctypes.CDLL(library, mode=os.RTLD_NOW | os.RTLD_GLOBAL)


def _raise_soft_limits() -> None:
    # The launcher that started us may have lowered soft limits for itself; a child gets the
    # limits of its own launcher anyway, so the server runs with what it may.
    for number in _limit_numbers():
        try:
            soft, hard = resource.getrlimit(number)
            if soft != hard:
                resource.setrlimit(number, (hard, hard))
        except (OSError, ValueError):
            continue


def _limit_numbers() -> list[int]:
    return sorted({getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")})


def _bind(path: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a stale socket: the launcher holds the lock and found nobody there
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(_BACKLOG)
        listener.setblocking(False)
    except OSError:
        listener.close()
        raise
    return listener


def _retire_siblings(path: str) -> None:
    """Ask the servers of older states of this installation to stop taking launches."""
    directory, name = os.path.split(path)
    family = name.split("-", 1)[0]
    for other in sorted(os.listdir(directory)):
        if other == name or not other.startswith(f"{family}-") or not other.endswith(".sock"):
            continue
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            try:
                sock.connect(os.path.join(directory, other))
                sock.recv(8)
                sock.sendall(wire.HEADER.pack(wire.REQUEST_MAGIC, wire.KIND_RETIRE, 0))
            except OSError:
                continue  # dead or busy: a launcher of that state replaces or uses it
        log(f"asked the server at {other} to retire")


def _idle_timeout() -> float:
    text = os.environ.get(ENV_IDLE, "")
    try:
        value = float(text) if text else DEFAULT_IDLE_TIMEOUT
    except ValueError:
        raise _StartError(f"{ENV_IDLE} must be a number of seconds, not {text!r}") from None
    if not value > 0:
        raise _StartError(f"{ENV_IDLE} must be positive, not {text!r}")
    return value


def _start(path: str, ready_fd: int) -> WarmLoop:
    directory = os.path.dirname(path) or "."
    _check_private_dir(directory)
    idle = _idle_timeout()
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError) as exc:
        raise _StartError(f"this kernel has no pidfd_open ({exc})") from exc
    _raise_soft_limits()
    preload()
    gc.collect()
    gc.freeze()  # children start with a heap the collector never walks (fewer copied pages)
    listener = _bind(path)
    server = WarmLoop(path, listener, idle)
    _retire_siblings(path)
    os.write(ready_fd, b"R")
    os.close(ready_fd)
    log(f"serving at {path} (idle timeout {idle:g} s)")
    return server


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # leave serve() through its cleanup (the socket file)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``orcrt-warm-server`` entry point; the launcher runs it, not users.

    Returns 0 when the server exited idle or retired, 1 when it could not start (said on
    stderr, which is the log file beside the socket), 2 for bad arguments.
    """
    parser = argparse.ArgumentParser(
        prog=_PROG, description="orcrt's warm-start executor server (started by orcrt-executor)"
    )
    parser.add_argument("--socket", required=True, help="the Unix socket to listen on")
    parser.add_argument("--ready-fd", type=int, required=True, help="written 'R' once listening")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        server = _start(args.socket, args.ready_fd)
    except (_StartError, OSError) as exc:
        log(f"cannot start: {exc}")
        return 1
    try:
        return server.serve()
    finally:
        log("exiting")
