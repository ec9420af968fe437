"""Which names each defined symbol depends on: what ORC needs to make lookups Ready correctly.

ObjectLinkingLayer reports, for every non-local symbol a graph defines, the symbols its code
and data reach (orcv2-reference.md §3.2: 14's ``computeNamedSymbolDependencies``, 22's
``SymbolDependenceGroup`` per block). A block's dependencies are found by following its
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

from ._graph import Block, LinkGraph, Scope, SymbolKind

__all__ = ["SymbolDependencies", "symbol_dependencies"]


@attrs.frozen
class SymbolDependencies:
    """What one defined symbol depends on: names defined in this graph, and names from outside."""

    internal: frozenset[str]
    external: frozenset[str]


def symbol_dependencies(graph: LinkGraph) -> dict[str, SymbolDependencies]:
    """The dependencies of every named non-local defined symbol (module docstring).

    Called by the driver after the post-prune passes (GOT entries and stubs are anonymous
    local blocks, looked through to their targets), typically before fixups. Pure.
    """
    blocks = [block for section in graph.sections.values() for block in section.blocks]
    direct: dict[int, tuple[set[str], set[str], list[Block]]] = {}
    for block in blocks:
        internal: set[str] = set()
        external: set[str] = set()
        through: list[Block] = []
        for edge in block.edges:
            target = edge.target
            if target.kind is not SymbolKind.DEFINED:
                if target.name is not None:
                    external.add(target.name)
            elif target.scope is not Scope.LOCAL and target.name is not None:
                internal.add(target.name)
            elif target.block is not None and target.block is not block:
                through.append(target.block)
        direct[id(block)] = (internal, external, through)
    closure = _close(blocks, direct)
    found: dict[str, SymbolDependencies] = {}
    for symbol in graph.defined:
        if symbol.name is None or symbol.scope is Scope.LOCAL or symbol.block is None:
            continue
        internal, external = closure[id(symbol.block)]
        found[symbol.name] = SymbolDependencies(
            frozenset(internal - {symbol.name}), frozenset(external)
        )
    return found


def _close(
    blocks: list[Block], direct: dict[int, tuple[set[str], set[str], list[Block]]]
) -> dict[int, tuple[set[str], set[str]]]:
    """Transitive dependencies per block, one union per strongly connected component."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[Block] = []
    result: dict[int, tuple[set[str], set[str]]] = {}
    counter = 0
    for root in blocks:
        if id(root) in index:
            continue
        work: list[tuple[Block, int]] = [(root, 0)]
        while work:
            block, position = work.pop()
            key = id(block)
            if position == 0:
                index[key] = low[key] = counter
                counter += 1
                stack.append(block)
                on_stack.add(key)
            through = direct[key][2]
            if position < len(through):
                work.append((block, position + 1))
                successor = through[position]
                if id(successor) not in index:
                    work.append((successor, 0))
                elif id(successor) in on_stack:
                    low[key] = min(low[key], index[id(successor)])
                continue
            for successor in through:  # finished: pull up the successors' low links
                if id(successor) in on_stack:
                    low[key] = min(low[key], low[id(successor)])
            if low[key] == index[key]:
                component: list[Block] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(id(member))
                    component.append(member)
                    if member is block:
                        break
                internal: set[str] = set()
                external: set[str] = set()
                for member in component:
                    member_internal, member_external, member_through = direct[id(member)]
                    internal |= member_internal
                    external |= member_external
                    for successor in member_through:
                        if id(successor) in result:  # another, finished component
                            internal |= result[id(successor)][0]
                            external |= result[id(successor)][1]
                shared = (internal, external)
                for member in component:
                    result[id(member)] = shared
    return result
