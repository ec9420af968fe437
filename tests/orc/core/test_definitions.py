"""Definitions: strong and weak rules, aliases, re-exports, define_materializing (§7)."""

from __future__ import annotations

import asyncio

import pytest

from actors.orc import (
    DuplicateDefinitionError,
    ExecutorSymbolDef,
    JITDylibLookupFlags,
    JITSymbolFlags,
    ReexportsGenerator,
    ResourceTrackerDefunctError,
    SymbolAliasMapEntry,
    SymbolLookupFlags,
    SymbolLookupSet,
    absolute_symbols,
    reexports,
    symbol_aliases,
)
from tests.orc.core._support import (
    EXPORTED,
    WEAK,
    CapturingUnit,
    addresses,
    barrier,
    defs,
    names,
    orc,
    within,
)

CALLABLE = JITSymbolFlags.EXPORTED | JITSymbolFlags.CALLABLE
WEAKLY = SymbolLookupFlags.WEAKLY_REFERENCED


@pytest.mark.asyncio
async def test_aliases_weak_alias_overridden_and_chains_resolve() -> None:
    """Item 12 (TestBasicAliases, TestChainedAliases): a weak alias is overridden by a later
    strong definition; chained aliases resolve to the final target without deadlock."""
    async with orc() as (es, errors):
        jd = await es.create_jitdylib("JD")
        await jd.define(
            absolute_symbols(
                {"Foo": ExecutorSymbolDef(0x1, CALLABLE), "Bar": ExecutorSymbolDef(0x2, CALLABLE)}
            )
        )
        await jd.define(
            symbol_aliases(
                {
                    "Baz": SymbolAliasMapEntry("Foo", CALLABLE),
                    "Qux": SymbolAliasMapEntry("Bar", CALLABLE | JITSymbolFlags.WEAK),
                }
            )
        )
        await jd.define(absolute_symbols({"Qux": ExecutorSymbolDef(0x9, CALLABLE)}))
        found = await within(es.lookup([jd], ["Baz", "Qux"]))
        assert addresses(found) == {"Baz": 0x1, "Qux": 0x9}
        assert found[es.intern("Baz")].flags == CALLABLE

        chain = await es.create_jitdylib("Chain")
        await chain.define(absolute_symbols({"Foo": ExecutorSymbolDef(0x10, CALLABLE)}))
        await chain.define(
            symbol_aliases(
                {
                    "Baz": SymbolAliasMapEntry("Bar", CALLABLE),
                    "Bar": SymbolAliasMapEntry("Foo", CALLABLE),
                }
            )
        )
        found = await within(es.lookup([chain], ["Baz", "Bar"]))
        assert addresses(found) == {"Baz": 0x10, "Bar": 0x10}
        assert errors == []


@pytest.mark.asyncio
async def test_reexports_resolve_source_and_skip_unrequested_aliasees() -> None:
    """Item 13 (TestBasicReExports, TestThatReExportsDontUnnecessarilyMaterialize):
    re-exports resolve to the source address and never materialize unrequested aliasees."""
    async with orc() as (es, errors):
        source = await es.create_jitdylib("Source")
        target = await es.create_jitdylib("Target")
        foo_unit = CapturingUnit({"Foo": EXPORTED})
        bar_unit = CapturingUnit({"Bar": EXPORTED})
        await source.define(foo_unit)
        await source.define(bar_unit)
        await target.define(
            reexports(
                source,
                {
                    "Baz": SymbolAliasMapEntry("Foo", EXPORTED),
                    "Qux": SymbolAliasMapEntry("Bar", EXPORTED),
                },
            )
        )
        lookup = asyncio.create_task(es.lookup([target], ["Baz"]))
        foo_mr = await foo_unit.responsibility()
        await foo_mr.notify_resolved(defs(Foo=0x100))
        await foo_mr.notify_emitted()
        assert addresses(await within(lookup)) == {"Baz": 0x100}
        await barrier(es)
        assert not bar_unit.was_materialized
        # The unrequested alias went back to the JITDylib and still works later.
        later = asyncio.create_task(es.lookup([target], ["Qux"]))
        bar_mr = await bar_unit.responsibility()
        await bar_mr.notify_resolved(defs(Bar=0x200))
        await bar_mr.notify_emitted()
        assert addresses(await within(later)) == {"Qux": 0x200}
        assert errors == []


@pytest.mark.asyncio
async def test_reexports_generator_honours_its_filter() -> None:
    """Item 14 (TestReexportsGenerator): a ReexportsGenerator re-exports only what its filter
    allows."""
    async with orc() as (es, _):
        source = await es.create_jitdylib("Source")
        target = await es.create_jitdylib("Target")
        await source.define(absolute_symbols(defs(Foo=0x1, Bar=0x2)))
        await target.add_generator(ReexportsGenerator(source, allow=lambda n: str(n) != "Bar"))
        flags = await within(
            es.lookup_flags([target], SymbolLookupSet(["Foo", "Bar", "Baz"], WEAKLY))
        )
        assert names(flags) == {"Foo"}
        assert addresses(await within(es.lookup([target], ["Foo"]))) == {"Foo": 0x1}


@pytest.mark.asyncio
async def test_define_unit_with_all_weak_symbols_overridden_is_dropped() -> None:
    """Item 25 (DropMaterializerWhenEmpty): a unit whose weak symbols are all overridden is
    dropped unmaterialized (discard called for each)."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": WEAK, "Bar": WEAK})
        await jd.define(unit)
        await jd.define(absolute_symbols(defs(Foo=0x1)))
        await jd.define(absolute_symbols(defs(Bar=0x2)))
        assert unit.discarded == ["Foo", "Bar"]
        assert addresses(await within(es.lookup([jd], ["Foo", "Bar"]))) == {"Foo": 1, "Bar": 2}
        assert not unit.was_materialized
        assert "Materializer" not in await jd.dump()


@pytest.mark.asyncio
async def test_define_overridden_weak_symbol_discarded_unit_materializes_rest() -> None:
    """Item 26 (AddAndMaterializeLazySymbol): a weak symbol overridden before lookup is
    discarded from its unit, which then materializes without it."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": WEAK, "Bar": EXPORTED})
        await jd.define(unit)
        await jd.define(absolute_symbols(defs(Foo=0x1)))
        assert unit.discarded == ["Foo"]
        lookup = asyncio.create_task(es.lookup([jd], ["Bar"]))
        mr = await unit.responsibility()
        assert names(mr.symbols) == {"Bar"}
        await mr.notify_resolved(defs(Bar=0x2))
        await mr.notify_emitted()
        assert addresses(await within(lookup)) == {"Bar": 0x2}


@pytest.mark.asyncio
async def test_define_duplicate_weak_symbol_first_unit_supplies_it() -> None:
    """Item 27 (TestBasicWeakSymbolMaterialization): with two units defining the same weak
    symbol, the first supplies it and the second gets discard at once."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        first = CapturingUnit({"Foo": WEAK, "Bar": EXPORTED})
        second = CapturingUnit({"Foo": WEAK, "Baz": EXPORTED})
        await jd.define(first)
        await jd.define(second)
        assert second.discarded == ["Foo"]
        assert first.discarded == []
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await first.responsibility()
        assert names(mr.symbols) == {"Foo", "Bar"}
        await mr.notify_resolved({"Foo": ExecutorSymbolDef(0x1, WEAK), **defs(Bar=0x2)})
        await mr.notify_emitted()
        found = await within(lookup)
        assert addresses(found) == {"Foo": 0x1}
        assert found[es.intern("Foo")].flags == WEAK  # LLVM 22 keeps the declared flags
        assert not second.was_materialized


@pytest.mark.asyncio
async def test_define_strong_over_looked_up_weak_is_duplicate() -> None:
    """Item 28 (RedefineBoundWeakSymbol): redefining a weak symbol after it was looked up is
    a DuplicateDefinition, and nothing changes."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols({"Foo": ExecutorSymbolDef(0x1, WEAK)}))
        await within(es.lookup([jd], ["Foo"]))
        with pytest.raises(DuplicateDefinitionError) as caught:
            await jd.define(absolute_symbols(defs(Foo=0x2, Bar=0x3)))
        assert str(caught.value) == "In <Absolute Symbols>, duplicate definition of symbol 'Foo'"
        assert addresses(await within(es.lookup([jd], ["Foo"]))) == {"Foo": 0x1}
        found = await within(es.lookup([jd], SymbolLookupSet(["Bar"], WEAKLY)))
        assert found == {}  # the failed define added nothing


@pytest.mark.asyncio
async def test_define_strong_while_materializing_is_duplicate() -> None:
    """Item 29 (TestMaterializeWeakSymbol): a strong definition while the existing one is
    Materializing is a DuplicateDefinition."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        unit = CapturingUnit({"Foo": WEAK})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await unit.responsibility()
        with pytest.raises(DuplicateDefinitionError, match="'Foo'"):
            await jd.define(absolute_symbols(defs(Foo=0x2)))
        await mr.notify_resolved({"Foo": ExecutorSymbolDef(0x1, WEAK)})
        await mr.notify_emitted()
        assert addresses(await within(lookup)) == {"Foo": 0x1}


@pytest.mark.asyncio
async def test_define_duplicate_text_is_llvm_22s() -> None:
    """Item 30: ``In <Absolute Symbols>, duplicate definition of symbol 'Baz'`` (LLVM 22);
    without a context the 14 text ``Duplicate definition of symbol 'Baz'``."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols(defs(Baz=0x1)))
        with pytest.raises(DuplicateDefinitionError) as caught:
            await jd.define(absolute_symbols(defs(Baz=0x2)))
        assert str(caught.value) == "In <Absolute Symbols>, duplicate definition of symbol 'Baz'"
        assert caught.value.symbol == "Baz"
        assert str(DuplicateDefinitionError("Baz")) == "Duplicate definition of symbol 'Baz'"
        named = CapturingUnit({"Baz": EXPORTED}, unit_name="dup2.o")
        with pytest.raises(DuplicateDefinitionError, match=r"^In dup2\.o, duplicate definition"):
            await jd.define(named)


@pytest.mark.asyncio
async def test_define_materializing_symbols_found_without_rematerializing() -> None:
    """Item 31 (DefineMaterializingSymbol): symbols added by define_materializing are found
    later without another materialization; a strong duplicate fails and adds nothing."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols(defs(Existing=0x9)))
        unit = CapturingUnit({"Foo": EXPORTED})
        await jd.define(unit)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await unit.responsibility()
        with pytest.raises(DuplicateDefinitionError) as caught:
            await mr.define_materializing({"Bar": EXPORTED, "Existing": EXPORTED})
        assert str(caught.value) == (
            "In defineMaterializing operation, duplicate definition of symbol 'Existing'"
        )
        assert names(mr.symbols) == {"Foo"}
        await mr.define_materializing({"Bar": EXPORTED, "Existing": WEAK})
        assert names(mr.symbols) == {"Foo", "Bar"}
        await mr.notify_resolved(defs(Foo=0x1, Bar=0x2))
        await mr.notify_emitted()
        await within(lookup)
        assert addresses(await within(es.lookup([jd], ["Bar"]))) == {"Bar": 0x2}
        assert unit.materialized == 1


@pytest.mark.asyncio
async def test_define_materializing_after_tracker_removal_fails() -> None:
    """Item 32 (FailDefineMaterializingDueToDefunctTracker): define_materializing after the
    tracker was removed fails with ResourceTrackerDefunctError."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        tracker = await jd.create_resource_tracker()
        unit = CapturingUnit({"Foo": EXPORTED})
        await jd.define(unit, tracker)
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        mr = await unit.responsibility()
        await tracker.remove()
        with pytest.raises(ResourceTrackerDefunctError) as caught:
            await mr.define_materializing({"Bar": EXPORTED})
        assert str(caught.value) == f"Resource tracker {tracker.key:#x} became defunct"
        with pytest.raises(Exception, match="Failed to materialize"):
            await within(lookup)


@pytest.mark.asyncio
async def test_define_rejects_bad_units_and_foreign_trackers() -> None:
    """Bad input: not a unit, a tracker of another JITDylib, an init symbol outside the
    interface."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        other = await es.create_jitdylib("Other")
        with pytest.raises(TypeError, match="MaterializationUnit"):
            await jd.define(object())  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="belongs to JITDylib Other"):
            await jd.define(absolute_symbols(defs(Foo=1)), other.default_tracker)
        with pytest.raises(ValueError, match="init symbol"):
            CapturingUnit({"Foo": EXPORTED}, init_symbol="Bar")
        await jd.define(absolute_symbols({}))  # an empty unit is fine and records nothing
        assert "Symbol table:\n" in await jd.dump()


@pytest.mark.asyncio
async def test_symbol_flags_and_dump_format() -> None:
    """§1.2/§5.2: the dump shows LLVM's spelling of flags and states; LLVM 22 keeps the
    declared Weak flag after resolution."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        weak_callable = CALLABLE | JITSymbolFlags.WEAK
        await jd.define(
            absolute_symbols(
                {
                    "Wk": ExecutorSymbolDef(0x10, weak_callable),
                    "Hid": ExecutorSymbolDef(0x20, JITSymbolFlags.NONE),
                }
            )
        )
        lazy = CapturingUnit({"Lazy": EXPORTED | JITSymbolFlags.COMMON}, unit_name="lazy.o")
        await jd.define(lazy)
        await within(es.lookup([(jd, JITDylibLookupFlags.MATCH_ALL_SYMBOLS)], ["Wk", "Hid"]))
        dump = await es.dump()
        assert dump.startswith('JITDylib "JD" (ES: 0x')
        assert 'Link order: [ ("JD", MatchAllSymbols) ]' in dump
        assert '    "Wk": 0x10 [Callable][Weak] Ready' in dump
        assert '    "Hid": 0x20 [Data][Hidden] Ready' in dump
        assert '    "Lazy": <not resolved>  [Data][Common] Never-Searched (Materializer' in dump
        assert "lazy.o)" in dump
