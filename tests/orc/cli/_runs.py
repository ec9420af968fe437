"""Running ``orcrt-jitlink`` and ``llvm-jitlink`` as child processes, many at a time.

A run is a command line; `run_all` runs a batch with a bounded number at once (the machine
has two CPUs, and each run is mostly one busy process). Executors are spawned by the
controllers themselves; `ExecutorWrapper` is the interop tests' shell wrapper that records
how the executor ended (status and stderr), which no controller reports.

The children get ``PYTHONPYCACHEPREFIX`` (a directory of the session's temp dir) and write
bytecode there: a Python program started a hundred times should not compile its modules a
hundred times (some sandboxes set ``PYTHONDONTWRITEBYTECODE``, which no installed copy of
orcrt runs with).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.executor._warm import wait_gone
from tests.interop._processes import write_executor_wrapper

__all__ = [
    "PARALLEL",
    "RUN_TIMEOUT",
    "TIMED_OUT",
    "ExecutorWrapper",
    "Run",
    "child_env",
    "find_script",
    "llvm_tool",
    "run_all",
    "run_one",
    "stop_warm_processes",
]

PARALLEL = 2
RUN_TIMEOUT = 60.0  # seconds; a run takes well under one
TIMED_OUT = -1000
"""`Run.status` of a run killed after its timeout (by `run_all`)."""


@dataclass(frozen=True)
class Run:
    """How one command ended."""

    argv: tuple[str, ...]
    stdout: str
    stderr: str
    status: int

    def show(self) -> str:
        """For assertion messages."""
        return (
            f"{' '.join(self.argv)}\n  status {self.status}\n  stdout {self.stdout!r}\n"
            f"  stderr {self.stderr!r}"
        )


def find_script(name: str) -> Path:
    """The installed console script ``name`` (beside this interpreter)."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / name,
        Path(sys.executable).parent / name,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(
        f"{name} is not installed (looked for {', '.join(map(str, candidates))}): "
        "run pip install -e '.[test]'"
    )


def llvm_tool(version: int, name: str) -> Path:
    """``/usr/lib/llvm-N/bin/<name>``, or skip the test naming what is missing."""
    path = Path(f"/usr/lib/llvm-{version}/bin/{name}")
    if not os.access(path, os.X_OK):
        pytest.skip(f"LLVM {version} is not installed (Debian package llvm-{version}): no {path}")
    return path


def child_env(pycache: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child: bytecode cached under ``pycache``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(extra or {})
    return env


def run_one(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = RUN_TIMEOUT,
) -> Run:
    """Run ``argv`` to its end (stdin: the text given, else /dev/null); a hang raises
    ``subprocess.TimeoutExpired`` after ``timeout`` seconds (the child is killed)."""
    done = subprocess.run(
        list(argv),
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        env=dict(env),
        cwd=cwd,
        check=False,
    )
    return Run(tuple(argv), done.stdout, done.stderr, done.returncode)


def _run_job(argv: Sequence[str], env: Mapping[str, str], attempts: int, timeout: float) -> Run:
    for _ in range(attempts):
        try:
            return run_one(argv, env, timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
    return Run(tuple(argv), "", f"timed out after {timeout} s ({attempts} attempts)", TIMED_OUT)


def run_all(
    commands: Sequence[tuple[Sequence[str], Mapping[str, str], int]], env: Mapping[str, str]
) -> list[Run]:
    """Run every (command, extra environment, attempts), `PARALLEL` at a time; the results in
    order. A run that times out is retried up to its attempts (llvm-jitlink 22 now and then
    hangs after a failed link: a race when it closes the transport), then recorded with
    status `TIMED_OUT` instead of failing the whole batch."""
    timeout = RUN_TIMEOUT / 2
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(
            pool.map(lambda job: _run_job(job[0], {**env, **job[1]}, job[2], timeout), commands)
        )


@dataclass(frozen=True)
class ExecutorWrapper:
    """A shell script standing in for an executor: runs ``executor`` with the controller's
    arguments and records its pid, exit status and stderr in files of ``directory``."""

    script: Path
    directory: Path

    @classmethod
    def create(cls, directory: Path) -> ExecutorWrapper:
        directory.mkdir(parents=True, exist_ok=True)
        return cls(write_executor_wrapper(directory), directory)

    def env(self, executor: str) -> dict[str, str]:
        """What the wrapper reads from its environment to run ``executor``."""
        return {
            "INTEROP_EXECUTOR": executor,
            "INTEROP_EXECUTOR_PID": str(self.directory / "pid"),
            "INTEROP_EXECUTOR_STATUS": str(self.directory / "status"),
            "INTEROP_EXECUTOR_STDERR": str(self.directory / "stderr"),
        }

    def ended(self) -> tuple[int | None, str]:
        """The executor's exit status (None if it never ran) and its stderr."""
        status_file = self.directory / "status"
        if not status_file.exists():
            return None, ""
        stderr = self.directory / "stderr"
        return int(status_file.read_text()), stderr.read_text() if stderr.exists() else ""


def stop_warm_processes(runtime: Path, timeout: float = 30.0) -> None:
    """Kill (SIGKILL, by pid) the warm servers of the private runtime directory ``runtime`` and
    every process they forked (their command lines name it), then wait until they are gone."""
    marker = os.fsencode(str(runtime))
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/cmdline", "rb") as file:
                if marker in file.read():
                    pids.append(int(entry))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    stuck = [pid for pid in pids if not wait_gone(pid, timeout)]
    assert not stuck, f"processes {stuck} survived SIGKILL for {timeout} s"
