"""Fixtures of the lazy-compilation tests: an ExecutionSession over each executor kind.

Kinds (issue #11): LLVM 14's and LLVM 22's ``llvm-jitlink-executor`` (skipped with a reason
where LLVM is not installed), orcrt's executor over pipes, and an orcrt executor Session in
this process. Errors the session reports are collected, not logged, so tests can check them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import attrs
import pytest
import pytest_asyncio

from actors.orc import (
    ExecutionSession,
    ExecutorProcessControl,
    open_execution_session,
    open_inprocess_executor,
    spawn_executor,
)
from actors.testing import executor_command

KINDS = ("llvm14", "llvm22", "orcrt", "inprocess")
SPAWNED = ("llvm14", "llvm22", "orcrt")


def llvm_executor(major: int) -> Path:
    """LLVM ``major``'s ``llvm-jitlink-executor``, or skip the test with a reason."""
    path = Path(f"/usr/lib/llvm-{major}/bin/llvm-jitlink-executor")
    if not os.access(path, os.X_OK):
        pytest.skip(f"LLVM {major} is not installed (Debian package llvm-{major}): no {path}")
    return path


async def open_epc(kind: str) -> ExecutorProcessControl:
    """A fresh EPC of ``kind`` (spawned executors keep their output for `stderr_of`)."""
    if kind in ("llvm14", "llvm22"):
        return await spawn_executor(llvm_executor(int(kind[4:])), capture_output=True)
    if kind == "orcrt":
        return await spawn_executor(
            [*executor_command(), "--llvm-version", "22"], capture_output=True
        )
    return await open_inprocess_executor(22)


def stderr_of(epc: ExecutorProcessControl) -> str:
    """What a spawned executor wrote to stderr (after it ended)."""
    process = getattr(epc, "process", None)
    assert process is not None
    return str(process.stderr.decode())


@attrs.define
class Target:
    """A session over one executor kind.

    Attributes:
        kind: one of `KINDS`.
        es: the session (ends with the test).
        epc: its EPC.
        errors: what the session reported, in order.
    """

    kind: str
    es: ExecutionSession
    epc: ExecutorProcessControl
    errors: list[BaseException]

    @property
    def spawned(self) -> bool:
        return self.kind in SPAWNED


SessionFactory = Callable[[str], Awaitable[Target]]


@pytest_asyncio.fixture(params=KINDS)
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """An ExecutionSession over a fresh executor of each kind."""
    kind: str = request.param
    epc = await open_epc(kind)
    errors: list[BaseException] = []
    async with open_execution_session(epc=epc, error_reporter=errors.append) as es:
        yield Target(kind=kind, es=es, epc=epc, errors=errors)
