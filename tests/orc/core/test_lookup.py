"""Lookups: states, weak and required names, visibility, flags, dispatchers (checklist §7)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Mapping

import pytest

from actors import ManualDispatcher, RunUntilEmpty, SessionShutdownError, TaskDispatcher
from actors.orc import (
    ExecutorSymbolDef,
    FailedToMaterializeError,
    JITDylib,
    JITDylibLookupFlags,
    JITSymbolFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    Name,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolsCouldNotBeRemovedError,
    SymbolsNotFoundError,
    SymbolState,
    absolute_symbols,
)
from tests.orc.core._support import (
    EXPORTED,
    HIDDEN,
    MSEO,
    WEAK,
    CapturingUnit,
    addresses,
    barrier,
    defs,
    names,
    orc,
    within,
)

MATCH_ALL = JITDylibLookupFlags.MATCH_ALL_SYMBOLS
WEAKLY = SymbolLookupFlags.WEAKLY_REFERENCED


@pytest.mark.asyncio
async def test_lookup_ready_completes_only_after_resolve_and_emit() -> None:
    """Item 2 (BasicSuccessfulLookup): a Ready lookup of a lazy symbol completes only after
    notify_resolved *and* notify_emitted."""
    async with orc() as (es, errors):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await unit.responsibility()
        await barrier(es)
        assert not lookup.done()
        await mr.notify_resolved(defs(Foo=0x1000))
        await barrier(es)
        assert not lookup.done()
        await mr.notify_emitted()
        assert addresses(await within(lookup)) == {"Foo": 0x1000}
        assert errors == []


@pytest.mark.asyncio
async def test_lookup_resolved_state_returns_before_ready() -> None:
    """Item 2 (states): a lookup waiting for RESOLVED returns before the symbol is Ready."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"], required_state=SymbolState.RESOLVED))
        mr = await unit.responsibility()
        await mr.notify_resolved(defs(Foo=0x1000))
        assert addresses(await within(lookup)) == {"Foo": 0x1000}
        assert "Resolved" in await jd.dump()
        await mr.notify_emitted()
        assert '"Foo": 0x1000 [Data] Ready' in await jd.dump()


@pytest.mark.asyncio
async def test_lookup_empty_set_completes_at_once() -> None:
    """Item 3 (EmptyLookup): an empty lookup completes at once with an empty map."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        assert await within(es.lookup([jd], [])) == {}
        assert await within(es.lookup([], [])) == {}


@pytest.mark.asyncio
async def test_lookup_one_of_two_symbols_materializes_unit_returns_one() -> None:
    """Item 4 (ResolveUnrequestedSymbol): looking up one symbol of a two-symbol unit
    materializes the unit and returns only that symbol; the other is then Ready too."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await unit.responsibility()
        assert names(mr.symbols) == {"Foo", "Bar"}
        await mr.notify_resolved(defs(Foo=0x1000, Bar=0x2000))
        await mr.notify_emitted()
        assert addresses(await within(lookup)) == {"Foo": 0x1000}
        assert addresses(await within(es.lookup([jd], ["Bar"]))) == {"Bar": 0x2000}
        assert unit.materialized == 1


@pytest.mark.asyncio
async def test_lookup_weak_side_effects_only_symbol_completes_at_emit_absent() -> None:
    """Item 5 (MaterializationSideEffctsOnlyBasic): a weakly looked-up MSEO symbol completes
    at notify_emitted (no resolve) and is absent from the result."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": MSEO})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], SymbolLookupSet(["Foo"], WEAKLY)))
        mr = await unit.responsibility()
        await barrier(es)
        assert not lookup.done()
        await mr.notify_emitted()
        assert await within(lookup) == {}


@pytest.mark.asyncio
async def test_lookup_side_effects_only_symbol_required_is_not_found() -> None:
    """Item 6: the same MSEO symbol looked up as Required -> ``Symbols not found: [ Qux ]``."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Qux": MSEO})
        await jd.define(unit)
        with pytest.raises(SymbolsNotFoundError) as caught:
            await within(es.lookup([jd], ["Qux"]))
        assert str(caught.value) == "Symbols not found: [ Qux ]"
        assert not unit.was_materialized


@pytest.mark.asyncio
async def test_lookup_failed_side_effects_only_symbol_keeps_failing() -> None:
    """Item 7 (MaterializationSideEffectsOnlyFailuresPersist): a failed MSEO symbol keeps
    failing on later lookups."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": MSEO})
        await jd.define(unit)
        weak = SymbolLookupSet(["Foo"], WEAKLY)
        lookup = asyncio.create_task(es.lookup([jd], weak))
        mr = await unit.responsibility()
        await mr.fail_materialization()
        text = "Failed to materialize symbols: { (JD, { Foo }) }"
        with pytest.raises(FailedToMaterializeError, match=re.escape(text)):
            await within(lookup)
        with pytest.raises(FailedToMaterializeError) as again:
            await within(es.lookup([jd], weak))
        assert str(again.value) == text


@pytest.mark.asyncio
async def test_remove_symbols_missing_materializing_and_success() -> None:
    """Item 8 (RemoveSymbolsTest): missing -> SymbolsNotFound, materializing ->
    ``Symbols could not be removed: { Baz }``, ready/unmaterialized -> removed (with
    discard); nothing changes on failure."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols(defs(Foo=0x1000)))
        bar_unit = CapturingUnit({"Bar": EXPORTED})
        baz_unit = CapturingUnit({"Baz": EXPORTED})
        await jd.define(bar_unit)
        await jd.define(baz_unit)
        await within(es.lookup([jd], ["Foo"]))
        baz_lookup = asyncio.create_task(es.lookup([jd], ["Baz"]))
        baz_mr = await baz_unit.responsibility()

        with pytest.raises(SymbolsNotFoundError) as missing:
            await jd.remove(["Foo", "Bar", "Qux"])
        assert str(missing.value) == "Symbols not found: [ Qux ]"
        with pytest.raises(SymbolsCouldNotBeRemovedError) as busy:
            await jd.remove(["Foo", "Bar", "Baz"])
        assert str(busy.value) == "Symbols could not be removed: { Baz }"
        assert bar_unit.discarded == []

        await jd.remove(["Foo", "Bar"])
        assert bar_unit.discarded == ["Bar"]
        assert not bar_unit.was_materialized
        with pytest.raises(SymbolsNotFoundError):
            await within(es.lookup([jd], ["Foo"]))
        await baz_mr.notify_resolved(defs(Baz=0x3000))
        await baz_mr.notify_emitted()
        assert addresses(await within(baz_lookup)) == {"Baz": 0x3000}


@pytest.mark.asyncio
async def test_lookup_exported_only_skips_hidden_and_finds_next_jitdylib() -> None:
    """Item 9 (LookupWithHiddenSymbols): an exported-only search skips a hidden definition
    and finds the next JITDylib's; match-all finds the hidden one."""
    async with orc() as (es, _):
        jd1 = await es.create_jitdylib("JD1")
        jd2 = await es.create_jitdylib("JD2")
        await jd1.define(
            absolute_symbols(
                {"Foo": ExecutorSymbolDef(0x1, EXPORTED), "Bar": ExecutorSymbolDef(0x2, HIDDEN)}
            )
        )
        await jd2.define(absolute_symbols(defs(Bar=0x20, Baz=0x30)))
        found = await within(es.lookup([jd1, jd2], ["Foo", "Bar"]))
        assert addresses(found) == {"Foo": 0x1, "Bar": 0x20}
        found = await within(es.lookup([(jd1, MATCH_ALL), jd2], ["Bar"]))
        assert addresses(found) == {"Bar": 0x2}
        assert found[es.intern("Bar")].flags == HIDDEN
        with pytest.raises(SymbolsNotFoundError):
            await within(es.lookup([jd1], ["Bar"]))


@pytest.mark.asyncio
async def test_lookup_flags_never_materializes_and_drops_weak_missing() -> None:
    """Item 10 (LookupFlagsTest): lookup_flags never materializes and drops weakly
    referenced names it cannot find; a required missing name fails."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": WEAK})
        await jd.define(unit)
        lookup_set = SymbolLookupSet(["Foo", "Bar"]).add("Baz", WEAKLY)
        flags = await within(es.lookup_flags([jd], lookup_set))
        assert {str(n): f for n, f in flags.items()} == {"Foo": EXPORTED, "Bar": WEAK}
        with pytest.raises(SymbolsNotFoundError, match=r"\[ Baz \]"):
            await within(es.lookup_flags([jd], ["Foo", "Baz"]))
        await barrier(es)
        assert not unit.was_materialized


@pytest.mark.asyncio
async def test_lookup_required_and_weak_missing_names() -> None:
    """Item 4/6 (required vs weakly referenced): a missing weak name is simply absent; missing
    required names fail with all of them, in lookup order."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols(defs(Foo=0x10)))
        found = await within(es.lookup([jd], SymbolLookupSet(["Foo"]).add("Nope", WEAKLY)))
        assert addresses(found) == {"Foo": 0x10}
        with pytest.raises(SymbolsNotFoundError) as caught:
            await within(es.lookup([jd], ["this_function_does_not_exist", "another_missing"]))
        assert str(caught.value) == (
            "Symbols not found: [ this_function_does_not_exist, another_missing ]"
        )


@pytest.mark.asyncio
async def test_lookup_concurrent_lookups_materialize_once() -> None:
    """Issue #8 (lookup): many concurrent lookups of the same symbols trigger exactly one
    materialization and all get the same answer."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": EXPORTED})
        await jd.define(unit)
        lookups = [asyncio.create_task(es.lookup([jd], ["Foo", "Bar"])) for _ in range(50)]
        mr = await unit.responsibility()
        await mr.notify_resolved(defs(Foo=1, Bar=2))
        await mr.notify_emitted()
        results = await within(asyncio.gather(*lookups))
        assert all(addresses(r) == {"Foo": 1, "Bar": 2} for r in results)
        assert unit.materialized == 1


class _AsyncAbsolute(MaterializationUnit):
    def __init__(self, symbols: Mapping[str, int]) -> None:
        super().__init__({n: EXPORTED for n in symbols})
        self.addresses = dict(symbols)
        self.threads: list[int] = []

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        self.threads.append(threading.get_ident())
        await mr.notify_resolved(
            {n: ExecutorSymbolDef(self.addresses[str(n)], EXPORTED) for n in mr.symbols}
        )
        await mr.notify_emitted()


class _SyncAbsolute(MaterializationUnit):
    def __init__(self, symbols: Mapping[str, int]) -> None:
        super().__init__({n: EXPORTED for n in symbols})
        self.addresses = dict(symbols)
        self.threads: list[int] = []

    def materialize(self, mr: MaterializationResponsibility) -> None:
        self.threads.append(threading.get_ident())
        mr.blocking.notify_resolved(
            {n: ExecutorSymbolDef(self.addresses[str(n)], EXPORTED) for n in mr.symbols}
        )
        mr.blocking.notify_emitted()


@pytest.mark.asyncio
@pytest.mark.parametrize("where", ["auto", "in_loop", "thread_pool", "manual"])
async def test_lookup_works_on_every_dispatcher(where: str) -> None:
    """Item 39 (TestLookupWith{Unthreaded,Threaded}Materialization): lookups work whether
    materializers run in the loop, on a thread pool, or when a test steps a manual
    dispatcher; async units always run on the loop thread, plain ones never do."""
    manual = ManualDispatcher() if where == "manual" else None
    materialize_on: str | TaskDispatcher = manual if manual is not None else where
    async with orc(materialize_on) as (es, errors):  # type: ignore[arg-type]
        jd = await es.create_jitdylib("JD")
        async_unit = _AsyncAbsolute({"A": 0xA0})
        sync_unit = _SyncAbsolute({"S": 0x50})
        await jd.define(async_unit)
        await jd.define(sync_unit)
        lookup = asyncio.create_task(es.lookup([jd], ["A", "S"]))
        if manual is not None:
            await barrier(es)
            await barrier(es)
            assert not lookup.done()
            ran = await within(manual.ref.ask(RunUntilEmpty()))
            assert ran == 2
        assert addresses(await within(lookup)) == {"A": 0xA0, "S": 0x50}
        loop_thread = threading.get_ident()
        assert async_unit.threads == [loop_thread]
        assert len(sync_unit.threads) == 1
        assert sync_unit.threads[0] != loop_thread
        assert errors == []


@pytest.mark.asyncio
async def test_lookup_register_dependencies_reports_all_not_ready() -> None:
    """Item 17 (TestBasicQueryDependenciesReporting, LLVM 22): for {Foo Ready, Bar Resolved,
    Baz lazy} the registered dependencies are {Bar, Baz}, reported under the lock."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols(defs(Foo=0x1)))
        await within(es.lookup([jd], ["Foo"]))
        bar_unit = CapturingUnit({"Bar": EXPORTED})
        baz_unit = CapturingUnit({"Baz": EXPORTED})
        await jd.define(bar_unit)
        await jd.define(baz_unit)
        bar_lookup = asyncio.create_task(es.lookup([jd], ["Bar"]))
        bar_mr = await bar_unit.responsibility()
        await bar_mr.notify_resolved(defs(Bar=0x2))
        reported: list[Mapping[JITDylib, set[Name]]] = []
        lookup = asyncio.create_task(
            es.lookup(
                [jd],
                ["Foo", "Bar", "Baz"],
                required_state=SymbolState.RESOLVED,
                register_dependencies=reported.append,
            )
        )
        baz_mr = await baz_unit.responsibility()
        assert len(reported) == 1
        assert {jd.name: {str(n) for n in ns} for jd, ns in reported[0].items()} == {
            "JD": {"Bar", "Baz"}
        }
        await baz_mr.notify_resolved(defs(Baz=0x3))
        assert addresses(await within(lookup)) == {"Foo": 0x1, "Bar": 0x2, "Baz": 0x3}
        await bar_mr.notify_emitted()
        await baz_mr.notify_emitted()
        await within(bar_lookup)


@pytest.mark.asyncio
async def test_lookup_emitted_state_completes_at_emission() -> None:
    """LLVM 22 (§6): an EMITTED-state query completes when its symbol is emitted, even while
    the symbol still waits on an unemitted dependency."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        e1 = CapturingUnit({"E1": EXPORTED})
        e2 = CapturingUnit({"E2": EXPORTED})
        await jd.define(e1)
        await jd.define(e2)
        emitted = asyncio.create_task(es.lookup([jd], ["E1"], required_state=SymbolState.EMITTED))
        ready = asyncio.create_task(es.lookup([jd], ["E1"]))
        mr1 = await e1.responsibility()
        await mr1.notify_resolved(defs(E1=0x30))
        from actors.orc import SymbolDependenceGroup

        await mr1.notify_emitted([SymbolDependenceGroup({"E1"}, {jd: {"E2"}})])
        assert addresses(await within(emitted)) == {"E1": 0x30}
        await barrier(es)
        assert not ready.done()
        assert '"E1": 0x30 [Data] Emitted' in await jd.dump()
        e2_lookup = asyncio.create_task(es.lookup([jd], ["E2"]))
        mr2 = await e2.responsibility()
        await mr2.notify_resolved(defs(E2=0x40))
        await mr2.notify_emitted()
        assert addresses(await within(ready)) == {"E1": 0x30}
        await within(e2_lookup)


@pytest.mark.asyncio
async def test_lookup_after_end_session_is_refused() -> None:
    """end_session: a pending lookup fails cleanly; later lookups and definitions are
    refused with SessionShutdownError."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED})
        await jd.define(unit)
        pending = asyncio.create_task(es.lookup([jd], ["Foo"]))
        await unit.responsibility()
        await es.end_session()
        with pytest.raises(SessionShutdownError, match="ended before the lookup completed"):
            await within(pending)
        with pytest.raises(SessionShutdownError):
            await within(es.lookup([jd], ["Foo"]))
        with pytest.raises(SessionShutdownError):
            await es.create_jitdylib("Other")


@pytest.mark.asyncio
async def test_lookup_rejects_bad_arguments() -> None:
    """Bad input gets a clear error: a bare name, a foreign JITDylib, a state below
    Resolved, a malformed search-order entry."""
    async with orc() as (es, _), orc() as (other, _):
        jd = await es.create_jitdylib("JD")
        foreign = await other.create_jitdylib("JD")
        with pytest.raises(TypeError, match="iterable of names"):
            await es.lookup([jd], "Foo")
        with pytest.raises(ValueError, match="another ExecutionSession"):
            await es.lookup([foreign], ["Foo"])
        with pytest.raises(ValueError, match="Resolved or later"):
            await es.lookup([jd], ["Foo"], required_state=SymbolState.MATERIALIZING)
        with pytest.raises(TypeError, match="search order"):
            await es.lookup([(jd, "all")], ["Foo"])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="exists already"):
            await es.create_jitdylib("JD")
        assert es.get_jitdylib_by_name("JD") is jd
        assert es.get_jitdylib_by_name("Nope") is None
        flags = JITSymbolFlags.EXPORTED | JITSymbolFlags.CALLABLE
        assert ExecutorSymbolDef(0x10, flags).flags.is_strong
        with pytest.raises(ValueError, match="64 bits"):
            ExecutorSymbolDef(1 << 64)
