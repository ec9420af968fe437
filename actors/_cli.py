"""``orcrt-executor``: a drop-in replacement for LLVM's ``llvm-jitlink-executor``.

    llvm-jitlink -oop-executor=$(which orcrt-executor) prog.o       # pipes: filedescs=R,W
    orcrt-executor --llvm-version 22 listen=127.0.0.1:20000         # TCP, one connection
    llvm-jitlink -oop-executor-connect=127.0.0.1:20000 prog.o

The executor speaks first (it sends Setup, whose layout and services differ between LLVM
versions: `protocol.LLVM_PROTOCOLS`), so it must know the controller's LLVM major before a byte
arrives. In order: ``--llvm-version``, the
``ORCRT_LLVM_VERSION`` environment variable, then the parent process when started by a
controller over pipes (the libLLVM it has mapped, or the ``llvm-NN`` directory of its binary).

This module is the start-up path: it imports only the standard library until the arguments
are understood, so ``--help`` and errors are quick and a session starts lean.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

__all__ = ["detect_controller_llvm_major", "entry", "main"]

ENV_VERSION = "ORCRT_LLVM_VERSION"
# Polling the link briefly after each answer saves the executor's wake-up for the next call
# of a sequential controller (README, Performance). It only pays, and is only fair to the
# controller, when both can run at once: with a single CPU the spin would delay the very
# controller it waits for.
_DEFAULT_BUSY_POLL_US = 100.0
_PROG = "orcrt-executor"
_LOG_LEVELS = ("debug", "info", "warning", "error")


def detect_controller_llvm_major(pid: int) -> int | None:
    """The LLVM major of process ``pid`` (our controller), or None if it cannot be told.

    Reads ``/proc/PID/maps`` for a mapped libLLVM (every dynamically linked LLVM tool, and any
    program using SimpleRemoteEPC through libLLVM), then the path of ``/proc/PID/exe``
    (Debian installs each LLVM under ``/usr/lib/llvm-NN``).
    """
    try:
        with open(f"/proc/{pid}/maps", "rb") as maps:
            # Debian names it libLLVM-15.so or libLLVM.so.19.1 (also libLLVM-19.so).
            match = re.search(rb"libLLVM(?:-|\.so\.)(\d+)", maps.read())
        if match:
            return int(match.group(1))
    except OSError:
        pass
    try:
        match_dir = re.search(r"llvm-(\d+)", os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None
    return int(match_dir.group(1)) if match_dir else None


class _UsageError(Exception):
    pass


def _parse_endpoint(arguments: Sequence[str]) -> tuple[str, tuple[int, int] | tuple[str, int]]:
    endpoint: tuple[str, tuple[int, int] | tuple[str, int]] | None = None
    for argument in arguments:
        key, _, value = argument.partition("=")
        if key == "filedescs":
            read, _, write = value.partition(",")
            if not (read.isdigit() and write.isdigit()):
                raise _UsageError(f"filedescs takes two descriptors, R,W: {argument!r}")
            found: tuple[str, tuple[int, int] | tuple[str, int]] = (
                "pipes",
                (int(read), int(write)),
            )
        elif key == "listen":
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit() or not 0 <= int(port) < 65536:
                raise _UsageError(f"listen takes HOST:PORT: {argument!r}")
            found = ("listen", (host.strip("[]"), int(port)))
        elif argument == "test-jitloadergdb":
            continue  # LLVM 22's executor flag for its own GDB tests; nothing to do here
        else:
            raise _UsageError(
                f"unknown argument {argument!r} (expected filedescs=R,W or listen=HOST:PORT)"
            )
        if endpoint is not None:
            raise _UsageError("give one of filedescs=R,W or listen=HOST:PORT")
        endpoint = found
    if endpoint is None:
        raise _UsageError("missing filedescs=R,W or listen=HOST:PORT")
    return endpoint


def _busy_poll_default() -> float:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return _DEFAULT_BUSY_POLL_US if cpus >= 2 else 0.0


class _Arguments:
    """The parsed command line (the attributes argparse's namespace has)."""

    __slots__ = (
        "busy_poll_us",
        "endpoint",
        "llvm_version",
        "log_level",
        "max_sessions",
        "unguarded",
    )

    def __init__(self) -> None:
        self.endpoint: list[str] = []
        self.llvm_version: int | None = None
        self.unguarded = False
        self.max_sessions = 1
        self.busy_poll_us: float | None = None
        self.log_level = "warning"


def _parse_common(argv: Sequence[str]) -> _Arguments | None:
    """The usual command lines, parsed without argparse (importing and building it costs the
    start-up several ms): options spelled out in full, as ``--name value`` or ``--name=value``,
    then the endpoints. Anything else (help, version, abbreviations, ``--``, a value that
    looks like an option, any error) returns None, and argparse parses it with its messages.
    """
    args = _Arguments()
    converters: dict[str, type[int] | type[float] | type[str]] = {
        "--llvm-version": int,
        "--max-sessions": int,
        "--busy-poll-us": float,
        "--log-level": str,
    }
    index = 0
    while index < len(argv):
        argument = argv[index]
        index += 1
        if not argument.startswith("-"):
            args.endpoint.append(argument)
            continue
        if args.endpoint:
            return None  # an option after the endpoints: argparse's rules
        name, has_value, value = argument.partition("=")
        if name == "--unguarded" and not has_value:
            args.unguarded = True
            continue
        convert = converters.get(name)
        if convert is None:
            return None
        if not has_value:
            if index == len(argv) or argv[index].startswith("-"):
                return None
            value = argv[index]
            index += 1
        try:
            converted = convert(value)
        except ValueError:
            return None
        if name == "--log-level" and converted not in _LOG_LEVELS:
            return None
        setattr(args, name[2:].replace("-", "_"), converted)
    return args if args.endpoint else None


def _parser() -> argparse.ArgumentParser:
    import argparse

    class _VersionAction(argparse.Action):
        """--version, looking the version up only when asked (importlib.metadata is slow)."""

        def __call__(
            self,
            parser: argparse.ArgumentParser,
            namespace: argparse.Namespace,
            values: object,
            option_string: str | None = None,
        ) -> None:
            print(f"{_PROG} {_package_version()}")
            parser.exit()

    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "orcrt's ORC JIT executor: serves an LLVM controller (llvm-jitlink or any "
            "SimpleRemoteEPC program) over pipes or TCP, with the arguments of "
            "llvm-jitlink-executor."
        ),
        epilog=(
            "examples:\n"
            "  llvm-jitlink -oop-executor=$(which orcrt-executor) prog.o\n"
            "  orcrt-executor --llvm-version 22 listen=127.0.0.1:20000\n\n"
            f"The LLVM version comes from --llvm-version, else ${ENV_VERSION}, else the\n"
            "controller that started us over pipes."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "endpoint",
        nargs="+",
        metavar="filedescs=R,W | listen=HOST:PORT",
        help="where the controller is: two pipe descriptors, or an address to listen on",
    )
    parser.add_argument(
        "--llvm-version",
        type=int,
        metavar="N",
        help=f"the controller's LLVM major, {_supported()} (default: ${ENV_VERSION}, else "
        "detected)",
    )
    parser.add_argument(
        "--unguarded",
        action="store_true",
        help="call any address the controller names, as llvm-jitlink-executor does "
        "(default: only code this session loaded, and symbols it resolved)",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=1,
        metavar="N",
        help="listen mode: serve N connections, each in its own session (default 1)",
    )
    parser.add_argument(
        "--busy-poll-us",
        type=float,
        default=None,
        metavar="US",
        help="after each answer, poll the link up to US microseconds before sleeping: "
        f"lower latency for sequential calls, at the cost of CPU (default {_DEFAULT_BUSY_POLL_US:g} "
        "when this process may use two or more CPUs, else 0; 0 turns it off)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=_LOG_LEVELS,
        help="how much to log on stderr (default: warning)",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show the version and exit", nargs=0
    )
    return parser


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("orcrt")
    except PackageNotFoundError:
        return "unknown"


def _resolve_llvm_major(flag: int | None, mode: str) -> int:
    if flag is not None:
        return flag
    env = os.environ.get(ENV_VERSION)
    if env:
        if not env.strip().isdigit():
            raise _UsageError(f"{ENV_VERSION} must be an LLVM major such as 19, not {env!r}")
        return int(env)
    if mode == "pipes":
        detected = detect_controller_llvm_major(os.getppid())
        if detected is not None:
            return detected
    raise _UsageError(
        "cannot tell which LLVM version the controller speaks: pass --llvm-version N "
        f"or set {ENV_VERSION}"
    )


def _supported() -> str:
    from protocol import supported_majors_text

    return supported_majors_text()


def _check_supported(major: int) -> None:
    from protocol import LLVM_PROTOCOLS

    if major not in LLVM_PROTOCOLS:
        raise _UsageError(f"LLVM {major} is not supported (orcrt serves LLVM {_supported()})")


def _one_line_reporter(level: int) -> object:
    log = logging.getLogger("orcrt")

    def report(error: BaseException) -> None:
        print(f"{_PROG}: error: {error}", file=sys.stderr, flush=True)
        if level <= logging.DEBUG:
            log.debug("details", exc_info=error)

    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the executor with command-line ``argv``; return the process exit status.

    0: the controller ended the session cleanly. 1: the session failed (reported on stderr in
    one line). 2: bad arguments.
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = _parse_common(arguments) or _parser().parse_args(arguments)
    level = getattr(logging, args.log_level.upper())
    logging.basicConfig(level=level, format=f"{_PROG}: %(levelname)s: %(message)s")
    try:
        mode, where = _parse_endpoint(args.endpoint)
        major = _resolve_llvm_major(args.llvm_version, mode)
        _check_supported(major)
        if args.max_sessions < 1:
            raise _UsageError("--max-sessions must be at least 1")
        busy_poll_us = _busy_poll_default() if args.busy_poll_us is None else args.busy_poll_us
        if not 0 <= busy_poll_us <= 1_000_000:
            raise _UsageError("--busy-poll-us must be between 0 and 1000000")
    except _UsageError as exc:
        _parser().print_usage(sys.stderr)
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 2

    import native

    try:
        # Before the loop and its threads exist: JIT'd code sees what a C++ host gives it.
        native.prepare_cxx_host()
    except (native.NativeError, OSError) as exc:
        print(
            f"{_PROG}: error: cannot set up the C++ runtime for JIT'd code: {exc}", file=sys.stderr
        )
        return 1

    from . import _executor

    options = _executor.ExecutorOptions(
        llvm_major=major, guarded=not args.unguarded, busy_poll_us=busy_poll_us
    )
    reporter = _one_line_reporter(level)

    async def run() -> int:
        if mode == "pipes":
            read_fd, write_fd = where
            assert isinstance(read_fd, int)
            assert isinstance(write_fd, int)
            return await _executor.serve_pipes(
                read_fd,
                write_fd,
                options,
                error_reporter=reporter,  # type: ignore[arg-type]  # a plain callable
                on_ready=_end_of_start,
            )

        host, port = where
        assert isinstance(host, str)
        assert isinstance(port, int)

        def listening(bound_host: str, bound_port: int) -> None:
            _end_of_start()
            logging.getLogger("orcrt").info("listening on %s:%d", bound_host, bound_port)
            if port == 0:  # the caller needs to learn the port we picked
                print(
                    f"{_PROG}: listening on {bound_host}:{bound_port}", file=sys.stderr, flush=True
                )

        return await _executor.serve_listener(
            host,
            port,
            options,
            max_sessions=args.max_sessions,
            error_reporter=reporter,  # type: ignore[arg-type]  # a plain callable
            on_listening=listening,
        )

    try:
        return _run_loop(run)
    except KeyboardInterrupt:  # only if SIGINT has a Python handler again (embedding)
        return 130
    except Exception as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 1


def _run_loop(run: object) -> int:
    assert callable(run)
    try:
        import uvloop
    except ImportError:
        import asyncio

        return int(asyncio.run(run()))
    return int(uvloop.run(run()))


def _end_of_start() -> None:
    # Start-up (imports, the Session, its actors) creates objects that live as long as the
    # process; collecting while it runs frees nothing and cost ~10 ms (dozens of collections).
    # So collection is off until the executor serves; then the start-up objects are frozen
    # out of later collections, and collection goes on as usual.
    gc.freeze()
    gc.enable()


def entry() -> None:
    """The ``orcrt-executor`` / ``python -m actors`` entry point: `main`, then a C++ host's exit.

    Once the Session has shut down cleanly there is nothing left to release that the OS does
    not release at exit, so the process skips interpreter finalization (tearing down every
    module costs ~20 ms, which the controller waits for in pipe mode): after flushing Python's
    streams it ends with C's ``exit``, as LLVM's executor does, which runs the ``atexit``
    handlers (the standard C++ streams' flush among them), library destructors, and flushes
    C stdio (`native.exit_process`). Never returns.
    """
    gc.disable()  # until the executor serves: see _end_of_start
    status = main()
    try:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        import native

        native.exit_process(status)
