"""Running ``tests.orc.jitlink.run_jit`` in a child process (a crash fails one test only)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["JitRun", "run_jit"]

ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT = 60.0


@dataclass(frozen=True)
class JitRun:
    """What a ``run_jit`` child did."""

    status: int
    stdout: str
    stderr: str


def run_jit(
    objects: Sequence[Path], args: Sequence[str] = (), *, flags: Sequence[str] = ()
) -> JitRun:
    """Link `objects` in a fresh Python process and run main with `args` (see run_jit.py)."""
    argv = [sys.executable, "-m", "tests.orc.jitlink.run_jit", *flags, *map(str, objects)]
    if args:
        argv += ["--", *args]
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    return JitRun(done.returncode, done.stdout, done.stderr)
