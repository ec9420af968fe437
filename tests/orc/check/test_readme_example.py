"""The README's "For linker developers" example does what the README says, verbatim."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.orc.cli._runs import child_env, find_script
from tests.orc.jitlink._toolchains import find_toolchain

ROOT = Path(__file__).resolve().parents[3]


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("### For linker developers")
    return text[start : text.index("\n### ", start + 1)]


def test_readme_check_example_runs_as_shown(tmp_path: Path) -> None:
    """The asm block assembles; the orcrt-jitlink command passes (status 0); with line 4's
    '= far_fn' made '= near_fn' it prints exactly the failure shown, status 1."""
    tools = find_toolchain(22)
    if isinstance(tools, str):
        pytest.skip(tools)
    section = _section()
    source = re.search(r"```asm\n(.*?)```", section, re.S)
    assert source is not None
    commands = re.search(r"```sh\n(.*?)```", section, re.S)
    assert commands is not None
    lines = commands[1].replace("\\\n", " ").splitlines()
    assemble = next(line[2:] for line in lines if line.startswith("$ llvm-mc-22 "))
    link = next(line[2:] for line in lines if line.startswith("$ orcrt-jitlink "))
    link = link.removesuffix("; echo $?")
    failure = re.search(r"status is 1 .*?\n\n```\n(.*?)```", section, re.S)
    assert failure is not None

    (tmp_path / "plt.s").write_text(source[1])
    argv = shlex.split(assemble)
    subprocess.run([str(tools.llvm_mc), *argv[1:]], cwd=tmp_path, check=True, timeout=60)
    env = child_env(tmp_path / "pycache")
    script = str(find_script("orcrt-jitlink"))

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *shlex.split(link)[1:]], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=60, check=False,
        )  # fmt: skip

    passed = run()
    assert (passed.returncode, passed.stdout, passed.stderr) == (0, "", "")
    wrong = source[1].replace(
        "*{8}(got_addr(plt.o, far_fn)) = far_fn", "*{8}(got_addr(plt.o, far_fn)) = near_fn"
    )
    assert wrong != source[1]
    assert wrong.splitlines()[3].endswith("= near_fn")  # line 4, as the README says
    (tmp_path / "plt.s").write_text(wrong)
    failed = run()
    assert failed.returncode == 1
    assert failed.stderr == failure[1]
