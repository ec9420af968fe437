"""Dead stripping: mark live roots, then drop every block no live block reaches.

JITLink's ``prune`` (jitlink-elf-x86-64.md §1.7): the roots are the blocks of live symbols;
every edge of a live block makes its target's block live (keep-alive edges included, which is
how an FDE follows its function). Dead blocks leave their sections, symbols on dead blocks are
deleted, and external symbols that no live edge references are forgotten (so the driver never
looks them up). Since ELF sections are single blocks, stripping works at section granularity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ._graph import Block, LinkGraph, Scope, Symbol

__all__ = ["mark_live", "prune"]


def mark_live(names: Iterable[str] | None = None) -> Callable[[LinkGraph], None]:
    """A pre-prune pass marking roots live.

    Args:
        names: the symbol names to keep (ORC passes the materialization's symbols); None keeps
            every named non-local defined or absolute symbol (the object's whole interface, as
            a stand-alone link does). Names the graph does not define are ignored.

    Returns:
        The pass; it can run on any number of graphs.
    """
    wanted = None if names is None else frozenset(names)

    def mark_live_pass(graph: LinkGraph) -> None:
        for symbol in (*graph.defined, *graph.absolutes):
            if symbol.name is None or symbol.scope is Scope.LOCAL:
                continue
            if wanted is None or symbol.name in wanted:
                symbol.live = True

    mark_live_pass.__qualname__ = mark_live_pass.__name__ = "mark_live"
    return mark_live_pass


def prune(graph: LinkGraph) -> None:
    """Delete every block not reachable from a live symbol, and what only they referenced.

    Called once per graph by `GraphLinker.prune`, after the pre-prune passes.
    """
    # The walk marks what it reaches on the objects themselves (``Block.live``, and
    # ``Symbol.live`` for every edge target) instead of keeping sets of ids: one attribute
    # store per edge. Marking a defined target live changes nothing, since every symbol on a
    # live block ends up live; for externals and absolutes it is what keeps them.
    work: list[Block] = []
    for symbol in graph.defined:
        if symbol.live:
            block = symbol.block
            if block is not None and not block.live:
                block.live = True
                work.append(block)
    pop, push = work.pop, work.append
    while work:
        for edge in pop().edges:
            target = edge.target
            target.live = True
            target_block = target.block
            if target_block is not None and not target_block.live:
                target_block.live = True
                push(target_block)
    for section in graph.sections.values():
        section.blocks = [block for block in section.blocks if block.live]
    kept: list[Symbol] = []
    for symbol in graph.defined:
        block = symbol.block
        assert block is not None
        if block.live:
            symbol.live = True
            kept.append(symbol)
    graph.defined = kept
    graph.externals = {name: symbol for name, symbol in graph.externals.items() if symbol.live}
    graph.absolutes = [symbol for symbol in graph.absolutes if symbol.live]
    for blocks in graph.comdat_groups.values():
        blocks[:] = [block for block in blocks if block.live]
