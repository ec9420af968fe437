"""Figures for the ORC core (issue #8): lookup throughput and time to Ready.

    python tests/benchmarks/bench_orc_core.py [--loop uvloop|asyncio] [--sizes 1000,10000,100000]

Prints:
- lookups/s for 10,000 symbols across 100 JITDylibs (100 each), one symbol per lookup, all
  lookups concurrent: (a) symbols already Ready, (b) every symbol in its own lazy unit that
  the lookup materializes (absolute symbols: resolve + emit);
- time to Ready for dependency graphs of 1k/10k/100k symbols, and the growth ratio per
  10x (linear is about 10x, quadratic about 100x), for
  * chain, one unit per symbol: s[i] depends on s[i+1]; one lookup of all symbols; units
    emit in lookup order, so every symbol waits until the last link emits;
  * fan-in, one unit per symbol: every symbol depends on one root, which emits last;
  * chain and fan-in emitted by one MaterializationResponsibility (one notify_emitted with
    a group per symbol): the dependency graph's cost inside the session, without dispatch.
Each graph is timed twice: as is, and with Python's cyclic garbage collector paused
(``gc.disable()`` around the measurement only). The second column is the session's own cost;
the first adds CPython's full collections, which walk the whole heap and grow faster than
linearly once a hundred thousand units are in flight at once.

A script, not a test: pytest does not collect it. Absolute figures vary about 3x between
machines; the ratios are what matters.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from actors.orc import (
    ExecutionSession,
    ExecutorSymbolDef,
    JITDylib,
    JITSymbolFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    SymbolDependenceGroup,
    absolute_symbols,
    open_execution_session,
)

EXPORTED = JITSymbolFlags.EXPORTED


class GraphNode(MaterializationUnit):
    """One symbol that resolves, then emits depending on ``deps`` (names in the same JD)."""

    def __init__(self, name: str, address: int, deps: list[str], jd: JITDylib) -> None:
        super().__init__({name: EXPORTED})
        self.symbol = name
        self.address = address
        self.deps = deps
        self.jd = jd

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        await mr.notify_resolved({self.symbol: ExecutorSymbolDef(self.address, EXPORTED)})
        groups = (
            [SymbolDependenceGroup({self.symbol}, {self.jd: set(self.deps)})] if self.deps else []
        )
        await mr.notify_emitted(groups)


class BatchGraph(MaterializationUnit):
    """All symbols in one unit, emitted by one notify_emitted with a group per symbol."""

    def __init__(self, deps: dict[str, list[str]], jd: JITDylib) -> None:
        super().__init__({name: EXPORTED for name in deps})
        self.deps = deps
        self.jd = jd

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        await mr.notify_resolved(
            {name: ExecutorSymbolDef(0x1000 + i, EXPORTED) for i, name in enumerate(mr.symbols)}
        )
        await mr.notify_emitted(
            [
                SymbolDependenceGroup({name}, {self.jd: set(deps)})
                for name, deps in self.deps.items()
                if deps
            ]
        )


async def _timed(fn: Callable[[], Coroutine[Any, Any, object]], *, pause_gc: bool = False) -> float:
    gc.collect()
    if pause_gc:
        gc.disable()
    try:
        start = time.perf_counter()
        await fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


async def bench_lookups(es: ExecutionSession) -> tuple[float, float]:
    jds = [await es.create_jitdylib(f"ready{i}") for i in range(100)]
    names = [[f"r{i}_{k}" for k in range(100)] for i in range(100)]
    for jd, jd_names in zip(jds, names, strict=True):
        await jd.define(
            absolute_symbols(
                {n: ExecutorSymbolDef(0x1000 + k, EXPORTED) for k, n in enumerate(jd_names)}
            )
        )
    for jd, jd_names in zip(jds, names, strict=True):
        await es.lookup([jd], jd_names)  # make them Ready
    pairs = [(jd, name) for jd, jd_names in zip(jds, names, strict=True) for name in jd_names]

    async def ready() -> None:
        await asyncio.gather(*(es.lookup([jd], [name]) for jd, name in pairs))

    ready_time = await _timed(ready)

    lazy_jds = [await es.create_jitdylib(f"lazy{i}") for i in range(100)]
    lazy_pairs = []
    for i, jd in enumerate(lazy_jds):
        for k in range(100):
            name = f"l{i}_{k}"
            await jd.define(absolute_symbols({name: ExecutorSymbolDef(0x1000 + k, EXPORTED)}))
            lazy_pairs.append((jd, name))

    async def lazy() -> None:
        await asyncio.gather(*(es.lookup([jd], [name]) for jd, name in lazy_pairs))

    lazy_time = await _timed(lazy)
    return len(pairs) / ready_time, len(lazy_pairs) / lazy_time


async def bench_graph(
    es: ExecutionSession, shape: str, size: int, batch: bool, pause_gc: bool
) -> float:
    jd = await es.create_jitdylib(f"{shape}-{size}-{'batch' if batch else 'units'}-{pause_gc}")
    names = [f"s{i}" for i in range(size)]
    if shape == "chain":
        deps = {name: [names[i + 1]] if i + 1 < size else [] for i, name in enumerate(names)}
    else:  # fan-in: everything depends on the last symbol, which emits last
        deps = {name: [names[-1]] if i + 1 < size else [] for i, name in enumerate(names)}
    if batch:
        await jd.define(BatchGraph(deps, jd))
    else:
        for i, name in enumerate(names):
            await jd.define(GraphNode(name, 0x1000 + i, deps[name], jd))

    async def run() -> None:
        result = await es.lookup([jd], names)
        assert len(result) == size

    try:
        return await _timed(run, pause_gc=pause_gc)
    finally:
        await es.remove_jitdylib(jd)  # keep the heap the same size for every measurement


async def main(sizes: list[int]) -> None:
    async with open_execution_session(name="bench") as es:
        ready, lazy = await bench_lookups(es)
        print("lookups of 10,000 symbols across 100 JITDylibs (concurrent, one symbol each)")
        print(f"  already Ready:          {ready:>10,.0f} lookups/s")
        print(f"  needing materialization:{lazy:>10,.0f} lookups/s")
        print()
        print("time to Ready (s) and growth per 10x (linear: ~10x, quadratic: ~100x)")
        header = "".join(f"{size:>10,}" for size in sizes)
        print(f"  {'graph':<20}{'gc':<7}{header}   ratios")
        for shape, batch in (
            ("chain", False),
            ("fan-in", False),
            ("chain", True),
            ("fan-in", True),
        ):
            for pause_gc in (False, True):
                times = [await bench_graph(es, shape, n, batch, pause_gc) for n in sizes]
                ratios = " ".join(f"{times[i + 1] / times[i]:.1f}x" for i in range(len(times) - 1))
                label = f"{shape}, {'one MR' if batch else 'unit each'}"
                mode = "paused" if pause_gc else "on"
                print(
                    f"  {label:<20}{mode:<7}"
                    + "".join(f"{t:>10.3f}" for t in times)
                    + f"   {ratios}"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.loop == "uvloop":
        uvloop.run(main(sizes))
    else:
        asyncio.run(main(sizes))
