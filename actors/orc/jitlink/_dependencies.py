"""Which names a graph's definitions depend on: what ORC needs to make lookups Ready correctly.

ObjectLinkingLayer reports, for the non-local symbols a graph defines, the symbols their code
and data reach (orcv2-reference.md §3.2: 14's ``computeNamedSymbolDependencies``, 22's
``SymbolDependenceGroup``). As in 22 there is one `DependenceGroup` per block that defines
named non-local symbols: all of them share the block's dependencies (a per-symbol copy would
be quadratic for an object whose ``.text`` is one block with thousands of functions, which is
every object built without ``-ffunction-sections``). A block's dependencies are found by following its
edges: an external or absolute target is an *external* dependency (by name), a named
non-local definition of this graph is an *internal* one, and a local or anonymous definition
is looked through (its block's dependencies count too, transitively, cycles included). Keep-
alive edges count as well, which is how a function depends on its FDE's personality and LSDA
type infos.

Computed over strongly connected components of the look-through relation (iterative Tarjan),
so the cost stays linear in blocks plus edges however the local blocks are wired.
"""

from __future__ import annotations

import attrs

from ._graph import LinkGraph, Scope, SymbolKind

__all__ = ["DependenceGroup", "dependence_groups"]


@attrs.frozen
class DependenceGroup:
    """Symbols defined on one block and what they depend on.

    Attributes:
        symbols: the block's named non-local symbols (hidden and init symbols included).
        internal: other names this graph defines that the block reaches (never one of
            ``symbols``); ORC resolves them in the same JITDylib.
        external: names of external and absolute symbols the block reaches.
    """

    symbols: frozenset[str]
    internal: frozenset[str]
    external: frozenset[str]


def dependence_groups(graph: LinkGraph) -> list[DependenceGroup]:
    """One group per block defining named non-local symbols, in graph order (module docstring).

    Called by the driver after the post-prune passes (GOT entries and stubs are anonymous
    local blocks, looked through to their targets), typically before fixups. Pure; linear in
    blocks, edges and the size of the result.
    """
    blocks = [block for section in graph.sections.values() for block in section.blocks]
    # Blocks are numbered by position, and the walk below works on lists indexed by those
    # numbers: keying dicts by id(block) cost an id() call per step (a tenth of a large link).
    number = {id(block): position for position, block in enumerate(blocks)}
    direct: list[tuple[set[str], set[str]]] = []
    through_of: list[list[int]] = []
    defined_kind, local = SymbolKind.DEFINED, Scope.LOCAL
    for block in blocks:
        internal: set[str] = set()
        external: set[str] = set()
        through: list[int] = []
        # Each target once: a large .text block has an edge per call but far fewer callees,
        # and the set is built at C speed.
        for target in {edge.target for edge in block.edges}:
            name = target.name
            if target.kind is not defined_kind:
                if name is not None:
                    external.add(name)
            elif target.scope is not local and name is not None:
                internal.add(name)
            else:
                target_block = target.block
                if target_block is not None and target_block is not block:
                    through.append(number[id(target_block)])
        direct.append((internal, external))
        through_of.append(through)
    closure = _close(direct, through_of)
    names: dict[int, set[str]] = {}
    for symbol in graph.defined:
        if symbol.name is not None and symbol.scope is not local and symbol.block:
            names.setdefault(number[id(symbol.block)], set()).add(symbol.name)
    groups = []
    for position in range(len(blocks)):
        defined = names.get(position)
        if defined:
            internal, external = closure[position]
            groups.append(
                DependenceGroup(
                    frozenset(defined), frozenset(internal - defined), frozenset(external)
                )
            )
    return groups


def _close(
    direct: list[tuple[set[str], set[str]]], through_of: list[list[int]]
) -> list[tuple[set[str], set[str]]]:
    """Transitive dependencies per block (by number), one union per strongly connected
    component (iterative Tarjan)."""
    count = len(direct)
    index = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    result: list[tuple[set[str], set[str]] | None] = [None] * count
    counter = 0
    for root in range(count):
        if index[root] >= 0:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            through = through_of[node]
            if position < len(through):
                work.append((node, position + 1))
                successor = through[position]
                if index[successor] < 0:
                    work.append((successor, 0))
                elif on_stack[successor] and index[successor] < low[node]:
                    low[node] = index[successor]
                continue
            for successor in through:  # finished: pull up the successors' low links
                if on_stack[successor] and low[successor] < low[node]:
                    low[node] = low[successor]
            if low[node] == index[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                internal: set[str] = set()
                external: set[str] = set()
                for member in component:
                    member_internal, member_external = direct[member]
                    internal |= member_internal
                    external |= member_external
                    for successor in through_of[member]:
                        done = result[successor]
                        if done is not None:  # another, finished component
                            internal |= done[0]
                            external |= done[1]
                shared = (internal, external)
                for member in component:
                    result[member] = shared
    return [entry if entry is not None else (set(), set()) for entry in result]
