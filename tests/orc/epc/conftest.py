"""Fixtures of the EPC tests: one EPC per executor kind, and the tools to look inside.

Kinds (issues #9, #13): the ``llvm-jitlink-executor`` of every LLVM version tested on real
binaries (14, 15, 16, 19, 22) over pipes (skipped with a reason where that LLVM is not
installed), orcrt's executor over pipes (LLVM 22 protocol) and over TCP (LLVM 14 protocol, so
both ends of the table meet orcrt), and an orcrt executor Session in this process (22). Every async test runs on plain asyncio and on uvloop: their pipe, socket and
child-process machinery differ.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path

import attrs
import pytest
import pytest_asyncio
import uvloop

import protocol
from actors.orc import (
    ExecutorProcessControl,
    UnansweredCall,
    connect_executor,
    open_inprocess_executor,
    spawn_executor,
)
from actors.testing import ListeningExecutor, executor_command

LLVM_KINDS = tuple(
    f"llvm{major}" for major, row in protocol.LLVM_PROTOCOLS.items() if not row.inferred
)
KINDS = (*LLVM_KINDS, "orcrt-pipes", "orcrt-tcp", "inprocess")
_HERE = Path(__file__).parent


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]] | None:
    if Path(item.path).parent != _HERE:
        return None
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def llvm_executor(major: int) -> Path:
    """LLVM ``major``'s ``llvm-jitlink-executor``, or skip the test with a reason."""
    path = Path(f"/usr/lib/llvm-{major}/bin/llvm-jitlink-executor")
    if not os.access(path, os.X_OK):
        pytest.skip(f"LLVM {major} is not installed (Debian package llvm-{major}): no {path}")
    return path


def orcrt_command(major: int) -> list[str]:
    """orcrt's executor, told which LLVM generation to speak."""
    return [*executor_command(), "--llvm-version", str(major)]


@attrs.define
class Target:
    """An EPC under test and how to end it.

    Attributes:
        kind: one of `KINDS`.
        epc: the EPC.
        unanswered: executor -> controller calls answered with an error, in order.
        finish: ends the session; returns what JIT'd code wrote to stdout.
    """

    kind: str
    epc: ExecutorProcessControl
    unanswered: list[UnansweredCall]
    finish: Callable[[], Awaitable[str]]

    @property
    def in_process(self) -> bool:
        return self.kind == "inprocess"

    @property
    def can_read(self) -> bool:
        """Whether the executor reads memory for us (LLVM 14-19's bootstraps have no reads)."""
        reads = protocol.ExecutorService.MEMORY_READS in self.epc.llvm_protocol.services
        return self.in_process or reads


@pytest_asyncio.fixture(params=KINDS)
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """A fresh EPC of each executor kind; disconnected (and its executor gone) afterwards."""
    kind: str = request.param
    unanswered: list[UnansweredCall] = []
    listening: ListeningExecutor | None = None
    epc: ExecutorProcessControl
    if kind in LLVM_KINDS:
        path = llvm_executor(int(kind[4:]))
        remote = await spawn_executor(path, capture_output=True, on_unanswered=unanswered.append)
        epc = remote

        async def finish() -> str:
            await remote.disconnect()
            assert remote.process is not None
            return remote.process.stdout.decode()

    elif kind == "orcrt-pipes":
        remote = await spawn_executor(
            orcrt_command(22), capture_output=True, on_unanswered=unanswered.append
        )
        epc = remote

        async def finish() -> str:
            await remote.disconnect()
            assert remote.process is not None
            return remote.process.stdout.decode()

    elif kind == "orcrt-tcp":
        listening = await ListeningExecutor.start(14)
        remote = await connect_executor(
            listening.host, listening.port, on_unanswered=unanswered.append
        )
        epc = remote

        async def finish() -> str:
            await remote.disconnect()
            assert listening is not None
            return (await listening.wait()).stdout

    else:
        capfd: pytest.CaptureFixture[str] = request.getfixturevalue("capfd")
        local = await open_inprocess_executor(22, on_unanswered=unanswered.append)
        epc = local

        async def finish() -> str:
            await local.disconnect()
            return capfd.readouterr().out

    try:
        yield Target(kind=kind, epc=epc, unanswered=unanswered, finish=finish)
    finally:
        await epc.disconnect()
        if listening is not None:
            await listening.aclose()


FAKE_EXECUTOR = str(Path(__file__).with_name("_fake_executor.py"))


def fake_executor(mode: str, major: int = 22) -> list[str]:
    """The command of `_fake_executor` in ``mode`` speaking LLVM ``major``'s Setup."""
    import sys

    return [sys.executable, FAKE_EXECUTOR, mode, "--llvm-version", str(major)]


def children() -> list[str]:
    """This process's child processes as ``"pid state"`` (a zombie shows state Z)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == os.getpid():
            found.append(f"{entry} {fields[0]}")
    return found


def open_fds() -> set[str]:
    """This process's open descriptors, as ``"fd -> target"`` (for sockets and pipes the
    kind only: uvloop replaces an internal socket pair now and then, under the same numbers)."""
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the directory listing's own descriptor
        fds.add(f"{fd} -> {target.split(':[', 1)[0]}")
    return fds
