"""Definition generators: what they see, their order, suspension, queueing (§7 items 11, 33-36)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from actors.orc import (
    DefinitionGenerator,
    ExecutorSymbolDef,
    JITDylib,
    JITDylibLookupFlags,
    LookupKind,
    LookupState,
    OrcError,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolsNotFoundError,
    absolute_symbols,
)
from tests.orc.core._support import EXPORTED, addresses, barrier, defs, orc, within

WEAKLY = SymbolLookupFlags.WEAKLY_REFERENCED


class DictGenerator(DefinitionGenerator):
    """Defines names it knows (from a dict) and records every call."""

    def __init__(self, known: Mapping[str, int], label: str = "gen") -> None:
        self.known = dict(known)
        self.label = label
        self.calls: list[list[tuple[str, SymbolLookupFlags]]] = []
        self.log: list[str] | None = None

    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        self.calls.append([(str(n), f) for n, f in lookup_set])
        if self.log is not None:
            self.log.append(self.label)
        found = {
            n: ExecutorSymbolDef(self.known[str(n)], EXPORTED)
            for n, _ in lookup_set
            if str(n) in self.known
        }
        if found:
            await jd.define(absolute_symbols(found))


class FailingGenerator(DefinitionGenerator):
    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        raise OrcError("generator went wrong")


@pytest.mark.asyncio
async def test_generator_error_fails_lookup_and_lookup_flags() -> None:
    """Item 11 (LookupWithGeneratorFailure): a generator error fails lookup and lookup_flags
    with that error."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.add_generator(FailingGenerator())
        with pytest.raises(OrcError, match="generator went wrong"):
            await within(es.lookup([jd], ["Foo"]))
        with pytest.raises(OrcError, match="generator went wrong"):
            await within(es.lookup_flags([jd], ["Foo"]))


@pytest.mark.asyncio
async def test_generator_sees_only_undefined_names_weak_missing_dropped() -> None:
    """Item 33 (GeneratorTest): generators see only names not already defined; weak names
    they cannot supply are omitted from the result; the kind and state are passed on."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        await jd.define(absolute_symbols(defs(Foo=0x1)))
        generator = await jd.add_generator(DictGenerator({"Bar": 0x2, "Baz": 0x3}))
        lookup_set = SymbolLookupSet(["Foo", "Bar"]).add("Baz").add("Qux", WEAKLY)
        found = await within(es.lookup([jd], lookup_set, kind=LookupKind.DLSYM))
        assert addresses(found) == {"Foo": 0x1, "Bar": 0x2, "Baz": 0x3}
        assert generator.calls == [
            [
                ("Bar", SymbolLookupFlags.REQUIRED),
                ("Baz", SymbolLookupFlags.REQUIRED),
                ("Qux", WEAKLY),
            ]
        ]
        # Defined now: a second lookup does not ask the generator again.
        await within(es.lookup([jd], ["Bar"]))
        assert len(generator.calls) == 1
        with pytest.raises(SymbolsNotFoundError, match=r"\[ Nope \]"):
            await within(es.lookup([jd], ["Nope"]))


@pytest.mark.asyncio
async def test_generators_run_in_order_second_skipped_when_nothing_remains() -> None:
    """Item 34: with two generators the first added runs first, the second gets only what
    is left, and it is skipped once nothing remains."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        log: list[str] = []
        first = DictGenerator({"A": 0x1}, "first")
        second = DictGenerator({"B": 0x2, "A": 0x99}, "second")
        first.log = second.log = log
        await jd.add_generator(first)
        await jd.add_generator(second)
        assert addresses(await within(es.lookup([jd], ["A", "B"]))) == {"A": 0x1, "B": 0x2}
        assert log == ["first", "second"]
        assert [n for n, _ in second.calls[0]] == ["B"]
        await within(es.lookup([jd], SymbolLookupSet(["C"], WEAKLY)))
        assert log == ["first", "second", "first", "second"]
        jd2 = await es.create_jitdylib("JD2")
        only_first = DictGenerator({"X": 0x5}, "first")
        never = DictGenerator({}, "never")
        log2: list[str] = []
        only_first.log = never.log = log2
        await jd2.add_generator(only_first)
        await jd2.add_generator(never)
        await within(es.lookup([jd2], ["X"]))
        assert log2 == ["first"]


class GatedGenerator(DefinitionGenerator):
    """Waits on an event before defining; records concurrency and order."""

    def __init__(self, known: Mapping[str, int], define_all: bool = False) -> None:
        self.known = dict(known)
        self.define_all = define_all
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.calls: list[list[str]] = []
        self.active = 0
        self.max_active = 0
        self.fail_with: BaseException | None = None

    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        self.calls.append([str(n) for n, _ in lookup_set])
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.entered.set()
        try:
            await self.gate.wait()
            if self.fail_with is not None:
                raise self.fail_with
            wanted = self.known if self.define_all else {str(n) for n, _ in lookup_set}
            found = {
                n: ExecutorSymbolDef(self.known[n], EXPORTED) for n in wanted if n in self.known
            }
            if found:
                await jd.define(absolute_symbols(found))
        finally:
            self.active -= 1


@pytest.mark.asyncio
async def test_generator_may_suspend_and_finish_later() -> None:
    """Item 35 (AsynchronousGeneratorTest, SimpleAsynchronousGeneratorTest): a generator may
    suspend (LLVM: capture the LookupState) and finish later; the lookup waits for it."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        generator = await jd.add_generator(GatedGenerator({"Foo": 0x1}))
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        await within(generator.entered.wait())
        await barrier(es)
        assert not lookup.done()
        generator.gate.set()
        assert addresses(await within(lookup)) == {"Foo": 0x1}


@pytest.mark.asyncio
async def test_generator_suspended_then_error_fails_lookup() -> None:
    """Item 35 (ErrorFromSuspendedAsynchronousGeneratorTest): a suspended generator that
    finishes with an error fails the lookup with it; the generator is free afterwards."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        generator = await jd.add_generator(GatedGenerator({"Foo": 0x1}))
        generator.fail_with = OrcError("no such library")
        lookup = asyncio.create_task(es.lookup([jd], ["Foo"]))
        await within(generator.entered.wait())
        generator.gate.set()
        with pytest.raises(OrcError, match="no such library"):
            await within(lookup)
        generator.fail_with = None
        assert addresses(await within(es.lookup([jd], ["Foo"]))) == {"Foo": 0x1}


@pytest.mark.asyncio
async def test_generator_busy_queues_lookups_in_order() -> None:
    """Item 36 (BlockedGeneratorAutoSuspensionTest, LLVM 22): lookups reaching a busy
    generator are queued and resumed one at a time, in arrival order."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        generator = await jd.add_generator(GatedGenerator({"A": 0x1, "B": 0x2, "C": 0x3}))
        lookups = []
        for name in ("A", "B", "C"):
            lookups.append(asyncio.create_task(es.lookup([jd], [name])))
            await barrier(es)
        await within(generator.entered.wait())
        await barrier(es)
        assert generator.calls == [["A"]]
        generator.gate.set()
        results = await within(asyncio.gather(*lookups))
        assert [addresses(r) for r in results] == [{"A": 1}, {"B": 2}, {"C": 3}]
        assert generator.calls == [["A"], ["B"], ["C"]]
        assert generator.max_active == 1


@pytest.mark.asyncio
async def test_generator_queued_lookup_skips_generator_once_defined() -> None:
    """Item 36 (LLVM 22 ResumedForGenerator): a queued lookup whose names were generated
    meanwhile completes without calling the generator again."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        generator = await jd.add_generator(GatedGenerator({"A": 1, "B": 2}, define_all=True))
        first = asyncio.create_task(es.lookup([jd], ["A"]))
        await within(generator.entered.wait())
        second = asyncio.create_task(es.lookup([jd], ["B"]))
        await barrier(es)
        generator.gate.set()
        assert addresses(await within(first)) == {"A": 1}
        assert addresses(await within(second)) == {"B": 2}
        assert generator.calls == [["A"]]


@pytest.mark.asyncio
async def test_generator_removed_fails_waiting_and_queued_lookups() -> None:
    """§1.6: removing a generator fails lookups queued on it (``Query waiting on
    DefinitionGenerator that was destroyed``) and lookups that would still consult it
    (``DefinitionGenerator removed while lookup in progress``)."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        busy = await jd.add_generator(GatedGenerator({"A": 1, "B": 2}))
        later = await jd.add_generator(DictGenerator({"Z": 9}))
        first = asyncio.create_task(es.lookup([jd], ["A", "Z"]))
        await within(busy.entered.wait())
        queued = asyncio.create_task(es.lookup([jd], ["B"]))
        await barrier(es)
        await jd.remove_generator(busy)
        with pytest.raises(
            OrcError, match="Query waiting on DefinitionGenerator that was destroyed"
        ):
            await within(queued)
        await jd.remove_generator(later)
        busy.gate.set()
        with pytest.raises(OrcError, match="DefinitionGenerator removed while lookup in progress"):
            await within(first)
        with pytest.raises(ValueError, match="not a generator"):
            await jd.remove_generator(later)


@pytest.mark.asyncio
async def test_generator_of_earlier_jitdylib_shadows_later_definition() -> None:
    """§1.6 phase 1: generators of an earlier JITDylib run before later JITDylibs are even
    inspected, so a generator can shadow a definition in a later JITDylib."""
    async with orc() as (es, _):
        jd1 = await es.create_jitdylib("JD1")
        jd2 = await es.create_jitdylib("JD2")
        await jd1.add_generator(DictGenerator({"Foo": 0x1}))
        await jd2.define(absolute_symbols(defs(Foo=0x2)))
        assert addresses(await within(es.lookup([jd1, jd2], ["Foo"]))) == {"Foo": 0x1}


@pytest.mark.asyncio
async def test_generator_cancelled_lookup_frees_generator() -> None:
    """A lookup task cancelled while its generator runs frees the generator for others."""
    async with orc() as (es, _):
        jd = await es.create_jitdylib("JD")
        generator = await jd.add_generator(GatedGenerator({"A": 1}))
        first = asyncio.create_task(es.lookup([jd], ["A"]))
        await within(generator.entered.wait())
        queued = asyncio.create_task(es.lookup([jd], ["A"]))
        await barrier(es)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        generator.gate.set()
        assert addresses(await within(queued)) == {"A": 1}
