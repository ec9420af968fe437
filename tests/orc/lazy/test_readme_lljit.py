"""The README's "LLJIT in ten lines" runs and prints what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"


def lljit_in_ten_lines() -> str:
    text = README.read_text()
    section = text[text.index("## The controller half") :]
    match = re.search(r"```python\n(.+?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


@pytest.mark.timeout(90)
def test_readme_lljit_in_ten_lines_runs() -> None:
    """The example is at most ten lines of code and prints 42 (with LLVM 14's executor, or
    in process where LLVM 14 is not installed)."""
    code = lljit_in_ten_lines()
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    assert 'open_lljit(executor="llvm14")' in code
    if not os.access("/usr/lib/llvm-14/bin/llvm-jitlink-executor", os.X_OK):
        code = code.replace('executor="llvm14"', 'executor="inprocess"')
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout) == (0, "42\n"), done.stderr
