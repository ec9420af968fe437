"""Fixtures for the linker-core tests: the LLVM version under test and its objects.

Every test program under ``programs/`` is compiled by clang 14 and clang 22 in the variants
its row of `_toolchains.SOURCES` lists, in one parallel batch per LLVM version and session.
"""

from __future__ import annotations

import pytest

from tests.orc.jitlink._toolchains import (
    VERSIONS,
    Objects,
    Toolchain,
    build_objects,
    find_toolchain,
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
    """Every test program of `SOURCES` built by `toolchain`, once per session."""
    return build_objects(toolchain, tmp_path_factory.mktemp(f"objects{toolchain.version}"))
