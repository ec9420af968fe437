"""`dump_graph`: the text llvm-jitlink prints for ``-show-graph``, for debugging a link.

The layout follows LLVM 14's ``LinkGraph::dump`` (observed with ``llvm-jitlink -show-graph``)::

    section .text:

      block 0x7f0000002000 size = 0x0000004f, align = 16, alignment-offset = 0
        symbols:
          0x7f0000002020 (block + 0x00000020): size: 0x0000002f, linkage: strong, scope: default, live  -   main
        edges:
          0x7f0000002047 (block + 0x00000047), addend = -0x00000004, kind = BranchPCRel32, target = printf

    Absolute symbols:
      none

    External symbols:
      0x7fff00001000: size: 0x00000000, linkage: strong, scope: default, live  -   printf

Anonymous targets print as ``addressable@<block address>+<offset>``; zero-fill blocks say so.
Addends are the psABI ones this linker stores (JITLink's branch addends differ by 4).
"""

from __future__ import annotations

from ._graph import Block, LinkGraph, Symbol

__all__ = ["dump_graph"]


def _symbol_line(symbol: Symbol) -> str:
    liveness = "live" if symbol.live else "dead"
    return (
        f"size: {symbol.size:#010x}, linkage: {symbol.linkage.value}, "
        f"scope: {symbol.scope.value}, {liveness}  -   "
        f"{symbol.name if symbol.name is not None else '<anonymous symbol>'}"
    )


def _target(symbol: Symbol) -> str:
    if symbol.name is not None:
        return symbol.name
    block = symbol.block
    base = block.address if block is not None else symbol.address
    return f"addressable@{base:#x}+{symbol.offset:#010x}"


def _signed(value: int) -> str:
    return f"{'-' if value < 0 else '+'}{abs(value):#010x}"


def dump_graph(graph: LinkGraph, title: str | None = None) -> str:
    """Render `graph` in the ``-show-graph`` format (module docstring); any phase, any thread.

    Args:
        graph: the graph to show (addresses are 0 before layout).
        title: an optional first line, e.g. ``Link graph "hello.o" post-fixup:``.
    """
    by_block: dict[int, list[Symbol]] = {}
    for symbol in graph.defined:
        if symbol.block is not None:
            by_block.setdefault(id(symbol.block), []).append(symbol)
    lines: list[str] = [] if title is None else [title]
    for section in graph.sections.values():
        lines.append(f"section {section.name}:")
        lines.append("")
        for block in sorted(section.blocks, key=lambda b: (b.address, b.ordinal)):
            lines.extend(_block_lines(block, by_block.get(id(block), [])))
            lines.append("")
    lines.append("Absolute symbols:")
    if graph.absolutes:
        lines.extend(f"  {s.address:#x}: {_symbol_line(s)}" for s in graph.absolutes)
    else:
        lines.append("  none")
    lines.append("")
    lines.append("External symbols:")
    if graph.externals:
        lines.extend(f"  {s.address:#x}: {_symbol_line(s)}" for s in graph.externals.values())
    else:
        lines.append("  none")
    return "\n".join(lines) + "\n"


def _block_lines(block: Block, symbols: list[Symbol]) -> list[str]:
    kind = " zero-fill" if block.content is None else ""
    lines = [
        f"  block{kind} {block.address:#x} size = {block.size:#010x}, align = {block.alignment}, "
        f"alignment-offset = {block.alignment_offset}"
    ]
    if symbols:
        lines.append("    symbols:")
        for symbol in sorted(symbols, key=lambda s: s.offset):
            lines.append(
                f"      {symbol.address:#x} (block + {symbol.offset:#010x}): {_symbol_line(symbol)}"
            )
    else:
        lines.append("    no symbols")
    if block.edges:
        lines.append("    edges:")
        for edge in sorted(block.edges, key=lambda e: e.offset):
            lines.append(
                f"      {block.address + edge.offset:#x} (block + {edge.offset:#010x}), "
                f"addend = {_signed(edge.addend)}, kind = {edge.kind.display_name}, "
                f"target = {_target(edge.target)}"
            )
    else:
        lines.append("    no edges")
    return lines
