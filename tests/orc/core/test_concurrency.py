"""Concurrency (issue #8): 1,000 concurrent lookups over 100 JITDylibs.

Leaf units are plain ``def`` materializers on the thread-pool dispatcher; each blocks its
worker thread until a releaser task lets it go, in random order, so materializations
complete out of order. Composite units (``async def``, on the loop) resolve their own
symbols, look up their dependencies (in other JITDylibs, cycles allowed) at RESOLVED, and
emit depending on them. Every JITDylib also has a generator that defines symbols on demand.
Some leaves fail. Expected: every lookup gets exactly one answer, correct addresses or
FailedToMaterializeError exactly when a looked-up symbol depends (transitively) on a failed
leaf; each unit materializes at most once.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable

import pytest

from actors.orc import (
    DefinitionGenerator,
    ExecutionSession,
    ExecutorSymbolDef,
    FailedToMaterializeError,
    JITDylib,
    JITDylibLookupFlags,
    LookupKind,
    LookupState,
    MaterializationResponsibility,
    MaterializationUnit,
    SymbolDependenceGroup,
    SymbolLookupSet,
    SymbolState,
)
from tests.orc.core._support import EXPORTED, orc

JDS = 100
LEAVES = 4  # per JITDylib
COMPOSITES = 4
GENERATED = 3
LOOKUPS = 1000
MATCH_ALL = JITDylibLookupFlags.MATCH_ALL_SYMBOLS


class World:
    """The symbols of the test, who defines them, what they depend on, what must fail."""

    def __init__(self, seed: int) -> None:
        rnd = random.Random(seed)
        self.rnd = rnd
        self.address: dict[str, int] = {}
        self.home: dict[str, int] = {}  # symbol -> JITDylib index
        self.deps: dict[str, list[str]] = {}
        self.failing: set[str] = set()
        self.generated: dict[int, list[str]] = {}
        names: list[str] = []
        for jd in range(JDS):
            for kind, count in (("L", LEAVES), ("C", COMPOSITES), ("G", GENERATED)):
                for k in range(count):
                    name = f"{kind}{jd}_{k}"
                    names.append(name)
                    self.home[name] = jd
                    self.address[name] = 0x1000 * (len(names))
                    if kind == "G":
                        self.generated.setdefault(jd, []).append(name)
                    if kind in "LG" and rnd.random() < 0.04:
                        self.failing.add(name)
        for name in names:
            if name.startswith("C"):
                self.deps[name] = rnd.sample(names, rnd.randint(1, 3))
        self.bad = self._closure()
        self.names = names

    def _closure(self) -> set[str]:
        bad = set(self.failing)
        changed = True
        while changed:
            changed = False
            for name, deps in self.deps.items():
                if name not in bad and any(d in bad for d in deps):
                    bad.add(name)
                    changed = True
        return bad


class Releaser:
    """Lets blocked leaf materializers go, in random order (out-of-order completion)."""

    def __init__(self, rnd: random.Random) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[threading.Event] = asyncio.Queue()
        self.rnd = rnd

    def park(self) -> None:
        """Called on a worker thread: wait until released."""
        gate = threading.Event()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, gate)
        assert gate.wait(30), "never released"

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self.rnd.shuffle(batch)
            for gate in batch:
                gate.set()
                await asyncio.sleep(0)


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def hit(self, unit: str) -> None:
        with self.lock:
            self.counts[unit] = self.counts.get(unit, 0) + 1


class LeafUnit(MaterializationUnit):
    def __init__(self, world: World, name: str, releaser: Releaser, counter: Counter) -> None:
        super().__init__({name: EXPORTED})
        self.world, self.symbol, self.releaser, self.counter = world, name, releaser, counter

    def materialize(self, mr: MaterializationResponsibility) -> None:
        self.counter.hit(self.symbol)
        self.releaser.park()
        if self.symbol in self.world.failing:
            mr.blocking.fail_materialization()
            return
        mr.blocking.notify_resolved(
            {self.symbol: ExecutorSymbolDef(self.world.address[self.symbol], EXPORTED)}
        )
        mr.blocking.notify_emitted()


class CompositeUnit(MaterializationUnit):
    def __init__(self, world: World, name: str, jds: list[JITDylib], counter: Counter) -> None:
        super().__init__({name: EXPORTED})
        self.world, self.symbol, self.jds, self.counter = world, name, jds, counter

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        self.counter.hit(self.symbol)
        world, es = self.world, mr.session
        await mr.notify_resolved(
            {self.symbol: ExecutorSymbolDef(world.address[self.symbol], EXPORTED)}
        )
        deps = world.deps[self.symbol]
        try:
            for dep in deps:  # like a linker resolving its externals
                await es.lookup(
                    [(self.jds[world.home[dep]], MATCH_ALL)],
                    [dep],
                    required_state=SymbolState.RESOLVED,
                )
            by_jd: dict[JITDylib, set[str]] = {}
            for dep in deps:
                by_jd.setdefault(self.jds[world.home[dep]], set()).add(dep)
            await mr.notify_emitted([SymbolDependenceGroup({self.symbol}, by_jd)])
        except Exception:
            await mr.fail_materialization()


class OnDemand(DefinitionGenerator):
    def __init__(self, make: Callable[[str], MaterializationUnit], known: list[str]) -> None:
        self.make = make
        self.known = set(known)
        self.defined: set[str] = set()

    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        for _ in range(random.randint(0, 3)):
            await asyncio.sleep(0)  # interleave with other lookups
        for name, _flags in lookup_set:
            text = str(name)
            if text in self.known and text not in self.defined:
                self.defined.add(text)
                await jd.define(self.make(text))


async def _build(
    es: ExecutionSession, world: World, releaser: Releaser, counter: Counter
) -> tuple[list[JITDylib], list[OnDemand]]:
    jds = [await es.create_jitdylib(f"JD{i}") for i in range(JDS)]
    generators = []
    for i, jd in enumerate(jds):
        for name in world.names:
            if world.home[name] != i:
                continue
            if name.startswith("L"):
                await jd.define(LeafUnit(world, name, releaser, counter))
            elif name.startswith("C"):
                await jd.define(CompositeUnit(world, name, jds, counter))
        generator = OnDemand(
            lambda n: LeafUnit(world, n, releaser, counter), world.generated.get(i, [])
        )
        generators.append(await jd.add_generator(generator))
    return jds, generators


@pytest.mark.asyncio
@pytest.mark.slow
async def test_concurrency_thousand_lookups_hundred_jitdylibs() -> None:
    """Issue #8: 1,000 concurrent lookups over 100 JITDylibs with generators, materializers
    completing out of order on the thread pool; exactly one answer each, each unit
    materialized at most once, failures reach exactly the dependants of failing units."""
    world = World(seed=2024)
    assert world.failing, "the scenario must contain failures"
    assert len(world.bad) > len(world.failing), "and failures that propagate"
    async with orc() as (es, errors):
        releaser = Releaser(random.Random(7))
        counter = Counter()
        release_task = asyncio.create_task(releaser.run())
        try:
            jds, _ = await _build(es, world, releaser, counter)
            rnd = world.rnd
            plans: list[tuple[list[str], list[JITDylib]]] = []
            for _ in range(LOOKUPS):
                wanted = rnd.sample(world.names, rnd.randint(1, 4))
                order = [jds[world.home[name]] for name in wanted]
                order = list(dict.fromkeys(order))
                rnd.shuffle(order)
                plans.append((wanted, order))
            answers: list[list[object]] = [[] for _ in plans]

            async def one(index: int) -> None:
                wanted, order = plans[index]
                try:
                    result = await es.lookup([(jd, MATCH_ALL) for jd in order], wanted)
                except FailedToMaterializeError as exc:
                    answers[index].append(exc)
                else:
                    answers[index].append(result)

            async with asyncio.timeout(60):
                await asyncio.gather(*(one(i) for i in range(LOOKUPS)))
        finally:
            release_task.cancel()

        for (wanted, _), answer in zip(plans, answers, strict=True):
            assert len(answer) == 1
            (outcome,) = answer
            should_fail = any(name in world.bad for name in wanted)
            if should_fail:
                assert isinstance(outcome, FailedToMaterializeError), (wanted, outcome)
                failed = {n for names in outcome.symbols.values() for n in names}
                assert failed <= world.bad, (wanted, failed)
            else:
                assert isinstance(outcome, dict), (wanted, outcome)
                assert {str(n): d.address for n, d in outcome.items()} == {
                    name: world.address[name] for name in wanted
                }
        assert counter.counts
        assert max(counter.counts.values()) == 1
        assert [e for e in errors if not isinstance(e, FailedToMaterializeError)] == []
