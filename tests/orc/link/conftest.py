"""Fixtures of the ObjectLinkingLayer tests: small objects from llvm-mc, and a harness that
opens an executor (in process by default), a session, the layer and llvm-jitlink 22's
JITDylib layout (``Process`` with the executor's symbols, ``main`` linking against it).

Every async test runs on plain asyncio and on uvloop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path

import attrs
import pytest
import uvloop

from actors.orc import (
    EPCDynamicLibrarySearchGenerator,
    ExecutionSession,
    ExecutorProcessControl,
    JITDylib,
    JITDylibLookupFlags,
    MemoryManager,
    ObjectLinkingLayer,
    Segment,
    open_execution_session,
    open_inprocess_executor,
    spawn_executor,
)
from actors.testing import executor_command
from protocol import AllocActionCallPair
from tests.orc.jitlink._toolchains import find_toolchain

_HERE = Path(__file__).parent
KINDS = ("llvm14", "llvm22", "orcrt", "inprocess")


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]] | None:
    if Path(item.path).parent != _HERE:
        return None
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


Assemble = Callable[[str], bytes]


@pytest.fixture(scope="session")
def assemble(tmp_path_factory: pytest.TempPathFactory) -> Assemble:
    """Assemble x86-64 source text with llvm-mc 22; the object's bytes (cached by text)."""
    tools = find_toolchain(22)
    if isinstance(tools, str):
        pytest.skip(tools)
    directory = tmp_path_factory.mktemp("link-asm")
    cache: dict[str, bytes] = {}

    def run(source: str) -> bytes:
        if source not in cache:
            number = len(cache)
            src, out = directory / f"{number}.s", directory / f"{number}.o"
            src.write_text(source)
            argv = [str(tools.llvm_mc), "-filetype=obj", "-triple=x86_64-pc-linux-gnu"]
            subprocess.run([*argv, str(src), "-o", str(out)], check=True, timeout=60)
            cache[source] = out.read_bytes()
        return cache[source]

    return run


def llvm_executor(major: int) -> Path:
    """LLVM ``major``'s ``llvm-jitlink-executor``, or skip the test with a reason."""
    path = Path(f"/usr/lib/llvm-{major}/bin/llvm-jitlink-executor")
    if not os.access(path, os.X_OK):
        pytest.skip(f"LLVM {major} is not installed (Debian package llvm-{major}): no {path}")
    return path


async def open_epc(kind: str) -> ExecutorProcessControl:
    """An EPC of ``kind`` (one of `KINDS`); executors' output is captured."""
    if kind in ("llvm14", "llvm22"):
        return await spawn_executor(llvm_executor(int(kind[4:])), capture_output=True)
    if kind == "orcrt":
        command = [*executor_command(), "--llvm-version", "22"]
        return await spawn_executor(command, capture_output=True)
    assert kind == "inprocess"
    return await open_inprocess_executor(22)


class RecordingMemoryManager:
    """Forwards to the EPC's memory manager and records each call (for the tests)."""

    def __init__(self, inner: MemoryManager) -> None:
        self.inner = inner
        self.calls: list[tuple[str, object]] = []
        self.reserved: list[int] = []
        self.released: list[int] = []

    async def reserve(self, size: int) -> int:
        base = await self.inner.reserve(size)
        self.calls.append(("reserve", base))
        self.reserved.append(base)
        return base

    async def finalize(
        self, segments: Iterable[Segment], actions: Iterable[AllocActionCallPair] = ()
    ) -> object:
        segments, actions = list(segments), list(actions)
        self.calls.append(("finalize", tuple(segment.address for segment in segments)))
        return await self.inner.finalize(segments, actions)

    async def release(self, bases: Sequence[int]) -> None:
        self.calls.append(("release", tuple(bases)))
        self.released.extend(bases)
        await self.inner.release(bases)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


@attrs.define
class Harness:
    """An open session with a layer and llvm-jitlink 22's JITDylib layout.

    Attributes:
        errors: what the session's error reporter received, in order.
    """

    es: ExecutionSession
    epc: ExecutorProcessControl
    layer: ObjectLinkingLayer
    memory: RecordingMemoryManager
    process: JITDylib
    main: JITDylib
    errors: list[BaseException]

    async def address(self, name: str, jd: JITDylib | None = None) -> int:
        """Look ``name`` up (Ready) in ``jd`` (default ``main``), all symbols."""
        target = jd or self.main
        found = await self.es.lookup([(target, JITDylibLookupFlags.MATCH_ALL_SYMBOLS)], [name])
        (definition,) = found.values()
        return definition.address

    async def run_main(self, name: str = "main", args: Sequence[str] = ()) -> int:
        """Look ``name`` up and run it as ``main``; its result."""
        return await self.epc.run_as_main(await self.address(name), args)


@contextlib.asynccontextmanager
async def open_harness(kind: str = "inprocess", **layer_options: object) -> AsyncIterator[Harness]:
    """A `Harness` on an EPC of ``kind``; everything is torn down (and the executor gone)
    when the block ends."""
    epc = await open_epc(kind)
    errors: list[BaseException] = []
    try:
        async with open_execution_session(epc=epc, error_reporter=errors.append) as es:
            memory = RecordingMemoryManager(epc.memory_manager)
            layer = ObjectLinkingLayer(es, memory, **layer_options)  # type: ignore[arg-type]  # test options
            process = await es.create_jitdylib("Process")
            await process.add_generator(
                await EPCDynamicLibrarySearchGenerator.for_process(
                    es, allow=lambda name: str(name) != "main"
                )
            )
            main = await es.create_jitdylib("main")
            await main.add_to_link_order(process)
            yield Harness(es, epc, layer, memory, process, main, errors)
    finally:
        await epc.disconnect()
