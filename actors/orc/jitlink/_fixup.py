"""The fixup engine: write every edge's value into its block, range-checked.

`apply_fixups` runs after addresses are assigned and externals bound. For each edge it computes
the kind's value (`_x86_64` has the table) from F = block address + offset, T = target address,
A = addend, GOT = ``_GLOBAL_OFFSET_TABLE_`` and Z = target size, checks it against the field's
range *exactly as written* (§11.9 of the reference) and packs it little-endian into the
block's content (the segment's working memory). 64-bit fields wrap modulo 2**64.

An out-of-range value raises `FixupOverflowError` naming the graph, the section, the target
symbol and its address, the addend, the edge kind, the ELF relocation type, the fixup address,
the containing symbol and the block offset, and the value with the range it missed; a request
kind that no pass rewrote, or a zero-fill block with edges, is a `JITLinkError`.
"""

from __future__ import annotations

from typing import Final

from ._errors import FixupOverflowError, JITLinkError
from ._graph import Block, Edge, Lifetime, LinkGraph
from ._x86_64 import EdgeKind, FixupSpec, Formula, fixup_spec, relocation_name

__all__ = ["apply_fixups", "fixup_value"]

_MASK64: Final = (1 << 64) - 1
_SPECS: Final[list[FixupSpec]] = [fixup_spec(kind) for kind in EdgeKind]
_PC_RELATIVE: Final = Formula.PC_RELATIVE
_ABSOLUTE: Final = Formula.ABSOLUTE
_NEGATIVE: Final = Formula.NEGATIVE
_PLANS: Final = [
    (spec.formula, spec.low, spec.high, spec.packer.pack_into, spec.signed is None)
    for spec in _SPECS
]
"""Per kind, what `apply_fixups` needs of its spec in one tuple: formula, range, packer, and
whether the value wraps to 64 bits (one list index per edge instead of five attribute loads)."""


def fixup_value(graph: LinkGraph, block: Block, edge: Edge) -> int:
    """The value `edge` writes (before wrapping to the field), for checks and dumps.

    Raises:
        JITLinkError: the edge is a REQUEST kind, or needs a GOT the graph does not have.
    """
    spec = _SPECS[edge.kind]
    formula = spec.formula
    target = edge.target
    if formula is Formula.ABSOLUTE:
        return target.address + edge.addend
    if formula is Formula.PC_RELATIVE:
        return target.address + edge.addend - (block.address + edge.offset)
    if formula is Formula.NEGATIVE:
        return block.address + edge.offset - target.address + edge.addend
    if formula is Formula.GOT_RELATIVE:
        if graph.got_symbol is None:
            raise JITLinkError(
                f"{graph.name}: {edge.kind.display_name} edge in {block.section.name} needs "
                "_GLOBAL_OFFSET_TABLE_, but the GOT pass did not run"
            )
        return target.address + edge.addend - graph.got_symbol.address
    if formula is Formula.SIZE:
        return target.size + edge.addend
    if formula is Formula.NONE:
        return 0
    raise JITLinkError(
        f"{graph.name}: edge kind {edge.kind.display_name} in {block.section.name} at "
        f"+{edge.offset:#x} was not rewritten by the GOT/stub pass"
    )


def apply_fixups(graph: LinkGraph) -> None:
    """Patch every edge of every allocated block (see the module docstring).

    Called once per graph by `GraphLinker.apply_fixups`, after `bind_externals` and the
    pre-fixup passes; blocks must already point into working memory.

    Raises:
        FixupOverflowError: a value does not fit its field (nothing is written for it).
        JITLinkError: an edge kind no pass rewrote; edges on a zero-fill block.
    """
    got = graph.got_symbol.address if graph.got_symbol is not None else None
    plans = _PLANS
    pc_relative, absolute, negative, none = _PC_RELATIVE, _ABSOLUTE, _NEGATIVE, Formula.NONE
    for section in graph.sections.values():
        if section.lifetime is Lifetime.NO_ALLOC:
            continue
        for block in section.blocks:
            edges = block.edges
            if not edges:
                continue
            content = block.content
            if content is None:
                raise JITLinkError(
                    f"{graph.name}: zero-fill block in {section.name} has {len(edges)} edges"
                )
            base = block.address
            for edge in edges:
                formula, low, high, pack_into, wrap = plans[edge.kind]
                if formula is none:
                    continue  # keep-alive: nothing to write
                # The common formulas inline, with the target's address read off its block
                # (`Symbol.address` without the property call); the rest through fixup_value.
                target = edge.target
                target_block = target.block
                if target_block is None:
                    address = target._address
                else:
                    address = target_block.address + target.offset
                offset = edge.offset
                if formula is pc_relative:
                    value = address + edge.addend - base - offset
                elif formula is absolute:
                    value = address + edge.addend
                elif formula is negative:
                    value = base + offset - address + edge.addend
                elif formula is Formula.GOT_RELATIVE and got is not None:
                    value = address + edge.addend - got
                else:
                    value = fixup_value(graph, block, edge)
                if not low <= value <= high:
                    raise _overflow(graph, block, edge, _SPECS[edge.kind], value)
                if wrap:
                    value &= _MASK64
                pack_into(content, offset, value)


def _containing_symbol(graph: LinkGraph, block: Block, offset: int) -> str:
    best = None
    for symbol in graph.defined:
        if (
            symbol.block is block
            and symbol.name is not None
            and symbol.offset <= offset
            and (best is None or symbol.offset > best.offset)
        ):
            best = symbol
    if best is None:
        return "<anonymous block>"
    return f"{best.name}+{offset - best.offset:#x}"


def _overflow(
    graph: LinkGraph, block: Block, edge: Edge, spec: FixupSpec, value: int
) -> FixupOverflowError:
    target = edge.target
    relocation = (
        relocation_name(edge.relocation) if edge.relocation >= 0 else edge.kind.display_name
    )
    fixup = block.address + edge.offset
    message = (
        f"In graph {graph.name}, section {block.section.name}: relocation target "
        f"{target.display_name!r} at {target.address:#x} with addend {edge.addend:+#x} is out "
        f"of range of {edge.kind.display_name} fixup ({relocation}) at {fixup:#x} "
        f"({_containing_symbol(graph, block, edge.offset)}, block {block.address:#x} + "
        f"{edge.offset:#x}): value {value:#x} does not fit a {spec.describe_range()} field"
    )
    return FixupOverflowError(
        message,
        symbol=target.display_name,
        kind=edge.kind.display_name,
        relocation=relocation,
        value=value,
    )
