"""The Kaleidoscope REPL example (``examples/kaleidoscope``), driven through its stdin as a
user would pipe a script into it, against several executors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require_executor

REPL = Path(__file__).resolve().parents[3] / "examples" / "kaleidoscope" / "kaleidoscope.py"

SESSION = """\
def fib(n) if n < 3 then 1 else fib(n - 1) + fib(n - 2)
fib(20)
extern sin(x)
extern pow(x y)
sin(0) + pow(2, 10)  # libm, in the executor
def count(n) for i = 0, i < n in putchard(65 + i)
count(3)
def f(x) (x +
  1) * 2
f(3); -f(0.5)
foo(1)
def fib(n) n
fib(10)
4 $ 4
1 +
"""

OUTPUT = "6765.0\n1024.0\nABC0.0\n8.0\n-3.0\n55.0\n"

ERRORS = [
    "error: unknown function 'foo' (def or extern it first)",
    "error: fib is already defined",
    "syntax error: column 3: unexpected '$'",
    "syntax error: the input ends in the middle of an item",
]


def run_repl(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPL), *options],
        input=SESSION,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.timeout(90)
@pytest.mark.parametrize("executor", ["inprocess", "llvm14", "orcrt"])
def test_kaleidoscope_repl_end_to_end(executor: str) -> None:
    """Definitions compile lazily into the executor, externs reach its libm, the tutorial's
    putchard writes to its stdout, expressions print their values; mistakes are reported
    on stderr and the session goes on (exit status 1 because some input failed)."""
    require_executor(executor)
    done = run_repl("--executor", executor)
    assert done.stdout == OUTPUT, done.stderr
    assert done.stderr.splitlines() == ERRORS
    assert done.returncode == 1


@pytest.mark.timeout(90)
def test_kaleidoscope_repl_eager_optimized_with_ir() -> None:
    """--eager --opt 2 --show-ir: the same values (optimized), each module's IR on stderr."""
    done = run_repl("--eager", "--opt", "2", "--show-ir")
    assert done.stdout == OUTPUT
    assert 'define double @"fib"(double %"n")' in done.stderr
    assert done.stderr.count('; ModuleID = "__anon_expr.') == 6


def test_kaleidoscope_repl_bad_executor() -> None:
    """An executor that cannot start: one line on stderr, status 2."""
    done = subprocess.run(
        [sys.executable, str(REPL), "--executor", "llvm99"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("kaleidoscope: cannot start the JIT: executor 'llvm99'")
