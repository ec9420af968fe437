"""Fixtures for the check-file tests: every check file assembled once per session.

The ``.s`` files of ``files/`` and ``files/Inputs/`` are assembled by llvm-mc 22 (two at a
time) into one temporary directory, each object named after its source (``plt_stubs.s`` ->
``plt_stubs.o``: the name ``got_addr(plt_stubs.o, ...)`` refers to).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.orc.check._harness import FILES, CheckFile
from tests.orc.jitlink._toolchains import Compile, build, find_toolchain

TRIPLE = "x86_64-unknown-linux"


@pytest.fixture(scope="session")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """Source path -> object path, for every check file and input (skips without LLVM 22)."""
    tools = find_toolchain(22)
    if isinstance(tools, str):
        pytest.skip(tools)
    out = tmp_path_factory.mktemp("check-objects")
    jobs: list[Compile] = []
    objects: dict[Path, Path] = {}
    for source in sorted(FILES.glob("*.s")) + sorted((FILES / "Inputs").glob("*.s")):
        mc_args = CheckFile.parse(source).mc_args if source.parent == FILES else ()
        target = out / f"{source.stem}.o"
        argv = (str(tools.llvm_mc), f"-triple={TRIPLE}", "-filetype=obj", *mc_args, str(source))
        jobs.append(Compile((*argv, "-o", str(target)), target))
        objects[source] = target
    build(jobs)
    return objects
