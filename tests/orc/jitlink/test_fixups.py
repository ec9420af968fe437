"""Golden tests of the fixup engine: every concrete edge kind writes exactly these bytes, and
every range-checked kind accepts its boundary values and rejects one past them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from actors.orc.jitlink import (
    EdgeKind,
    FixupOverflowError,
    JITLinkError,
    LinkGraph,
    MemProt,
    Symbol,
    apply_fixups,
    fixup_value,
)

F = 0x7F00_0000_1000  # the fixup's address (block address, edge at offset 0)
GOT = 0x7F00_0000_0000  # _GLOBAL_OFFSET_TABLE_ for DELTA64_FROM_GOT


def _graph(kind: EdgeKind, target: int, addend: int, size: int = 0) -> tuple[LinkGraph, Symbol]:
    graph = LinkGraph("golden.o")
    text = graph.add_section(".text", MemProt.READ | MemProt.EXEC)
    block = graph.add_content_block(text, b"\xcc" * 16)
    block.address = F
    symbol = graph.add_absolute_symbol("target", target, size=size)
    block.add_edge(kind, 0, symbol, addend, relocation=2 if kind is EdgeKind.DELTA32 else -1)
    got_section = graph.add_section("$__GOT", MemProt.READ)
    got_block = graph.add_content_block(got_section, b"", alignment=8)
    got_block.address = GOT
    graph.got_symbol = graph.add_defined_symbol(got_block, 0, "_GLOBAL_OFFSET_TABLE_")
    return graph, symbol


def _apply(kind: EdgeKind, target: int, addend: int, size: int = 0) -> bytes:
    graph, _ = _graph(kind, target, addend, size)
    apply_fixups(graph)
    block = graph.sections[".text"].blocks[0]
    assert block.content is not None
    return bytes(block.content)


@dataclass(frozen=True)
class Golden:
    kind: EdgeKind
    target: int
    addend: int
    expected: bytes  # the field; the rest of the 16-byte block must stay 0xcc
    size: int = 0


def _le(value: int, width: int) -> bytes:
    return (value % (1 << (8 * width))).to_bytes(width, "little")


GOLDEN = [
    Golden(EdgeKind.POINTER64, 0x1122_3344_5566_7788, 0x10, bytes.fromhex("9877665544332211")),
    Golden(EdgeKind.POINTER64, 0, -1, b"\xff" * 8),  # wraps modulo 2**64
    Golden(EdgeKind.POINTER32, 0xFFFF_FFF0, 0xF, b"\xff\xff\xff\xff"),
    Golden(EdgeKind.POINTER32_SIGNED, 0, -0x8000_0000, b"\x00\x00\x00\x80"),
    Golden(EdgeKind.POINTER32_SIGNED, 0x7FFF_FFFF, 0, b"\xff\xff\xff\x7f"),
    Golden(EdgeKind.POINTER16, 0x1230, 4, b"\x34\x12"),
    Golden(EdgeKind.POINTER8, 0x10, 0xEF, b"\xff"),
    Golden(EdgeKind.DELTA64, F - 0x10, 0, _le(-0x10, 8)),
    Golden(EdgeKind.DELTA64, F + (1 << 40), 8, _le((1 << 40) + 8, 8)),
    Golden(EdgeKind.DELTA32, F + 0x1000, -4, bytes.fromhex("fc0f0000")),
    Golden(EdgeKind.DELTA32, F - 0x2042 + 4, -4, bytes.fromhex("bedfffff")),  # worked example
    Golden(EdgeKind.DELTA16, F - 2, 0, b"\xfe\xff"),
    Golden(EdgeKind.DELTA8, F + 0x7F, 0, b"\x7f"),
    Golden(EdgeKind.NEG_DELTA32, F - 0x1C, 0, bytes.fromhex("1c000000")),  # an FDE's CIE pointer
    Golden(EdgeKind.NEG_DELTA64, F + 8, 0, _le(-8, 8)),
    Golden(EdgeKind.DELTA64_FROM_GOT, GOT + 0x88, 0, _le(0x88, 8)),
    Golden(EdgeKind.DELTA64_FROM_GOT, GOT - 0x1000, 4, _le(-0xFFC, 8)),
    Golden(EdgeKind.BRANCH_PCREL32, F + 0x100, -4, bytes.fromhex("fc000000")),
    Golden(EdgeKind.BRANCH_PCREL32_TO_STUB_BYPASSABLE, F + 8, -4, bytes.fromhex("04000000")),
    Golden(EdgeKind.PCREL32_GOT_LOAD_RELAXABLE, F - 0x1FAD + 4, -4, bytes.fromhex("53e0ffff")),
    Golden(EdgeKind.PCREL32_GOT_LOAD_REX_RELAXABLE, F + 4, -4, b"\x00\x00\x00\x00"),
    Golden(EdgeKind.SIZE64, 0xDEAD, 1, _le(5, 8), size=4),
    Golden(EdgeKind.SIZE32, 0xDEAD, 16, _le(20, 4), size=4),
    Golden(EdgeKind.KEEP_ALIVE, 0xDEAD, 0, b""),
]


@pytest.mark.parametrize("case", GOLDEN, ids=[f"{g.kind.name}-{i}" for i, g in enumerate(GOLDEN)])
def test_fixups_write_golden_bytes(case: Golden) -> None:
    """The field holds exactly the expected little-endian value; nothing else changes."""
    out = _apply(case.kind, case.target, case.addend, case.size)
    width = len(case.expected)
    assert out[:width] == case.expected
    assert out[width:] == b"\xcc" * (16 - width)


# kind -> (lowest value, highest value) of the field; the target is chosen to hit each exactly.
RANGES = {
    EdgeKind.POINTER32: (0, 0xFFFF_FFFF),
    EdgeKind.POINTER32_SIGNED: (-(1 << 31), (1 << 31) - 1),
    EdgeKind.POINTER16: (0, 0xFFFF),
    EdgeKind.POINTER8: (0, 0xFF),
    EdgeKind.DELTA32: (-(1 << 31), (1 << 31) - 1),
    EdgeKind.DELTA16: (-(1 << 15), (1 << 15) - 1),
    EdgeKind.DELTA8: (-128, 127),
    EdgeKind.NEG_DELTA32: (-(1 << 31), (1 << 31) - 1),
    EdgeKind.BRANCH_PCREL32: (-(1 << 31), (1 << 31) - 1),
    EdgeKind.BRANCH_PCREL32_TO_STUB_BYPASSABLE: (-(1 << 31), (1 << 31) - 1),
    EdgeKind.PCREL32_GOT_LOAD_RELAXABLE: (-(1 << 31), (1 << 31) - 1),
    EdgeKind.PCREL32_GOT_LOAD_REX_RELAXABLE: (-(1 << 31), (1 << 31) - 1),
    EdgeKind.SIZE32: (0, 0xFFFF_FFFF),
}

_PC_RELATIVE = {
    EdgeKind.DELTA32, EdgeKind.DELTA16, EdgeKind.DELTA8, EdgeKind.BRANCH_PCREL32,
    EdgeKind.BRANCH_PCREL32_TO_STUB_BYPASSABLE, EdgeKind.PCREL32_GOT_LOAD_RELAXABLE,
    EdgeKind.PCREL32_GOT_LOAD_REX_RELAXABLE,
}  # fmt: skip


_WIDTHS = {EdgeKind.POINTER16: 2, EdgeKind.DELTA16: 2, EdgeKind.POINTER8: 1, EdgeKind.DELTA8: 1}


def _target_for(kind: EdgeKind, value: int, addend: int) -> tuple[int, int]:
    """(target address, size) making `kind` compute `value` with `addend`."""
    if kind in _PC_RELATIVE:
        return value - addend + F, 0
    if kind is EdgeKind.NEG_DELTA32:
        return F + addend - value, 0
    if kind is EdgeKind.SIZE32:
        return 0x1000, value - addend
    return value - addend, 0


@pytest.mark.parametrize("kind", list(RANGES), ids=[k.name for k in RANGES])
@pytest.mark.parametrize("end", ["low", "high"])
def test_fixups_range_boundary_fits_and_one_past_overflows(kind: EdgeKind, end: str) -> None:
    """At the boundary the value is written; one past it the link fails, naming the target,
    the kind and the value, and the field is left untouched."""
    low, high = RANGES[kind]
    boundary, past = (low, low - 1) if end == "low" else (high, high + 1)
    addend = -4
    width = _WIDTHS.get(kind, 4)
    if kind is EdgeKind.SIZE32 and end == "low":
        addend = 0  # a size cannot be negative; Z + A = -1 needs a negative addend instead
    target, size = _target_for(kind, boundary, addend)
    written = _apply(kind, target, addend, size)
    signed = low < 0
    assert written[:width] == boundary.to_bytes(width, "little", signed=signed)
    if kind is EdgeKind.SIZE32 and end == "low":
        target, size, addend = 0x1000, 0, -1
    else:
        target, size = _target_for(kind, past, addend)
    graph, _ = _graph(kind, target, addend, size)
    with pytest.raises(FixupOverflowError) as caught:
        apply_fixups(graph)
    error = caught.value
    assert (error.symbol, error.kind, error.value) == ("target", kind.display_name, past)
    assert "In graph golden.o, section .text" in str(error)
    assert f"value {past:#x} does not fit" in str(error)
    block = graph.sections[".text"].blocks[0]
    assert block.content is not None
    assert bytes(block.content) == b"\xcc" * 16


def test_fixups_overflow_error_names_the_elf_relocation() -> None:
    """Edges made from relocations carry the ELF type, and the error names it."""
    graph, _ = _graph(EdgeKind.DELTA32, F + (1 << 31) + 4, -4)
    with pytest.raises(FixupOverflowError, match="R_X86_64_PC32") as caught:
        apply_fixups(graph)
    assert caught.value.relocation == "R_X86_64_PC32"
    assert "'target' at 0x7f0080001004" in str(caught.value)


def test_fixups_unrewritten_request_kind_is_an_error() -> None:
    """A REQUEST_* edge that no GOT pass rewrote cannot be written: a clear JITLinkError."""
    graph, _ = _graph(EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA32, F, -4)
    with pytest.raises(JITLinkError, match="was not rewritten by the GOT/stub pass"):
        apply_fixups(graph)


def test_fixups_fixup_value_matches_what_is_written() -> None:
    """fixup_value (for checkers and dumps) computes the same value apply_fixups writes."""
    graph, _ = _graph(EdgeKind.DELTA32, F + 0x1234, -4)
    block = graph.sections[".text"].blocks[0]
    assert fixup_value(graph, block, block.edges[0]) == 0x1230
