"""``orcrt-jitlink`` drives the ``llvm-jitlink-executor`` of every LLVM version tested on real
binaries (14, 15, 16, 19, 22): the controller half speaks each version's protocol.

The programs exercise what differs between versions (tests/protocol/traces/README.md): process
symbols (the lookup answer: addresses, symbol definitions, resolve), eh-frame registration
(process lookup, bootstrap wrappers, alloc actions: eh.cpp catches only if it worked), debug
objects (hello_debug.c: the GDB wrapper with or without its bool, or the alloc action) and a
failing link (undef.c: the reservation is given back). The outcome is what the program is
written to do; the linker's own differences between LLVM versions are the CLI matrix's
business (test_programs.py), not this file's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import protocol

from ._runs import llvm_tool, run_all
from .conftest import objects_of

pytestmark = [pytest.mark.llvm]

TESTED = [major for major, row in protocol.LLVM_PROTOCOLS.items() if not row.inferred]

# name -> (source, variant of the clang-14 build, stdout, status, stderr fragment)
PROGRAMS = {
    "hello": ("hello.ll", "llc-pic", "Hello, world!\n", 42, ""),
    "libm": ("libm.c", "O0-pic", "cos=1 sqrt=4 pow=32\n", 42, ""),
    "eh": ("eh.cpp", "O0-pic", "caught: boom\n", 42, ""),
    "hello_debug": ("hello_debug.c", "g-O0-pic", "Hello, debug!\n", 42, ""),
    "undef": ("undef.c", "O0-pic", "", 1, "Symbols not found: [ this_function_does_not_exist ]"),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("version", TESTED)
def test_cli_versions_drive_each_llvm_executor(
    version: int,
    orcrt_jitlink: Path,
    env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Each program under ``orcrt-jitlink -oop-executor=<LLVM N's executor>`` prints and
    returns what it is written to, with nothing else on stderr."""
    executor = llvm_tool(version, "llvm-jitlink-executor")
    objects = objects_of(14, tmp_path_factory)
    commands: list[tuple[list[str], dict[str, str], int]] = [
        (
            [str(orcrt_jitlink), f"-oop-executor={executor}", str(objects.get(source, variant))],
            {},
            1,
        )
        for source, variant, *_ in PROGRAMS.values()
    ]
    runs = run_all(commands, env)
    for (name, (_, _, stdout, status, stderr)), run in zip(PROGRAMS.items(), runs, strict=True):
        assert (run.stdout, run.status) == (stdout, status), f"{name}: {run.show()}"
        assert (stderr in run.stderr) if stderr else run.stderr == "", f"{name}: {run.show()}"
