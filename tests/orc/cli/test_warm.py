"""``orcrt-jitlink`` through the warm start (``ORCRT_WARM``): what is special to it.

`test_programs.py` runs every program warm next to llvm-jitlink; the launcher's and server's
robustness (stale and dead servers, upgrades, signals, limits) is the executor's, tested in
``tests/executor/test_warm*.py``: the launcher is one binary under both names. Here: that an
installation has one server for both programs, that the server has imported everything an
orcrt-jitlink run needs (a warm run imports nothing), and that errors read as in a cold run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.orc.jitlink._toolchains import Objects

from ._runs import Run, llvm_tool, run_one
from .conftest import objects_of

pytestmark = [pytest.mark.llvm]

_FORKED = re.compile(
    r"^orcrt-(jitlink|executor): warm: (process|executor) (\d+) forked by server (\d+)$", re.M
)
_NOTE = re.compile(r"^orcrt-(jitlink|executor): warm: ")


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> Objects:
    return objects_of(14, tmp_path_factory)


def _warm(
    orcrt_jitlink: Path,
    env: dict[str, str],
    warm_runtime_dir: Path,
    argv: list[str],
    cold: bool = False,
) -> Run:
    extra = {"XDG_RUNTIME_DIR": str(warm_runtime_dir), "ORCRT_WARM": "0" if cold else "verbose"}
    return run_one([str(orcrt_jitlink), *argv], {**env, **extra})


def _forks(run: Run) -> list[tuple[str, int]]:
    """(program, server pid) of each launch the notes say was forked by a server."""
    return [(m.group(1), int(m.group(4))) for m in _FORKED.finditer(run.stderr)]


def _stderr_without_notes(run: Run) -> str:
    return "".join(line for line in run.stderr.splitlines(True) if not _NOTE.match(line))


def test_one_server_forks_both_programs(
    orcrt_jitlink: Path,
    orcrt_executor: Path,
    env: dict[str, str],
    warm_runtime_dir: Path,
    objects: Objects,
) -> None:
    """orcrt-jitlink and the orcrt-executor it spawns are forked by the same server (one
    socket per installation), and a second run reuses it."""
    hello = str(objects.get("hello.ll", "llc-pic"))
    argv = [f"-oop-executor={orcrt_executor}", hello]
    first = _warm(orcrt_jitlink, env, warm_runtime_dir, argv)
    second = _warm(orcrt_jitlink, env, warm_runtime_dir, argv)
    for run in (first, second):
        assert (run.stdout, run.status) == ("Hello, world!\n", 42), run.show()
        forks = _forks(run)
        assert sorted(program for program, _ in forks) == ["executor", "jitlink"], run.show()
        assert len({server for _, server in forks}) == 1, run.show()
    assert _forks(first)[0][1] == _forks(second)[0][1]
    assert len(list((warm_runtime_dir / "orcrt-warm").glob("*.sock"))) == 1


@pytest.mark.parametrize(
    "executor", ["inprocess", "llvm14", "orcrt"], ids=["inprocess", "llvm14", "orcrt"]
)
def test_a_warm_run_imports_nothing(
    executor: str, orcrt_executor: Path, env: dict[str, str], objects: Objects
) -> None:
    """After the server's preload, linking and running a program (in process, with LLVM's
    executor, with orcrt's) imports no module: the forked child pays for no import. Nor is
    llvmlite (LLVM itself) loaded into the server, which no forked program needs."""
    hello = str(objects.get("hello.ll", "llc-pic"))
    choice = {
        "inprocess": [],
        "llvm14": [f"-oop-executor={llvm_tool(14, 'llvm-jitlink-executor')}"],
        "orcrt": [f"-oop-executor={orcrt_executor}"],
    }[executor]
    script = (
        "import json, sys\n"
        "from actors._warm_server import preload\n"
        "preload()\n"
        "before = set(sys.modules)\n"
        "from actors.orc._jitlink_cli import main\n"
        "status = main(sys.argv[1:])\n"
        "sys.stdout.flush()\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(json.dumps([status, new, 'llvmlite' in sys.modules]), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *choice, hello],
        capture_output=True,
        text=True,
        env={**env, "ORCRT_LLVM_VERSION": "22"},
        timeout=60,
        check=False,
    )
    status, new, llvmlite = json.loads(done.stderr.splitlines()[-1])
    assert (done.stdout, status) == ("Hello, world!\n", 42), done.stderr
    assert new == [], f"imported after the preload: {new}"
    assert not llvmlite


@pytest.mark.parametrize(
    "argv",
    [
        ["nosuch.o"],
        ["-foo", "{hello}"],
        ["-entry=nosuch", "{hello}"],
        ["{undef}"],
        ["-noexec", "{hello}"],
        ["{exit}"],
    ],
    ids=["missing-file", "bad-option", "bad-entry", "undefined", "noexec", "exit-in-jit"],
)
def test_warm_runs_end_as_cold_ones(
    argv: list[str],
    orcrt_jitlink: Path,
    env: dict[str, str],
    warm_runtime_dir: Path,
    objects: Objects,
    tmp_path: Path,
) -> None:
    """Errors, -noexec and exit() inside JIT'd code (in process): the same stdout, stderr
    (once the launcher's notes are left out) and exit status warm as cold."""
    paths = {
        "hello": objects.get("hello.ll", "llc-pic"),
        "undef": objects.get("undef.c", "O0-pic"),
        "exit": objects.get("exit_code.c", "O0-pic"),
    }
    resolved = [arg.format(**{k: str(v) for k, v in paths.items()}) for arg in argv]
    cold = _warm(orcrt_jitlink, env, warm_runtime_dir, resolved, cold=True)
    warm = _warm(orcrt_jitlink, env, warm_runtime_dir, resolved)
    assert _forks(warm), f"not warm: {warm.show()}"
    assert not _forks(cold), cold.show()
    assert (warm.stdout, _stderr_without_notes(warm), warm.status) == (
        cold.stdout,
        cold.stderr,
        cold.status,
    ), f"warm: {warm.show()}\ncold: {cold.show()}"
