"""Fixtures for the wire-level executor tests: one real ``orcrt-executor`` process per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from actors.testing._wire import WireController

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
