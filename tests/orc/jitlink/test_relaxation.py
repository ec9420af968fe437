"""GOT entries, PLT stubs and their relaxation, on hand-built graphs through the whole pipeline.

Each test links one ``.text`` block at ``BASE`` (GOT in the R page at ``BASE``, code in the RX
page at ``BASE + 0x1000``) with `link` and checks the exact bytes of the code, the GOT and
the stubs. "near" targets are within +-2 GiB of the code, "far" ones are not.
"""

from __future__ import annotations

import struct

from actors.orc.jitlink import (
    EdgeKind,
    GraphLinker,
    LinkGraph,
    LinkResult,
    MemProt,
    Scope,
    link,
)

BASE = 0x7F00_0000_0000
TEXT = BASE + 0x1000
NEAR = BASE + 0x10_0000
FAR = BASE + (3 << 30)

REX_LOAD = EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_REX_RELAXABLE
LOAD = EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_RELAXABLE


def _i32(value: int) -> bytes:
    return struct.pack("<i", value)


def _graph(code: bytes, *edges: tuple[EdgeKind, int, str, int]) -> LinkGraph:
    graph = LinkGraph("relax.o")
    text = graph.add_section(".text", MemProt.READ | MemProt.EXEC)
    block = graph.add_content_block(text, code, alignment=16)
    graph.add_defined_symbol(block, 0, "main", len(code), scope=Scope.DEFAULT, callable=True)
    local = graph.add_defined_symbol(block, len(code) - 1, "local_fn", 1, callable=True)
    for kind, offset, name, addend in edges:
        target = local if name == "local_fn" else graph.add_external_symbol(name)
        block.add_edge(kind, offset, target, addend)
    return graph


def _link(graph: LinkGraph, **addresses: int) -> LinkResult:
    return link(graph, base=BASE, resolve=addresses)


def _text(result: LinkResult, size: int) -> bytes:
    segment = next(s for s in result.segments if s.protection & MemProt.EXEC)
    assert segment.address == TEXT
    return segment.content[:size]


def _got_slot(graph: LinkGraph, name: str) -> int:
    entries = {target.name: entry.address for target, entry in graph.got_entries.items()}
    return entries[name]


def _memory(result: LinkResult, address: int, size: int) -> bytes:
    for segment in result.segments:
        if segment.address <= address < segment.address + len(segment.content):
            offset = address - segment.address
            return segment.content[offset : offset + size]
    raise AssertionError(f"{address:#x} is not in any segment's content")


def test_relaxation_rex_mov_to_near_target_becomes_lea() -> None:
    """``mov x@GOTPCREL(%rip), %rax`` to a near x: 8B becomes 8D and the displacement reaches
    x itself; the GOT slot stays allocated, holding x."""
    graph = _graph(bytes.fromhex("488b0500000000c3"), (REX_LOAD, 3, "x", -4))
    result = _link(graph, x=NEAR)
    assert _text(result, 8) == bytes.fromhex("488d05") + _i32(NEAR - (TEXT + 3) - 4) + b"\xc3"
    assert _memory(result, _got_slot(graph, "x"), 8) == struct.pack("<Q", NEAR)


def test_relaxation_rex_mov_to_far_target_loads_through_the_got() -> None:
    """The same load to a far x keeps ``mov`` and reads the slot, which holds x."""
    graph = _graph(bytes.fromhex("488b0500000000c3"), (REX_LOAD, 3, "x", -4))
    result = _link(graph, x=FAR)
    slot = _got_slot(graph, "x")
    assert _text(result, 8) == bytes.fromhex("488b05") + _i32(slot - (TEXT + 3) - 4) + b"\xc3"
    assert _memory(result, slot, 8) == struct.pack("<Q", FAR)


def test_relaxation_non_rex_movl_is_relaxed_too() -> None:
    """``movl x@GOTPCREL(%rip), %eax`` (GOTPCRELX without REX) becomes ``leal``."""
    graph = _graph(bytes.fromhex("8b0500000000c3"), (LOAD, 2, "x", -4))
    result = _link(graph, x=NEAR)
    assert _text(result, 7) == bytes.fromhex("8d05") + _i32(NEAR - (TEXT + 2) - 4) + b"\xc3"


def test_relaxation_indirect_call_becomes_addr32_call_with_pc_relative_displacement() -> None:
    """``call *f@GOTPCREL(%rip)`` to a near f becomes ``67 E8 rel32`` with f - next_pc, the
    psABI rewrite (JITLink writes f's absolute address there)."""
    graph = _graph(bytes.fromhex("ff1500000000c3"), (LOAD, 2, "f", -4))
    result = _link(graph, f=NEAR)
    assert _text(result, 7) == bytes.fromhex("67e8") + _i32(NEAR - (TEXT + 6)) + b"\xc3"


def test_relaxation_indirect_jmp_becomes_jmp_rel32_and_nop() -> None:
    """``jmp *f@GOTPCREL(%rip)`` to a near f becomes ``E9 rel32 90``: the displacement moves
    one byte back and is relative to the end of the 5-byte jmp."""
    graph = _graph(bytes.fromhex("ff2500000000c3"), (LOAD, 2, "f", -4))
    result = _link(graph, f=NEAR)
    assert _text(result, 7) == b"\xe9" + _i32(NEAR - (TEXT + 5)) + b"\x90\xc3"


def test_relaxation_indirect_call_to_far_target_stays_indirect() -> None:
    """A far f keeps ``call *slot(%rip)``."""
    graph = _graph(bytes.fromhex("ff1500000000c3"), (LOAD, 2, "f", -4))
    result = _link(graph, f=FAR)
    slot = _got_slot(graph, "f")
    assert _text(result, 7) == bytes.fromhex("ff15") + _i32(slot - (TEXT + 6)) + b"\xc3"


def test_relaxation_other_instructions_are_never_rewritten() -> None:
    """``add x@GOTPCREL(%rip), %rax`` (opcode 03) reads the slot even for a near x."""
    graph = _graph(bytes.fromhex("48030500000000c3"), (REX_LOAD, 3, "x", -4))
    result = _link(graph, x=NEAR)
    slot = _got_slot(graph, "x")
    assert _text(result, 8) == bytes.fromhex("480305") + _i32(slot - (TEXT + 3) - 4) + b"\xc3"


def test_relaxation_rex_call_form_is_not_rewritten() -> None:
    """``67 E8`` cannot follow a REX prefix, so only GOTPCRELX (non-REX) call/jmp relax."""
    graph = _graph(bytes.fromhex("41ff1500000000c3"), (REX_LOAD, 3, "f", -4))
    result = _link(graph, f=NEAR)
    slot = _got_slot(graph, "f")
    assert _text(result, 8) == bytes.fromhex("41ff15") + _i32(slot - (TEXT + 3) - 4) + b"\xc3"


def test_relaxation_exact_value_decides_at_the_int32_boundary() -> None:
    """The range test uses the value written: lea displacement 0x7fffffff relaxes, one more
    does not (JITLink tests T - F + 4, which is off by 8)."""
    fixup = TEXT + 3
    graph = _graph(bytes.fromhex("488b0500000000c3"), (REX_LOAD, 3, "x", -4))
    result = _link(graph, x=fixup + 4 + 0x7FFF_FFFF)
    assert _text(result, 3) == bytes.fromhex("488d05")
    assert _text(result, 7)[3:] == _i32(0x7FFF_FFFF)
    graph = _graph(bytes.fromhex("488b0500000000c3"), (REX_LOAD, 3, "x", -4))
    result = _link(graph, x=fixup + 4 + 0x8000_0000)
    assert _text(result, 3) == bytes.fromhex("488b05")


def test_relaxation_call_to_external_gets_a_stub_bypassed_when_near() -> None:
    """PLT32 to an external: a stub ``FF 25`` + (slot - stub_end) exists either way; a near
    target is called directly, a far one through the stub."""
    for target, direct in ((NEAR, True), (FAR, False)):
        graph = _graph(bytes.fromhex("e800000000c3"), (EdgeKind.BRANCH_PCREL32, 1, "puts", -4))
        result = _link(graph, puts=target)
        stub = next(iter(graph.stubs.values())).address
        slot = _got_slot(graph, "puts")
        assert stub == TEXT + 6  # right after .text (alignment 1)
        assert _memory(result, stub, 6) == b"\xff\x25" + _i32(slot - (stub + 6))
        assert _memory(result, slot, 8) == struct.pack("<Q", target)
        expected = target if direct else stub
        assert _text(result, 6) == b"\xe8" + _i32(expected - (TEXT + 5)) + b"\xc3"


def test_relaxation_call_to_defined_function_has_no_stub() -> None:
    """PLT32 to a symbol defined in the graph is a direct rel32; no stub, no GOT."""
    graph = _graph(bytes.fromhex("e800000000c3"), (EdgeKind.BRANCH_PCREL32, 1, "local_fn", -4))
    result = _link(graph)
    assert graph.stubs == {}
    assert graph.got_entries == {}
    (segment,) = result.segments  # no GOT page: the code is the only segment
    assert (segment.address, segment.content) == (BASE, b"\xe8" + _i32(0) + b"\xc3")


def test_relaxation_gotpcrel_keeps_its_own_addend() -> None:
    """``cmpq $0, w@GOTPCREL(%rip)`` has addend -5 (an immediate follows the field): the value
    is slot + A - P, not slot - P - 4."""
    code = bytes.fromhex("48833d0000000000c3")
    graph = _graph(code, (EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA32, 3, "w", -5))
    result = _link(graph, w=NEAR)
    slot = _got_slot(graph, "w")
    assert _text(result, 9) == bytes.fromhex("48833d") + _i32(slot - 5 - (TEXT + 3)) + b"\x00\xc3"


def test_relaxation_weak_undefined_symbol_slot_holds_zero() -> None:
    """A weakly referenced symbol nobody defines is 0: its GOT slot holds 0, and the far-away
    0 keeps the load indirect."""
    graph = _graph(bytes.fromhex("488b0500000000c3"), (REX_LOAD, 3, "maybe", -4))
    graph.externals["maybe"].weakly_referenced = True
    linker = GraphLinker(graph)
    linker.prepare()
    linker.allocate(BASE)
    assert linker.external_symbols() == {"maybe": True}
    result = linker.finish({})
    slot = _got_slot(graph, "maybe")
    assert _memory(result, slot, 8) == bytes(8)
    assert _text(result, 3) == bytes.fromhex("488b05")


def test_relaxation_one_got_entry_per_target_serves_loads_and_stub() -> None:
    """A load and a call of the same external share one GOT slot; the stub reads it."""
    code = bytes.fromhex("488b0500000000e800000000c3")
    graph = _graph(code, (REX_LOAD, 3, "f", -4), (EdgeKind.BRANCH_PCREL32, 8, "f", -4))
    result = _link(graph, f=FAR)
    assert len(graph.got_entries) == 1
    slot = _got_slot(graph, "f")
    stub = next(iter(graph.stubs.values())).address
    assert _memory(result, stub, 6) == b"\xff\x25" + _i32(slot - (stub + 6))
    assert _text(result, 13)[:7] == bytes.fromhex("488b05") + _i32(slot - (TEXT + 3) - 4)
