"""Every example runs, as a user would run it, and succeeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("test_"))
PYTEST_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("test_*.py"))
LLVM14_EXECUTOR = Path("/usr/lib/llvm-14/bin/llvm-jitlink-executor")


@pytest.mark.parametrize("script", SCRIPTS)
def test_examples_script_runs(script: str) -> None:
    """Each example script exits 0 within its time limit."""
    if script == "jitlink_hello.py" and not any(
        Path(f"/usr/lib/llvm-{v}/bin/llvm-jitlink").exists() for v in (14, 22)
    ):
        pytest.skip("needs LLVM 14 or 22 in /usr/lib/llvm-NN (apt-get install llvm-14)")
    if script == "epc_run_bytes.py" and not LLVM14_EXECUTOR.exists():
        pytest.skip(f"needs LLVM 14's executor, {LLVM14_EXECUTOR} (apt-get install llvm-14)")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("example", PYTEST_EXAMPLES)
def test_examples_user_tests_pass(example: str) -> None:
    """Each example test file passes under pytest with the installed orcrt plugin."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / example)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=EXAMPLES.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout


def test_examples_exist() -> None:
    """The examples the issues name are present."""
    assert {
        "session_script.py",
        "embedded_tcp_server.py",
        "jitlink_hello.py",
        "epc_run_bytes.py",
    } <= set(SCRIPTS)
    assert "test_user_code.py" in PYTEST_EXAMPLES
