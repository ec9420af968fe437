"""Property tests (Hypothesis): the dependency graph, and the session against a model.

1. `DependencyGraph` against the definition of Ready (emitted, and everything reachable
   emitted), for random graphs with cycles, random emission orders and failures.
2. Random define / lookup / remove / tracker-removal sequences against a small reference
   model of one JITDylib's symbol table (LLVM's linker rules and failure persistence).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.orc import (
    DuplicateDefinitionError,
    ExecutorSymbolDef,
    FailedToMaterializeError,
    JITSymbolFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    ResourceTracker,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolsCouldNotBeRemovedError,
    SymbolsNotFoundError,
    absolute_symbols,
)
from actors.orc._dependencies import DependencyGraph, Node  # the graph alone, unit-tested
from tests.orc.core._support import orc

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}

# -- 1. the dependency graph ----------------------------------------------------------------------


class _N(Node):
    __slots__ = ("emitted", "failed", "index", "root")

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.emitted = False  # emitted successfully
        self.failed = False  # failed (by its own action, a refused emission, or propagation)
        self.root = False  # failed by its own action or a refused emission


def _expected_ready(nodes: list[_N], deps: dict[int, list[int]]) -> set[int]:
    """Emitted, not failed, and everything reachable emitted and not failed."""
    ready = set()
    for node in nodes:
        seen, stack, ok = {node.index}, [node.index], True
        while stack:
            current = nodes[stack.pop()]
            if not current.emitted or current.failed:
                ok = False
                break
            for dep in deps[current.index]:
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        if ok:
            ready.add(node.index)
    return ready


def _expected_failed(nodes: list[_N], deps: dict[int, list[int]]) -> set[int]:
    """Root failures, plus emitted nodes with a failed direct dependency (to a fixpoint)."""
    failed = {n.index for n in nodes if n.root}
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if node.index in failed or not node.emitted:
                continue
            if any(dep in failed and dep != node.index for dep in deps[node.index]):
                failed.add(node.index)
                changed = True
    return failed


@st.composite
def _graph_plans(draw: st.DrawFn) -> tuple[int, dict[int, list[int]], list[tuple[str, int]]]:
    count = draw(st.integers(1, 12))
    deps = {i: draw(st.lists(st.integers(0, count - 1), max_size=3)) for i in range(count)}
    order = draw(st.permutations(range(count)))
    steps = [("fail" if draw(st.integers(0, 7)) == 0 else "emit", index) for index in order]
    return count, deps, steps


def _fail(graph: DependencyGraph, node: _N) -> None:
    node.failed = node.root = True
    for member in graph.fail(node):
        assert isinstance(member, _N)
        assert member.emitted
        assert not member.failed
        member.failed = True


@settings(max_examples=500, deadline=None)
@given(_graph_plans())
def test_graph_ready_and_failures_match_definition(
    plan: tuple[int, dict[int, list[int]], list[tuple[str, int]]],
) -> None:
    """The graph makes a node Ready exactly when it and everything it reaches is emitted
    (cycles included), never twice; a failure reaches exactly the emitted nodes that wait
    on it (directly or through emitted nodes)."""
    count, deps, steps = plan
    nodes = [_N(i) for i in range(count)]
    graph = DependencyGraph()
    ready: set[int] = set()
    for action, index in steps:
        node = nodes[index]
        if action == "fail" or any(
            nodes[d].failed and d != index for d in deps[index]
        ):  # the session refuses to emit on failed dependencies: the node fails
            _fail(graph, node)
        else:
            node.emitted = True
            for newly in graph.emit(node, [nodes[d] for d in deps[index]]):
                assert isinstance(newly, _N)
                assert newly.index not in ready
                ready.add(newly.index)
        assert ready == _expected_ready(nodes, deps)
        assert {n.index for n in nodes if n.failed} == _expected_failed(nodes, deps)
        assert all(nodes[i].ready for i in ready)
    if not any(n.failed for n in nodes):
        assert ready == set(range(count))
        assert graph.group_count == 0


# -- 2. the session against a model ---------------------------------------------------------------

NAMES = "abc"
TRACKERS = ("default", "t1", "t2")


@attrs.define
class _Entry:
    unit: int
    weak: bool
    state: str  # "lazy", "ready", "failed"
    address: int
    tracker: str
    kind: str


class _AutoUnit(MaterializationUnit):
    """Resolves and emits everything, or fails everything."""

    def __init__(
        self, symbols: dict[str, JITSymbolFlags], addresses: dict[str, int], ok: bool
    ) -> None:
        super().__init__(symbols)
        self.addresses = addresses
        self.ok = ok

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        if not self.ok:
            await mr.fail_materialization()
            return
        await mr.notify_resolved(
            {n: ExecutorSymbolDef(self.addresses[str(n)], f) for n, f in mr.symbols.items()}
        )
        await mr.notify_emitted()


_defines = st.tuples(
    st.just("define"),
    st.lists(
        st.tuples(st.sampled_from(NAMES), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=lambda p: p[0],
    ),
    st.sampled_from(["absolute", "ok", "fail"]),
    st.sampled_from(TRACKERS),
)
_lookups = st.tuples(
    st.just("lookup"),
    st.lists(
        st.tuples(st.sampled_from(NAMES), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=lambda p: p[0],
    ),
)
_removes = st.tuples(
    st.just("remove"), st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True)
)
_tracker_removals = st.tuples(st.just("remove_tracker"), st.sampled_from(TRACKERS))
_operations = st.lists(st.one_of(_defines, _lookups, _removes, _tracker_removals), max_size=10)


def _address(unit: int, name: str) -> int:
    return 0x1000 * unit + NAMES.index(name)


class _Model:
    def __init__(self) -> None:
        self.table: dict[str, _Entry] = {}
        self.units = 0

    def define(self, names: list[tuple[str, bool]], kind: str, tracker: str) -> str | None:
        overridden = []
        for name, weak in names:
            entry = self.table.get(name)
            if entry is None:
                continue
            if not weak:
                if not entry.weak or entry.state != "lazy":
                    return "duplicate"
                overridden.append(name)
        self.units += 1
        for name, weak in names:
            if name not in self.table or name in overridden:
                self.table[name] = _Entry(
                    self.units, weak, "lazy", _address(self.units, name), tracker, kind
                )
        return None

    def lookup(self, names: list[tuple[str, bool]]) -> str | dict[str, int]:
        present = [(n, w) for n, w in names if n in self.table]
        if any(self.table[n].state == "failed" for n, _ in present):
            return "failed"
        if any(not weak and name not in self.table for name, weak in names):
            return "not found"
        units = {self.table[n].unit for n, _ in present if self.table[n].state == "lazy"}
        for entry in self.table.values():
            if entry.unit in units and entry.state == "lazy":
                entry.state = "failed" if entry.kind == "fail" else "ready"
        if any(self.table[n].state == "failed" for n, _ in present):
            return "failed"
        return {n: self.table[n].address for n, _ in present}

    def remove(self, names: list[str]) -> str | None:
        if any(n not in self.table for n in names):
            return "not found"
        if any(self.table[n].state not in ("lazy", "ready") for n in names):
            return "busy"
        for name in names:
            del self.table[name]
        return None

    def remove_tracker(self, tracker: str) -> None:
        for name in [n for n, e in self.table.items() if e.tracker == tracker]:
            del self.table[name]


async def _run_operations(operations: list[tuple[Any, ...]]) -> None:
    model = _Model()
    async with orc() as (es, errors):
        jd = await es.create_jitdylib("JD")
        trackers: dict[str, ResourceTracker] = {
            "t1": await jd.create_resource_tracker(),
            "t2": await jd.create_resource_tracker(),
        }

        def tracker_for(label: str) -> ResourceTracker:
            return jd.default_tracker if label == "default" else trackers[label]

        for operation in operations:
            match operation:
                case ("define", names, kind, label):
                    flags = {
                        n: JITSymbolFlags.EXPORTED | (JITSymbolFlags.WEAK if w else 0)
                        for n, w in names
                    }
                    addresses = {n: _address(model.units + 1, n) for n, _ in names}
                    unit: MaterializationUnit
                    if kind == "absolute":
                        unit = absolute_symbols(
                            {n: ExecutorSymbolDef(addresses[n], flags[n]) for n, _ in names}
                        )
                    else:
                        unit = _AutoUnit(flags, addresses, ok=kind == "ok")
                    if model.define(names, kind, label) == "duplicate":
                        with pytest.raises(DuplicateDefinitionError):
                            await jd.define(unit, tracker_for(label))
                    else:
                        await jd.define(unit, tracker_for(label))
                case ("lookup", names):
                    lookup_set = SymbolLookupSet()
                    for name, weak in names:
                        lookup_set.add(
                            name,
                            SymbolLookupFlags.WEAKLY_REFERENCED
                            if weak
                            else SymbolLookupFlags.REQUIRED,
                        )
                    expected_lookup = model.lookup(names)
                    if expected_lookup == "failed":
                        with pytest.raises(FailedToMaterializeError):
                            await es.lookup([jd], lookup_set)
                    elif expected_lookup == "not found":
                        with pytest.raises(SymbolsNotFoundError):
                            await es.lookup([jd], lookup_set)
                    else:
                        result = await es.lookup([jd], lookup_set)
                        assert {str(n): d.address for n, d in result.items()} == expected_lookup
                case ("remove", names):
                    expected_remove = model.remove(names)
                    if expected_remove == "not found":
                        with pytest.raises(SymbolsNotFoundError):
                            await jd.remove(names)
                    elif expected_remove == "busy":
                        with pytest.raises(SymbolsCouldNotBeRemovedError):
                            await jd.remove(names)
                    else:
                        await jd.remove(names)
                case ("remove_tracker", label):
                    model.remove_tracker(label)
                    await tracker_for(label).remove()
                    if label != "default":
                        trackers[label] = await jd.create_resource_tracker()
                case _:
                    raise AssertionError(operation)
            for name in NAMES:  # the table matches the model (lookup_flags never materializes)
                try:
                    flags_found = await es.lookup_flags(
                        [jd], SymbolLookupSet([name], SymbolLookupFlags.WEAKLY_REFERENCED)
                    )
                except FailedToMaterializeError:
                    assert model.table[name].state == "failed"
                else:
                    assert bool(flags_found) == (name in model.table)
                    if flags_found:
                        assert model.table[name].state != "failed"
        assert [e for e in errors if not isinstance(e, FailedToMaterializeError)] == []


@pytest.mark.parametrize("loop", sorted(LOOPS))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_operations)
def test_session_matches_reference_model(loop: str, operations: list[tuple[Any, ...]]) -> None:
    """Random define/lookup/remove/tracker-removal sequences behave like the reference model
    (strong/weak rules, materialization on lookup, failure persistence, removal rules)."""
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        runner.run(_run_operations(operations))
