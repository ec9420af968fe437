"""EPCDynamicLibrarySearchGenerator: the executor's process and its libraries as generators."""

from __future__ import annotations

import pytest

from actors.orc import (
    EPCDynamicLibrarySearchGenerator,
    ExecutorCallError,
    JITSymbolFlags,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolsNotFoundError,
    open_execution_session,
)

from .conftest import KINDS, open_epc, open_harness

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("kind", KINDS)
async def test_generator_for_process_defines_what_the_executor_has(kind: str) -> None:
    """Names the process has become absolute symbols (Exported: 14 reports no flags, 22 and
    orcrt send Exported); a missing weak name is simply absent; a missing required one fails
    the lookup with SymbolsNotFound, not with an executor error (required=false on the wire)."""
    async with open_harness(kind) as h:
        names = SymbolLookupSet(["puts", "malloc"]).add(
            "no_such_symbol_xyz", SymbolLookupFlags.WEAKLY_REFERENCED
        )
        found = await h.es.lookup([h.process], names)
        assert sorted(str(name) for name in found) == ["malloc", "puts"]
        assert all(d.flags == JITSymbolFlags.EXPORTED and d.address for d in found.values())
        with pytest.raises(SymbolsNotFoundError) as caught:
            await h.es.lookup([h.process], ["no_such_symbol_xyz"])
        assert caught.value.symbols == ("no_such_symbol_xyz",)


async def test_generator_allow_filter_keeps_names_out() -> None:
    """The harness's Process generator excludes ``main`` (as llvm-jitlink 22 excludes the
    entry point): the process's own main is never found there."""
    async with open_harness() as h:
        with pytest.raises(SymbolsNotFoundError):
            await h.es.lookup([h.process], ["main"])
        assert await h.es.lookup([h.process], ["abs"])


async def test_generator_load_opens_a_library() -> None:
    """load() opens a library in the executor; its symbols are found through the generator;
    a library that does not exist fails naming it."""
    async with open_harness() as h:
        libm = await h.es.create_jitdylib("libm")
        generator = await EPCDynamicLibrarySearchGenerator.load(h.es, "libm.so.6")
        await libm.add_generator(generator)
        found = await h.es.lookup([libm], ["cos"])
        assert next(iter(found.values())).address != 0
        assert "libm.so.6" in repr(generator)
        with pytest.raises(ExecutorCallError, match="no_such_library"):
            await EPCDynamicLibrarySearchGenerator.load(h.es, "/no/such/libno_such_library.so")
        with pytest.raises(ValueError, match="library path"):
            await EPCDynamicLibrarySearchGenerator.load(h.es, "")


async def test_generator_needs_an_epc() -> None:
    """A session without an EPC has no executor to search."""
    async with open_execution_session() as es:
        with pytest.raises(ValueError, match="no ExecutorProcessControl"):
            await EPCDynamicLibrarySearchGenerator.for_process(es)


async def test_generator_after_disconnect_fails_the_lookup() -> None:
    """Once the executor is gone, a lookup reaching the generator fails with the reason."""
    epc = await open_epc("inprocess")
    async with open_execution_session(epc=epc) as es:
        jd = await es.create_jitdylib("Process")
        await jd.add_generator(await EPCDynamicLibrarySearchGenerator.for_process(es))
        await epc.disconnect()
        with pytest.raises(Exception, match="disconnected"):
            await es.lookup([jd], ["puts"])
