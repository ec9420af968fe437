"""Fixtures for the wire-level executor tests: one real ``orcrt-executor`` process per test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from actors.testing._wire import WireController
from tests.executor._warm import WarmInstall, build_probe, installed_launcher

LLVM_MAJORS = (14, 22)


@pytest.fixture(params=LLVM_MAJORS, ids=[f"llvm{major}" for major in LLVM_MAJORS])
def llvm_major(request: pytest.FixtureRequest) -> int:
    """The LLVM major the executor is told to speak (each test runs for 14 and 22)."""
    major: int = request.param
    return major


@pytest_asyncio.fixture
async def wire(llvm_major: int) -> AsyncIterator[WireController]:
    """A WireController over pipes to a fresh executor in guarded mode; killed afterwards."""
    async with await WireController.spawn(llvm_major) as controller:
        yield controller


@pytest.fixture(scope="session")
def warm_launcher() -> Path:
    """The installed C launcher (``orcrt-executor``); skips if this install predates it."""
    found = installed_launcher()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def probe_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """warm_probe.c built once per session (skips without a C compiler)."""
    built = build_probe(tmp_path_factory.mktemp("warm-probe"))
    if isinstance(built, str):
        pytest.skip(built)
    return built


@pytest.fixture
def warm(warm_launcher: Path) -> Iterator[WarmInstall]:
    """A private installation and runtime directory; its processes are killed afterwards.

    Under a short /tmp directory of its own: a Unix socket's path must fit in 108 bytes.
    """
    root = Path(tempfile.mkdtemp(prefix="ow", dir="/tmp"))
    install = WarmInstall(root, warm_launcher)
    try:
        yield install
    finally:
        try:
            install.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
