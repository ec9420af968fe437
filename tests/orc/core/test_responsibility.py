"""MaterializationResponsibility: replace, delegate, misuse, failures of materializers."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from actors.orc import (
    ExecutorSymbolDef,
    FailedToMaterializeError,
    JITSymbolFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    OrcError,
    SymbolDependenceGroup,
    SymbolLookupFlags,
    SymbolLookupSet,
)
from tests.orc.core._support import (
    EXPORTED,
    MSEO,
    CallbackUnit,
    CapturingUnit,
    addresses,
    barrier,
    defs,
    names,
    orc,
    within,
)


@pytest.mark.asyncio
async def test_requested_symbols_and_replace_defer_unrequested() -> None:
    """Item 37 (TestGetRequestedSymbolsAndReplace): get_requested_symbols + replace defer the
    unrequested symbols until they are looked up."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await unit.responsibility()
        assert names(await mr.get_requested_symbols()) == {"Foo"}
        bar_unit = CapturingUnit({"Bar": EXPORTED})
        await mr.replace(bar_unit)
        assert names(mr.symbols) == {"Foo"}
        await mr.notify_resolved(defs(Foo=0x1))
        await mr.notify_emitted()
        assert addresses(await within(lookup)) == {"Foo": 0x1}
        await barrier(es)
        assert not bar_unit.was_materialized
        bar_lookup = asyncio.create_task(es.lookup([jd], ["Bar"]))
        bar_mr = await bar_unit.responsibility()
        await bar_mr.notify_resolved(defs(Bar=0x2))
        await bar_mr.notify_emitted()
        assert addresses(await within(bar_lookup)) == {"Bar": 0x2}


@pytest.mark.asyncio
async def test_replace_with_pending_query_materializes_at_once() -> None:
    """§1.8 replace: if a lookup already waits for a replaced symbol, the new unit is
    materialized right away."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo", "Bar"]))
        mr = await unit.responsibility()
        bar_unit = CapturingUnit({"Bar": EXPORTED})
        await mr.replace(bar_unit)
        bar_mr = await bar_unit.responsibility()
        for each, address in ((mr, 1), (bar_mr, 2)):
            await each.notify_resolved(
                {n: ExecutorSymbolDef(address, EXPORTED) for n in each.symbols}
            )
            await each.notify_emitted()
        assert addresses(await within(lookup)) == {"Foo": 1, "Bar": 2}


@pytest.mark.asyncio
async def test_delegate_splits_responsibility_parts_emit_independently() -> None:
    """Item 38 (TestMaterializationResponsibilityDelegation): delegate splits an MR; both
    parts resolve and emit independently; the initializer symbol follows."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": EXPORTED, "Init": MSEO}, init_symbol="Init")
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo", "Bar"]))
        mr = await unit.responsibility()
        assert str(mr.initializer_symbol) == "Init"
        part = await mr.delegate(["Bar", "Init"])
        assert names(mr.symbols) == {"Foo"}
        assert names(part.symbols) == {"Bar", "Init"}
        assert mr.initializer_symbol is None
        assert str(part.initializer_symbol) == "Init"
        assert part.resource_tracker is mr.resource_tracker
        await part.notify_resolved(defs(Bar=0x2))
        await part.notify_emitted()
        await barrier(es)
        assert not lookup.done()
        await mr.notify_resolved(defs(Foo=0x1))
        await mr.notify_emitted()
        assert addresses(await within(lookup)) == {"Foo": 1, "Bar": 2}


@pytest.mark.asyncio
async def test_responsibility_misuse_names_the_symbol() -> None:
    """Issue #8 item 5: misuse (a symbol not owned, emitting before resolving, wrong flags,
    resolving a side-effects-only symbol, overlapping groups, use after emission) is an error
    naming the symbol, and changes nothing."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": EXPORTED, "Bar": EXPORTED, "Side": MSEO})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo", "Bar"]))
        mr = await unit.responsibility()
        with pytest.raises(ValueError, match="'Nope' is not a symbol of this"):
            await mr.notify_resolved(defs(Nope=0x1))
        with pytest.raises(RuntimeError, match="'Foo' in JD is Materializing; resolve it"):
            await mr.notify_emitted()
        with pytest.raises(ValueError, match="'Foo' in JD resolved with flags"):
            await mr.notify_resolved({"Foo": ExecutorSymbolDef(1, JITSymbolFlags.CALLABLE)})
        with pytest.raises(ValueError, match="'Side' in JD is side-effects-only"):
            await mr.notify_resolved({"Side": ExecutorSymbolDef(1, MSEO)})
        await mr.notify_resolved(defs(Foo=0x1, Bar=0x2))
        with pytest.raises(RuntimeError, match="'Foo' in JD is Resolved"):
            await mr.notify_resolved(defs(Foo=0x1))
        with pytest.raises(ValueError, match="'Foo' appears in two"):
            await mr.notify_emitted(
                [SymbolDependenceGroup({"Foo"}), SymbolDependenceGroup({"Foo", "Bar"})]
            )
        with pytest.raises(ValueError, match="'Nope' is not a symbol"):
            await mr.delegate(["Nope"])
        await mr.notify_emitted()
        assert addresses(await within(lookup)) == {"Foo": 1, "Bar": 2}
        with pytest.raises(ValueError, match=r"'Foo' is not a symbol of this .* it owns \{  \}"):
            await mr.notify_resolved(defs(Foo=0x1))
        await mr.fail_materialization()  # empty: nothing to fail
        assert addresses(await within(es.lookup([jd], ["Foo"]))) == {"Foo": 1}


class _Raising(MaterializationUnit):
    def __init__(self, symbols: dict[str, JITSymbolFlags], *, blocking: bool) -> None:
        super().__init__(symbols)
        self.blocking = blocking

    @property
    def name(self) -> str:
        return "raising.o"

    def materialize(self, mr: MaterializationResponsibility) -> None:
        raise ValueError("the compiler crashed")


class _AsyncRaising(MaterializationUnit):
    async def materialize(self, mr: MaterializationResponsibility) -> None:
        await mr.notify_resolved({n: ExecutorSymbolDef(1, EXPORTED) for n in mr.symbols})
        raise ValueError("the linker crashed")


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_materializer_that_raises_fails_its_symbols_and_is_reported(kind: str) -> None:
    """A materializer that raises fails its MR (lookups get FailedToMaterialize) and the
    error is reported, noted with the unit and JITDylib."""
    async with orc() as (es, errors):
        jd = await es.create_jitdylib("JD")
        unit = (
            _Raising({"Foo": EXPORTED}, blocking=True)
            if kind == "sync"
            else _AsyncRaising({"Foo": EXPORTED})
        )
        await jd.define(unit)
        with pytest.raises(FailedToMaterializeError, match=r"\{ \(JD, \{ Foo \}\) \}"):
            await within(es.lookup([jd], ["Foo"]))
        await barrier(es)
        crashed = [e for e in errors if isinstance(e, ValueError)]
        assert len(crashed) == 1
        assert "crashed" in str(crashed[0])
        assert any("while materializing" in note for note in crashed[0].__notes__)


@pytest.mark.asyncio
async def test_dropped_responsibility_fails_its_symbols() -> None:
    """An MR garbage-collected while it still owns symbols fails them (queries never hang),
    and the session reports it."""

    async def forget(mr: MaterializationResponsibility) -> None:
        del mr  # returns without resolving, emitting or failing

    async with orc() as (es, errors):
        jd = await es.create_jitdylib("JD")
        await jd.define(CallbackUnit({"Foo": EXPORTED, "Bar": EXPORTED}, forget, "forgetful.o"))
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        await barrier(es)
        gc.collect()
        with pytest.raises(FailedToMaterializeError, match="Foo"):
            await within(lookup)
        await barrier(es)
        dropped = [e for e in errors if isinstance(e, OrcError) and "dropped" in str(e)]
        assert len(dropped) == 1
        assert "forgetful.o in JD" in str(dropped[0])


@pytest.mark.asyncio
async def test_with_resource_key_do_runs_under_the_lock_with_the_key() -> None:
    """§1.8 (LLVM 22): with_resource_key_do calls fn(key) on the session's task and returns
    its result; the key is the tracker's."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        tracker = await jd.create_resource_tracker()
        unit = CapturingUnit({"Foo": EXPORTED})
        await jd.define(unit, tracker)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await unit.responsibility()
        loop_thread = threading.get_ident()
        seen: list[tuple[int, int]] = []

        def record(key: int) -> str:
            seen.append((key, threading.get_ident()))
            return f"key {key:#x}"

        assert await mr.with_resource_key_do(record) == f"key {tracker.key:#x}"
        assert seen == [(tracker.key, loop_thread)]
        assert mr.target_jitdylib is jd
        assert mr.session is es
        await mr.notify_resolved(defs(Foo=1))
        await mr.notify_emitted()
        await within(lookup)


class _BlockingUnit(MaterializationUnit):
    """A plain-def unit that looks something up with es.blocking before resolving."""

    def materialize(self, mr: MaterializationResponsibility) -> None:
        es = mr.session
        base = es.blocking.lookup([mr.target_jitdylib], ["Base"])[es.intern("Base")].address
        requested = mr.blocking.get_requested_symbols()
        assert requested <= set(mr.symbols)
        mr.blocking.notify_resolved(
            {n: ExecutorSymbolDef(base + i + 1, EXPORTED) for i, n in enumerate(mr.symbols)}
        )
        mr.blocking.notify_emitted()


@pytest.mark.asyncio
async def test_blocking_unit_uses_blocking_facades_on_a_worker_thread() -> None:
    """Issue #8 item 8: a plain-def unit runs on a worker thread and uses mr.blocking and
    es.blocking; blocking calls on the loop thread are refused (they would deadlock)."""
    async with orc() as (es, errors):
        jd = await es.create_jitdylib("JD")
        from actors.orc import absolute_symbols

        await jd.define(absolute_symbols(defs(Base=0x1000)))
        await jd.define(_BlockingUnit({"Foo": EXPORTED, "Bar": EXPORTED}))
        assert addresses(await within(es.lookup([jd], ["Foo", "Bar"]))) == {
            "Foo": 0x1001,
            "Bar": 0x1002,
        }
        with pytest.raises(RuntimeError, match="would deadlock"):
            es.blocking.lookup([jd], ["Foo"])
        lazy = CapturingUnit({"Lazy": EXPORTED})
        await jd.define(lazy)
        lookup = asyncio.create_task(
            es.lookup([jd], SymbolLookupSet(["Lazy"], SymbolLookupFlags.WEAKLY_REFERENCED))
        )
        mr = await lazy.responsibility()
        with pytest.raises(RuntimeError, match="would deadlock"):
            mr.blocking.notify_emitted()
        await mr.notify_resolved(defs(Lazy=0x1))
        await mr.notify_emitted()
        await within(lookup)
        assert errors == []
