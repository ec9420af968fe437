"""The ``orcrt-executor`` command line: help, version, argument errors and the LLVM version."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import protocol
from actors.testing._wire import WireController, executor_command

ENV = "ORCRT_LLVM_VERSION"
PROG = "orcrt-executor"


def _run(
    *args: str, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the executor with ``args`` (no controller); it must finish within 10 s."""
    environment = dict(os.environ)
    environment.pop(ENV, None)
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run(
        [*executor_command(), *args],
        capture_output=True,
        text=True,
        timeout=10,
        env=environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _usage_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error line of an exit-2 usage error (after argparse's usage line)."""
    assert result.returncode == 2, result
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith(f"{PROG}: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_cli_help_describes_the_arguments() -> None:
    """--help exits 0 and names both endpoints and the version option."""
    result = _run("--help")
    assert result.returncode == 0
    for text in ("filedescs=R,W", "listen=HOST:PORT", "--llvm-version", "--unguarded", ENV):
        assert text in result.stdout


def test_cli_version_prints_the_package_version() -> None:
    """--version prints the installed package version."""
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"{PROG} {version('orcrt')}"


def test_cli_script_next_to_the_interpreter_runs() -> None:
    """The installed ``orcrt-executor`` script (beside sys.executable) is the same program."""
    script = Path(sys.executable).with_name(PROG)
    if not script.exists():
        pytest.skip(f"no {PROG} script next to {sys.executable}")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, f"{PROG} {version('orcrt')}")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "the following arguments are required"),
        (("--llvm-version", "14", "bogus"), "unknown argument 'bogus'"),
        (("--llvm-version", "14", "filedescs=a,b"), "filedescs takes two descriptors"),
        (("--llvm-version", "14", "filedescs=3"), "filedescs takes two descriptors"),
        (("--llvm-version", "14", "listen=nohost"), "listen takes HOST:PORT"),
        (("--llvm-version", "14", "listen=127.0.0.1:99999"), "listen takes HOST:PORT"),
        (("--llvm-version", "14", "filedescs=3,4", "listen=127.0.0.1:0"), "give one of"),
        (("--llvm-version", "22", "--max-sessions", "0", "listen=127.0.0.1:0"), "--max-sessions"),
        (("--llvm-version", "x", "listen=127.0.0.1:0"), "--llvm-version"),
        (("--log-level", "loud", "listen=127.0.0.1:0"), "--log-level"),
        (("--llvm-version", "14", "--busy-poll-us", "-1", "listen=127.0.0.1:0"), "--busy-poll-us"),
    ],
)
def test_cli_bad_arguments_exit_2(args: tuple[str, ...], expected: str) -> None:
    """Bad arguments exit 2 with one error line saying what was wrong."""
    assert expected in _usage_error(_run(*args))


def test_cli_listen_without_version_exits_2() -> None:
    """Listen mode with neither --llvm-version nor the environment variable cannot guess."""
    line = _usage_error(_run("listen=127.0.0.1:0"))
    assert "--llvm-version" in line
    assert ENV in line


def test_cli_pipes_without_version_and_non_llvm_parent_exits_2() -> None:
    """Over pipes the parent is asked; a Python parent has no LLVM, so it is an error."""
    read_fd, write_fd = os.pipe()
    try:
        line = _usage_error(_run(f"filedescs={read_fd},{write_fd}"))
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert "--llvm-version" in line


@pytest.mark.parametrize("major", [13, 23, 99])
def test_cli_unsupported_version_exits_2(major: int) -> None:
    """Only the table's majors (14-22) are served; any other is refused up front, and the
    message lists what is served."""
    line = _usage_error(_run("--llvm-version", str(major), "listen=127.0.0.1:0"))
    assert f"LLVM {major} is not supported" in line
    assert "14-22 (tested: 14, 15, 16, 19, 22; inferred: 17, 18, 20, 21)" in line


def test_cli_bad_environment_version_exits_2() -> None:
    """A non-numeric ORCRT_LLVM_VERSION is refused, naming the variable and the value."""
    line = _usage_error(_run("listen=127.0.0.1:0", env={ENV: "fourteen"}))
    assert ENV in line
    assert "fourteen" in line


@pytest.mark.asyncio
@pytest.mark.timeout(30)
@pytest.mark.parametrize("major", [14, 22])
async def test_cli_environment_version_is_used(major: int) -> None:
    """ORCRT_LLVM_VERSION alone selects the Setup layout."""
    async with await WireController.spawn(major, pass_version=False, env={ENV: str(major)}) as wc:
        assert protocol.MEMORY_RESERVE.name in wc.symbols
        await wc.close()
        assert (await wc.wait()).returncode == 0


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_cli_flag_overrides_the_environment() -> None:
    """--llvm-version wins over ORCRT_LLVM_VERSION."""
    async with await WireController.spawn(22, env={ENV: "14"}) as wc:
        assert protocol.MEMORY_INITIALIZE.name in wc.symbols
        await wc.close()
        assert (await wc.wait()).returncode == 0


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_cli_wrong_version_is_visible_to_the_controller() -> None:
    """A controller expecting 14's layout cannot read a 22 Setup (why the version matters)."""
    with pytest.raises(protocol.DecodeError, match="Setup"):
        await WireController.spawn(14, pass_version=False, env={ENV: "22"})


@pytest.mark.asyncio
@pytest.mark.timeout(30)
@pytest.mark.parametrize("major", [14, 22])
async def test_cli_busy_polling_keeps_every_call_answered(major: int) -> None:
    """With --busy-poll-us, sequential and pipelined calls are answered as without it."""
    async with await WireController.spawn(major, args=("--busy-poll-us", "200")) as wc:
        inst = wc.symbols[protocol.MEMORY_MANAGER_INSTANCE_SYMBOL]
        bases = [await wc.call_sps(protocol.MEMORY_RESERVE, inst, 4096) for _ in range(20)]
        assert len(set(bases)) == 20
        pipelined = await asyncio.gather(
            *(wc.call_sps(protocol.MEMORY_RESERVE, inst, 4096) for _ in range(20))
        )
        assert len(set(pipelined) | set(bases)) == 40
        await wc.close()
        assert (await wc.wait()).returncode == 0


@pytest.mark.parametrize(("cpus", "expected"), [({0}, 0.0), ({0, 1}, 100.0), ({0, 1, 2, 3}, 100.0)])
def test_cli_busy_poll_default_needs_two_cpus(
    monkeypatch: pytest.MonkeyPatch, cpus: set[int], expected: float
) -> None:
    """Busy polling is on by default only when the executor and its controller can both run."""
    from actors import _cli

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus)
    assert _cli._busy_poll_default() == expected


_TOKENS = (
    "--llvm-version", "14", "22", "--llvm-version=22", "--llvm-version=x", "--unguarded",
    "--unguarded=1", "--max-sessions", "2", "--max-sessions=0", "--busy-poll-us", "0", "1e3",
    "--busy-poll-us=-5", "--log-level", "debug", "loud", "--log-level=info", "filedescs=3,4",
    "listen=127.0.0.1:0", "--", "-h", "--llvm", "-5", "--version-typo",
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=7))
def test_cli_common_command_lines_parse_as_argparse_parses_them(argv: list[str]) -> None:
    """The start-up fast path accepts only command lines argparse accepts, with the same
    values; everything else (errors, help, abbreviations) it leaves to argparse."""
    from actors import _cli

    fast = _cli._parse_common(argv)
    if fast is None:
        return
    parsed = vars(_cli._parser().parse_args(argv))  # a SystemExit here fails the test
    assert parsed.pop("version") is None  # --version is argparse's alone (it exits)
    assert parsed == {name: getattr(fast, name) for name in fast.__slots__}


def test_cli_common_parser_takes_the_usual_forms() -> None:
    """What llvm-jitlink and the benchmarks pass is parsed without argparse."""
    from actors import _cli

    parsed = _cli._parse_common(["--llvm-version", "14", "--busy-poll-us=0", "filedescs=3,4"])
    assert parsed is not None
    assert (parsed.llvm_version, parsed.busy_poll_us, parsed.endpoint) == (
        14,
        0.0,
        ["filedescs=3,4"],
    )
    assert _cli._parse_common(["filedescs=5,6"]) is not None
    assert _cli._parse_common(["--help"]) is None
