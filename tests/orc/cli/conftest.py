"""Fixtures of the ``orcrt-jitlink`` tests: the script, the objects, the child environment."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.orc.jitlink._toolchains import Objects, find_toolchain, session_objects

from ._runs import child_env, find_script, stop_warm_processes


@pytest.fixture(scope="session")
def orcrt_jitlink() -> Path:
    """The installed ``orcrt-jitlink`` console script."""
    return find_script("orcrt-jitlink")


@pytest.fixture(scope="session")
def orcrt_executor() -> Path:
    """The installed ``orcrt-executor`` console script."""
    return find_script("orcrt-executor")


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every child (bytecode cached in the session's temp dir)."""
    return child_env(tmp_path_factory.mktemp("pycache"))


@pytest.fixture
def warm_runtime_dir() -> Iterator[Path]:
    """A private ``XDG_RUNTIME_DIR`` for warm runs (short: a socket's path has at most 107
    bytes); its server and every process it forked are killed, and it is removed, at the end."""
    directory = Path(tempfile.mkdtemp(prefix="orcrt-warm-test-"))
    try:
        yield directory
    finally:
        stop_warm_processes(directory)
        shutil.rmtree(directory, ignore_errors=True)


def objects_of(version: int, tmp_path_factory: pytest.TempPathFactory) -> Objects:
    """The test programs built by clang ``version`` (once per session; skips if missing)."""
    toolchain = find_toolchain(version)
    if isinstance(toolchain, str):
        pytest.skip(toolchain)
    return session_objects(toolchain, tmp_path_factory.getbasetemp())
