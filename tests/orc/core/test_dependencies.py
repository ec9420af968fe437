"""Dependencies and failure propagation (§7 items 15-24, LLVM 22's dependence groups)."""

from __future__ import annotations

import asyncio
import random

import pytest

from actors.orc import (
    ExecutionSession,
    FailedToMaterializeError,
    JITDylib,
    MaterializationResponsibility,
    SymbolDependenceGroup,
    SymbolState,
    UnsatisfiedSymbolDependenciesError,
    absolute_symbols,
)
from tests.orc.core._support import EXPORTED, CapturingUnit, addresses, barrier, defs, orc, within


async def _materializing(
    es: ExecutionSession, jd: JITDylib, *names: str
) -> tuple[list[asyncio.Task[object]], list[MaterializationResponsibility]]:
    """Define one unit per name, look each up (Ready), return the lookups and their MRs."""
    units = [CapturingUnit({name: EXPORTED}) for name in names]
    for unit in units:
        await jd.define(unit)
    lookups: list[asyncio.Task[object]] = [
        asyncio.create_task(es.lookup([jd], [name])) for name in names
    ]
    return lookups, [await unit.responsibility() for unit in units]


@pytest.mark.asyncio
async def test_dependency_on_itself_does_not_block_ready() -> None:
    """Item 15 (TestTrivialCircularDependency): a self-dependency does not block readiness."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        (lookup,), (mr,) = await _materializing(es, jd, "Foo")
        await mr.notify_resolved(defs(Foo=0x1))
        await mr.notify_emitted([SymbolDependenceGroup({"Foo"}, {jd: {"Foo"}})])
        assert addresses(await within(lookup)) == {"Foo": 0x1}  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_dependency_three_symbol_cycle_ready_together_at_last_emit() -> None:
    """Item 16 (TestCircularDependenceInOneJITDylib): a three-symbol cycle becomes Ready only
    when its last member emits, and then all together; Emitted queries complete earlier."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        lookups, mrs = await _materializing(es, jd, "Foo", "Bar", "Baz")
        emitted = [
            asyncio.create_task(es.lookup([jd], [n], required_state=SymbolState.EMITTED))
            for n in ("Foo", "Bar", "Baz")
        ]
        for mr, address in zip(mrs, (1, 2, 3), strict=True):
            await mr.notify_resolved({name: defs(x=address)["x"] for name in mr.symbols})
        await mrs[0].notify_emitted([SymbolDependenceGroup({"Foo"}, {jd: {"Bar"}})])
        await mrs[1].notify_emitted([SymbolDependenceGroup({"Bar"}, {jd: {"Baz"}})])
        await within(asyncio.gather(emitted[0], emitted[1]))
        await barrier(es)
        assert not any(lookup.done() for lookup in lookups)
        assert not emitted[2].done()
        await mrs[2].notify_emitted([SymbolDependenceGroup({"Baz"}, {jd: {"Foo"}})])
        results = await within(asyncio.gather(*lookups))
        assert [addresses(r) for r in results] == [{"Foo": 1}, {"Bar": 2}, {"Baz": 3}]  # type: ignore[arg-type]
        assert "Emitted" not in await jd.dump()


@pytest.mark.asyncio
async def test_dependency_failure_fails_queries_and_later_lookups() -> None:
    """Items 18 and 19 (FailureInDependency, LLVM 22): failing Bar fails Bar's queries at
    once; Foo (depending on Bar) can still notify_resolved in 22, fails at emission, and
    later lookups of both fail."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        (foo_lookup, bar_lookup), (foo_mr, bar_mr) = await _materializing(es, jd, "Foo", "Bar")
        await bar_mr.fail_materialization()
        with pytest.raises(FailedToMaterializeError) as bar_error:
            await within(bar_lookup)
        assert str(bar_error.value) == "Failed to materialize symbols: { (JD, { Bar }) }"
        await barrier(es)
        assert not foo_lookup.done()
        await foo_mr.notify_resolved(defs(Foo=0x1))  # item 19: succeeds in LLVM 22
        with pytest.raises(UnsatisfiedSymbolDependenciesError):
            await foo_mr.notify_emitted([SymbolDependenceGroup({"Foo"}, {jd: {"Bar"}})])
        with pytest.raises(FailedToMaterializeError, match=r"\(JD, \{ Foo \}\)"):
            await within(foo_lookup)
        for name in ("Foo", "Bar"):
            with pytest.raises(FailedToMaterializeError, match=rf"\{{ {name} \}}"):
                await within(es.lookup([jd], [name]))


@pytest.mark.asyncio
async def test_dependency_on_failed_symbol_emit_raises_unsatisfied() -> None:
    """Item 20 (AddDependencyOnFailedSymbol, LLVM 22.1.8): notify_emitted depending on a
    failed symbol fails the emitting group's queries during the call and raises
    UnsatisfiedSymbolDependencies naming the MR's symbols; symbols in no group still emit."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        jd2 = await es.create_jitdylib("JD2")
        bar = CapturingUnit({"Bar": EXPORTED})
        await jd2.define(bar)
        bar_lookup = asyncio.create_task(es.lookup([jd2], ["Bar"]))
        unit = CapturingUnit({"Foo": EXPORTED, "Baz": EXPORTED})
        await jd.define(unit)
        foo_lookup = asyncio.create_task(es.lookup([jd], ["Foo", "Baz"]))
        baz_lookup = asyncio.create_task(es.lookup([jd], ["Baz"]))
        await (await bar.responsibility()).fail_materialization()
        with pytest.raises(FailedToMaterializeError):
            await within(bar_lookup)
        mr = await unit.responsibility()
        await mr.notify_resolved(defs(Foo=0x1000, Baz=0x2000))
        with pytest.raises(UnsatisfiedSymbolDependenciesError) as caught:
            await mr.notify_emitted([SymbolDependenceGroup({"Foo"}, {jd2: {"Bar"}})])
        assert str(caught.value) == (
            "In JD, failed to materialize { Foo, Baz }, due to unsatisfied dependencies "
            "{ (JD, { Foo }) } (dependencies removed or in error state)"
        )
        assert foo_lookup.done()  # failed inside the call
        with pytest.raises(FailedToMaterializeError) as foo_error:
            await foo_lookup
        assert str(foo_error.value) == "Failed to materialize symbols: { (JD, { Foo }) }"
        assert addresses(await within(baz_lookup)) == {"Baz": 0x2000}
        assert mr.symbols == {}


@pytest.mark.asyncio
async def test_dependency_failure_after_emission_fails_emitted_dependants() -> None:
    """Item 21 (FailAfterMaterialization): Foo emitted while waiting on Bar; when Bar fails,
    Foo's query fails too, listing both."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        (foo_lookup, bar_lookup), (foo_mr, bar_mr) = await _materializing(es, jd, "Foo", "Bar")
        await foo_mr.notify_resolved(defs(Foo=0x1))
        await foo_mr.notify_emitted([SymbolDependenceGroup({"Foo"}, {jd: {"Bar"}})])
        await barrier(es)
        assert not foo_lookup.done()
        await bar_mr.fail_materialization()
        for lookup in (foo_lookup, bar_lookup):
            with pytest.raises(FailedToMaterializeError) as caught:
                await within(lookup)
            assert str(caught.value) == "Failed to materialize symbols: { (JD, { Bar, Foo }) }"


@pytest.mark.asyncio
async def test_fail_materialization_fails_unqueried_symbols() -> None:
    """Item 22 (FailMaterializerWithUnqueriedSymbols): fail_materialization also fails the
    MR's symbols nobody asked for; later lookups of them fail."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await unit.responsibility()
        await mr.fail_materialization()
        with pytest.raises(FailedToMaterializeError):
            await within(lookup)
        with pytest.raises(FailedToMaterializeError) as caught:
            await within(es.lookup([jd], ["Bar"]))
        assert str(caught.value) == "Failed to materialize symbols: { (JD, { Bar }) }"
        assert "[*ERROR*]" in await jd.dump()


@pytest.mark.asyncio
async def test_fail_resolution_lists_exactly_the_units_symbols() -> None:
    """Item 23 (FailResolution): FailedToMaterialize lists exactly the failed unit's symbols
    under its JITDylib."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols(defs(Other=0x9)))
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Other", "Foo", "Bar"]))
        await (await unit.responsibility()).fail_materialization()
        with pytest.raises(FailedToMaterializeError) as caught:
            await within(lookup)
        assert caught.value.symbols == {"JD": ("Foo", "Bar")}


@pytest.mark.asyncio
async def test_fail_after_partial_resolution_and_after_resolve() -> None:
    """Item 24 (FailAfterPartialResolution, FailEmissionAfterResolution): a Resolved-state
    query over {ready Foo, failing Bar} fails; failing after notify_resolved fails the
    outstanding Ready lookup."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols(defs(Foo=0x1)))
        await within(es.lookup([jd], ["Foo"]))
        bar = CapturingUnit({"Bar": EXPORTED})
        await jd.define(bar)
        partial = asyncio.create_task(
            es.lookup([jd], ["Foo", "Bar"], required_state=SymbolState.RESOLVED)
        )
        await (await bar.responsibility()).fail_materialization()
        with pytest.raises(FailedToMaterializeError, match="Bar"):
            await within(partial)

        baz = CapturingUnit({"Baz": EXPORTED})
        await jd.define(baz)
        ready = asyncio.create_task(es.lookup([jd], ["Baz"]))
        mr = await baz.responsibility()
        await mr.notify_resolved(defs(Baz=0x3))
        await barrier(es)
        assert not ready.done()
        await mr.fail_materialization()
        with pytest.raises(FailedToMaterializeError, match="Baz"):
            await within(ready)


@pytest.mark.asyncio
async def test_dependency_across_jitdylibs_and_fan_in() -> None:
    """Dependencies span JITDylibs; many symbols waiting on one become Ready when it does."""
    async with orc() as (es, _):
        main = await es.create_jitdylib("main")
        lib = await es.create_jitdylib("lib")
        (dep_lookup,), (dep_mr,) = await _materializing(es, lib, "dep")
        users = [f"user{i}" for i in range(20)]
        lookups, mrs = await _materializing(es, main, *users)
        for mr, name in zip(mrs, users, strict=True):
            await mr.notify_resolved(defs(**{name: 0x100}))
            await mr.notify_emitted([SymbolDependenceGroup({name}, {lib: {"dep"}})])
        await barrier(es)
        assert not any(lookup.done() for lookup in lookups)
        await dep_mr.notify_resolved(defs(dep=0x1))
        await dep_mr.notify_emitted()
        await within(asyncio.gather(*lookups, dep_lookup))


@pytest.mark.asyncio
async def test_dependency_chain_emitted_in_random_order() -> None:
    """A chain emitted in any order becomes Ready exactly when its last link emits."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        count = 40
        chain = [f"s{i}" for i in range(count)]
        lookups, mrs = await _materializing(es, jd, *chain)
        order = list(range(count))
        random.Random(8).shuffle(order)
        for step, index in enumerate(order):
            mr = mrs[index]
            await mr.notify_resolved(defs(**{chain[index]: 0x10 + index}))
            deps = {jd: {chain[index + 1]}} if index + 1 < count else {}
            await mr.notify_emitted([SymbolDependenceGroup({chain[index]}, deps)])
            await barrier(es)
            emitted = set(order[: step + 1])
            for i, lookup in enumerate(lookups):
                expect_ready = all(j in emitted for j in range(i, count))
                assert lookup.done() == expect_ready, (step, i)
        await within(asyncio.gather(*lookups))
