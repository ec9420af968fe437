"""GDB stops at a breakpoint in a JIT'd ``static`` function of a ``-g`` object run by
``orcrt-jitlink``, with the right source line and backtrace (the debug object registered
through the GDB JIT interface), in process and in LLVM 22's executor."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ._runs import llvm_tool, run_one

pytestmark = [pytest.mark.slow, pytest.mark.llvm]

_SOURCE = """#include <stdio.h>
static int jitted_square(int x) {
  int y = x * x;
  return y;
}
int main(void) { printf("%d\\n", jitted_square(7)); return 0; }
"""


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["inprocess", "llvm22"])
def test_debugger_breaks_in_jitted_code(
    kind: str, tmp_path: Path, orcrt_jitlink: Path, env: dict[str, str]
) -> None:
    """``break jitted_square`` (pending) is hit at dbg.c:3 with ``x=7``, called from main at
    dbg.c:6; the program then finishes normally."""
    gdb = shutil.which("gdb")
    if gdb is None:
        pytest.skip("gdb is not installed")
    source = tmp_path / "dbg.c"
    source.write_text(_SOURCE)
    obj = tmp_path / "dbg.o"
    clang = str(llvm_tool(14, "clang"))
    subprocess.run(
        [clang, "-c", "-g", "-O0", "-fPIC", source.name, "-o", obj.name], check=True, cwd=tmp_path
    )
    executor = (
        [] if kind == "inprocess" else [f"-oop-executor={llvm_tool(22, 'llvm-jitlink-executor')}"]
    )
    script = [
        "set breakpoint pending on",
        # Out of process the code runs in the executor, orcrt-jitlink's only child.
        *([] if kind == "inprocess" else ["set follow-fork-mode child"]),
        "break jitted_square",
        "run",
        "bt 2",
        "continue",
    ]
    argv = [gdb, "-batch", "-nx"]
    for command in script:
        argv += ["-ex", command]
    argv += ["--args", *_interpreter(orcrt_jitlink), *executor, str(obj)]
    run = run_one(argv, env, cwd=tmp_path)
    assert "jitted_square (x=7) at dbg.c:3" in run.stdout, run.show()
    assert "in main () at dbg.c:6" in run.stdout, run.show()
    assert "49\n" in run.stdout, run.show()


def _interpreter(script: Path) -> list[str]:
    """The program as gdb is to start it: the installed C launcher itself (gdb follows its exec
    of the Python script, as the README's ``gdb --args orcrt-jitlink prog.o`` does); a
    console script as ``python script``."""
    head = script.read_bytes()[:512]
    if head.startswith(b"\x7fELF"):
        return [str(script)]
    first = head.decode().splitlines()[0]
    return [first.removeprefix("#!").strip(), str(script)]
