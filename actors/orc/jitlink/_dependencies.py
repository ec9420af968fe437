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

from ._graph import Block, LinkGraph, Scope, SymbolKind

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
    names: dict[int, set[str]] = {}
    for symbol in graph.defined:
        if symbol.name is not None and symbol.scope is not Scope.LOCAL and symbol.block:
            names.setdefault(id(symbol.block), set()).add(symbol.name)
    groups = []
    for block in blocks:
        defined = names.get(id(block))
        if defined:
            internal, external = closure[id(block)]
            groups.append(
                DependenceGroup(
                    frozenset(defined), frozenset(internal - defined), frozenset(external)
                )
            )
    return groups


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
