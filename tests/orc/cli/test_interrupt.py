"""Ctrl-C at a terminal ends ``orcrt-jitlink`` and what it started, as it ends llvm-jitlink.

A program that never ends (it prints ``ready``, then waits in ``pause()`` forever) runs under a
pseudo-terminal, in the terminal's foreground process group, as a shell runs it; the test
types Ctrl-C (``\\x03``): the kernel sends SIGINT to that group. llvm-jitlink dies by it,
and so does its executor (same group). orcrt-jitlink must do the same, cold and warm, in
process and with LLVM's executor: in process, the JIT'd code runs in orcrt-jitlink's process,
where Python's own SIGINT handler would only note the signal; warm, orcrt-jitlink runs in a
process the warm server forked, in a group of its own with the executor it spawns, and the
launcher forwards the terminal's signal to that whole group. No executor may be left running.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import shutil
import signal
import subprocess
import termios
import time
from pathlib import Path

import pytest

from tests.executor._warm import wait_gone

from ._runs import llvm_tool

pytestmark = [pytest.mark.llvm]

_FOREVER = '#include <stdio.h>\n#include <unistd.h>\nint main(void) { puts("ready"); fflush(stdout); for (;;) pause(); }\n'
_WAIT = 30.0


@pytest.fixture(scope="module")
def forever(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("forever")
    (directory / "forever.c").write_text(_FOREVER)
    clang = str(llvm_tool(14, "clang"))
    subprocess.run([clang, "-c", "-fPIC", "forever.c"], cwd=directory, check=True, timeout=120)
    return directory / "forever.o"


def _in_terminal(slave: int) -> None:
    """In the child: a new session whose controlling terminal is the pty, with stdin, stdout and
    stderr on it (what a shell's foreground job has)."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)


def _read_until(master: int, marker: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([master], [], [], left)[0]:
            raise AssertionError(f"no {marker!r} within {timeout} s; the terminal showed {seen!r}")
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every process has closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


def _executors(marker: str) -> list[int]:
    """Pids of the running copies of the test's executor (its path names ``marker``)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if marker in os.readlink(f"/proc/{entry}/exe"):
                    found.append(int(entry))
    return found


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("executor", ["inprocess", "llvm14"])
def test_ctrl_c_ends_the_run_and_its_executor(
    warm: bool,
    executor: str,
    forever: Path,
    orcrt_jitlink: Path,
    env: dict[str, str],
    warm_runtime_dir: Path,
    tmp_path: Path,
) -> None:
    """Ctrl-C: orcrt-jitlink dies by SIGINT (as llvm-jitlink does), its executor is gone."""
    argv = [str(orcrt_jitlink)]
    marker = str(tmp_path)
    if executor == "llvm14":
        # A copy under the test's own path, to find its processes afterwards.
        copy = tmp_path / "llvm-jitlink-executor"
        shutil.copy2(llvm_tool(14, "llvm-jitlink-executor"), copy)
        argv.append(f"-oop-executor={copy}")
    argv.append(str(forever))
    child_env = {
        **env,
        "XDG_RUNTIME_DIR": str(warm_runtime_dir),
        "ORCRT_WARM": "1" if warm else "0",
    }
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=child_env,
            preexec_fn=lambda: _in_terminal(slave),  # setsid + TIOCSCTTY
        )
        os.close(slave)
        slave = -1
        try:
            _read_until(master, b"ready", _WAIT)
            os.write(master, b"\x03")  # the terminal's interrupt character: SIGINT to the group
            status = process.wait(_WAIT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert status == -signal.SIGINT, f"orcrt-jitlink ended with {status}"
        # The executor dies by the same signal, a moment later than orcrt-jitlink maybe.
        left = [pid for pid in _executors(marker) if not wait_gone(pid, _WAIT)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"executor {left} kept running after Ctrl-C"
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
