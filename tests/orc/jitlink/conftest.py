"""Fixtures for the linker-core tests: the LLVM version under test and its objects.

Every test program under ``programs/`` is compiled by clang 14 and clang 22 in the variants
its row of `_toolchains.SOURCES` lists, in one parallel batch per LLVM version and session.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.orc.jitlink._toolchains import (
    VERSIONS,
    Assemble,
    Objects,
    Toolchain,
    find_toolchain,
    session_objects,
)


@pytest.fixture(scope="session", params=VERSIONS, ids=[f"clang{v}" for v in VERSIONS])
def toolchain(request: pytest.FixtureRequest) -> Toolchain:
    """LLVM 14 or 22 (the test runs once per version); skips if it is not installed."""
    found = find_toolchain(request.param)
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def objects(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Objects:
    """Every test program of `SOURCES` built by `toolchain`, once per session (shared with
    the tests of ``tests/orc/link`` and ``tests/orc/cli``)."""
    return session_objects(toolchain, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def assemble(tmp_path_factory: pytest.TempPathFactory) -> Assemble:
    """Assemble source text with llvm-mc 22 (``triple=``) and return the object's bytes."""
    tools = find_toolchain(22)
    if isinstance(tools, str):
        pytest.skip(tools)
    directory = tmp_path_factory.mktemp("asm")
    counter = iter(range(1_000_000))

    def run(source: str, triple: str = "x86_64-pc-linux-gnu") -> bytes:
        number = next(counter)
        src, out = directory / f"{number}.s", directory / f"{number}.o"
        src.write_text(source)
        argv = [str(tools.llvm_mc), "-filetype=obj", f"-triple={triple}", str(src), "-o", str(out)]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
        return out.read_bytes()

    return run
