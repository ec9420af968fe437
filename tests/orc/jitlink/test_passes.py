"""The passes and the layout on real objects: the design's worked example byte for byte,
eh-frame splitting, dead stripping, segment layout and initializer tables."""

from __future__ import annotations

import struct

import pytest

from actors.orc.jitlink import (
    EH_FRAME_SECTION,
    GOT_SECTION,
    STUBS_SECTION,
    EdgeKind,
    GraphLinker,
    Lifetime,
    LinkGraph,
    LinkResult,
    MemProt,
    default_passes,
    link,
    read_object,
)
from tests.orc.jitlink._toolchains import Assemble, Objects

BASE = 0x7F00_0000_0000
PRINTF = 0x7FFF_0000_1000


def _read(result: LinkResult, address: int, size: int) -> bytes:
    for segment in result.segments:
        if segment.address <= address and address + size <= segment.address + segment.size:
            padded = segment.content + bytes(segment.size - len(segment.content))
            return padded[address - segment.address : address - segment.address + size]
    raise AssertionError(f"{address:#x} not allocated")


def test_passes_worked_example_main_is_byte_identical_to_llvm_jitlink(objects: Objects) -> None:
    """example.c linked at 0x7f0000000000 with printf far away: main's bytes are the ones
    llvm-jitlink 22 produced (jitlink-elf-x86-64.md §10): both GOT loads relaxed to lea, the
    string by PC32, printf through the stub right after .text."""
    path = objects.get("example.c", "O1-pic")
    graph = read_object(path.read_bytes(), path.name)
    result = link(graph, base=BASE, resolve={"printf": PRINTF})
    main = result.symbols["main"].address
    assert main == BASE + 0x2020
    expected = bytes.fromhex(
        "5389f883e001488d0de3efffff488d1dccefffff8b3bff14c1"
        "8903488d3dbedfffff89c631c0e8040000008b035bc3"
    )
    assert _read(result, main, len(expected)) == expected
    stub = result.sections[STUBS_SECTION].start
    assert stub == BASE + 0x204F
    slot = next(e.address for t, e in graph.got_entries.items() if t.name == "printf")
    assert _read(result, stub, 6) == b"\xff\x25" + struct.pack("<i", slot - (stub + 6))
    assert _read(result, slot, 8) == struct.pack("<Q", PRINTF)
    # table[] holds twice and inc; counter is still 41.
    table, counter = result.symbols["table"].address, result.symbols["counter"].address
    assert _read(result, table, 16) == struct.pack("<QQ", BASE + 0x2000, BASE + 0x2010)
    assert _read(result, counter, 4) == struct.pack("<i", 41)


def _records(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, length field, CIE id / pointer) of each record up to the terminator."""
    records: list[tuple[int, int, int]] = []
    offset = 0
    while True:
        (length,) = struct.unpack_from("<I", data, offset)
        if length == 0:
            return records
        (pointer,) = struct.unpack_from("<I", data, offset + 4)
        records.append((offset, length, pointer))
        offset += 4 + length


def test_passes_eh_frame_is_split_edged_and_terminated(objects: Objects) -> None:
    """One block per record plus a terminator; each FDE's CIE pointer and pc-begin are right
    after layout; the registered range runs from the CIE to the end of the terminator."""
    path = objects.get("example.c", "O1-pic")
    graph = read_object(path.read_bytes(), path.name)
    result = link(graph, base=BASE, resolve={"printf": PRINTF})
    blocks = graph.sections[EH_FRAME_SECTION].blocks
    assert [b.size for b in blocks] == [0x18, 0x14, 0x14, 0x20, 4]
    text = graph.sections[".text"].blocks[0]
    keep_alive = [e for e in text.edges if e.kind is EdgeKind.KEEP_ALIVE]
    assert [e.target.block for e in keep_alive] == blocks[1:4]
    assert result.eh_frame is not None
    assert (result.eh_frame.start, result.eh_frame.end) == (
        blocks[0].address,
        blocks[-1].address + 4,
    )
    data = _read(result, result.eh_frame.start, result.eh_frame.size)
    records = _records(data)
    assert [r[0] for r in records] == [0, 0x18, 0x2C, 0x40]
    assert records[0][2] == 0  # the CIE
    for offset, _, pointer in records[1:]:
        assert offset + 4 - pointer == 0  # CIE pointer leads back to the CIE
    for (offset, _, _), function in zip(records[1:], (0, 0x10, 0x20), strict=True):
        (pc_begin,) = struct.unpack_from("<i", data, offset + 8)
        assert result.eh_frame.start + offset + 8 + pc_begin == BASE + 0x2000 + function


def test_passes_pruned_fde_leaves_no_gap_before_the_next_cie(assemble: Assemble) -> None:
    """A dead function's FDE goes with it, and the records after it stay contiguous. Here the
    records are CIE A (24 bytes), FDE live1 (20), FDE dead (20), CIE B at offset 64, FDE live2:
    JITLink would place CIE B at the next 0 mod 8 after live1's FDE (offset 48), leaving 4 zero
    bytes at 44 that libgcc reads as the terminator, hiding live2's FDE (see _ehframe.py)."""
    cfi = ".cfi_startproc\nret\n.cfi_endproc\n"
    data = assemble(
        f'.section .text.live1,"ax",@progbits\n.globl live1\nlive1:\n{cfi}'
        f'.section .text.dead,"ax",@progbits\ndead:\n{cfi}'
        '.section .text.live2,"ax",@progbits\n.globl live2\nlive2:\n.cfi_startproc\n'
        ".cfi_personality 0x9b, DW.ref.pers\nret\n.cfi_endproc\n"
        '.section .data.pers,"aw",@progbits\n.globl DW.ref.pers\n.hidden DW.ref.pers\n'
        "DW.ref.pers: .quad 0\n"
    )
    graph = read_object(data, "gap.o")
    before = _records(bytes(graph.sections[EH_FRAME_SECTION].blocks[0].content or b"") + bytes(4))
    assert [offset for offset, _, _ in before] == [0, 24, 44, 64, 64 + 4 + before[3][1]]
    result = link(graph, base=BASE, resolve={})
    assert ".text.dead" not in result.sections
    assert result.eh_frame is not None
    walked = _records(_read(result, result.eh_frame.start, result.eh_frame.size))
    assert [offset for offset, _, _ in walked] == [0, 24, 44, 44 + 4 + before[3][1]]
    assert walked[-1][0] + 4 + walked[-1][1] + 4 == result.eh_frame.size
    live2 = result.symbols["live2"].address
    (pc_begin,) = struct.unpack_from(
        "<i", _read(result, result.eh_frame.start + walked[3][0] + 8, 4)
    )
    assert result.eh_frame.start + walked[3][0] + 8 + pc_begin == live2


def test_passes_dead_code_and_its_externals_are_stripped(assemble: Assemble) -> None:
    """Roots are the exported symbols; a section reachable from none is dropped with its
    external references, which are then never looked up."""
    data = assemble(
        '.section .text.main,"ax",@progbits\n.globl main\nmain: call used\nret\n'
        '.section .text.helper,"ax",@progbits\nhelper: call unused\nret\n'
    )
    graph = read_object(data, "dead.o")
    linker = GraphLinker(graph)
    linker.prepare()
    linker.allocate(BASE)
    assert linker.external_symbols() == {"used": False}
    assert ".text.helper" not in {s.name for s in graph.sections.values() if s.blocks}


def test_passes_live_symbols_limit_the_roots(assemble: Assemble) -> None:
    """With live_symbols, only those (and what they reach) survive."""
    data = assemble(
        '.section .text.a,"ax",@progbits\n.globl a\na: ret\n'
        '.section .text.b,"ax",@progbits\n.globl b\nb: call c\nret\n'
    )
    graph = read_object(data, "roots.o")
    result = link(graph, base=BASE, resolve={}, passes=default_passes(live_symbols=["a"]))
    assert set(result.symbols) == {"a"}


def test_passes_weak_definition_made_external_is_pruned(assemble: Assemble) -> None:
    """ORC's pre-prune step for a weak definition that lost: the symbol becomes an external
    reference (bound to the winner) and its block goes away."""
    data = assemble(
        '.section .text.w,"ax",@progbits\n.weak w\nw: ret\n'
        '.section .text.main,"ax",@progbits\n.globl main\nmain: call w\nret\n'
    )
    graph = read_object(data, "weak.o")
    passes = default_passes()

    def lose_w(g: LinkGraph) -> None:
        symbol = g.find_symbol("w")
        assert symbol is not None
        g.make_external(symbol)

    passes.pre_prune.insert(0, lose_w)
    winner = BASE + 0x10_0000
    result = link(graph, base=BASE, resolve={"w": winner}, passes=passes)
    assert ".text.w" not in result.sections
    assert "w" not in result.symbols
    main = result.symbols["main"].address
    assert _read(result, main, 5) == b"\xe8" + struct.pack("<i", winner - (main + 5))


def test_passes_segments_by_protection_in_order(objects: Objects) -> None:
    """R (read-only data, eh-frame, GOT), then RW (data; .bss zero-filled after it), then RX
    (code, stubs), each page-aligned in one contiguous range."""
    path = objects.get("bigbss.c", "O2")
    graph = read_object(path.read_bytes(), path.name)
    linker = GraphLinker(graph)
    request = linker.prepare()
    assert [s.protection for s in request.segments] == [
        MemProt.READ, MemProt.READ | MemProt.WRITE, MemProt.READ | MemProt.EXEC,
    ]  # fmt: skip
    offset = 0
    for segment in request.segments:
        assert segment.offset == offset
        assert segment.size % 4096 == 0
        assert segment.lifetime is Lifetime.STANDARD
        offset += segment.size
    assert request.size == offset
    linker.allocate(BASE)
    result = linker.finish({"printf": PRINTF})
    rw = result.segments[1]
    data, bss = result.sections[".data"], result.sections[".bss"]
    assert rw.address <= data.start < data.end <= bss.start < bss.end <= rw.address + rw.size
    assert len(rw.content) == data.end - rw.address  # the 64 MiB are zero-fill, not content
    assert rw.zero_fill_size >= 64 << 20
    sections_in = {
        name: next(
            s.protection for s in result.segments if s.address <= r.start < s.address + s.size
        )
        for name, r in result.sections.items()
    }
    assert sections_in[EH_FRAME_SECTION] == MemProt.READ
    assert sections_in[".text"] == MemProt.READ | MemProt.EXEC


def test_passes_got_is_read_only_and_stubs_executable(objects: Objects) -> None:
    """$__GOT lives in the R segment, $__STUBS in RX after .text."""
    path = objects.get("example.c", "O1-pic")
    result = link(read_object(path.read_bytes(), path.name), base=BASE, resolve={"printf": PRINTF})
    r, rw, rx = result.segments
    assert r.address <= result.sections[GOT_SECTION].start < r.address + r.size
    assert rx.address <= result.sections[STUBS_SECTION].start < rx.address + rx.size
    assert result.sections[STUBS_SECTION].start == result.sections[".text"].end
    assert rw.protection == MemProt.READ | MemProt.WRITE


def test_passes_elf_section_load_addresses(objects: Objects) -> None:
    """Each loaded ELF section's load address, by section index (for a debug object's
    sh_addr), agrees with the section ranges; non-alloc sections have none."""
    path = objects.get("hello_debug.c", "g-O0-pic")
    graph = read_object(path.read_bytes(), path.name)
    result = link(graph, base=BASE, resolve={"puts": PRINTF})
    names = {index: block.section.name for block in graph.blocks() if (index := block.elf_section)}
    for index, address in result.elf_sections.items():
        assert result.sections[names[index]].start == address
    assert set(names.values()) == {".text", ".rodata.str1.1", EH_FRAME_SECTION}


def test_passes_initializers_in_run_order(objects: Objects) -> None:
    """With keep_initializers the tables survive pruning; initializers() runs priority 101,
    200, .ctors.65000 (priority 535), then .init_array; finalizers() runs .fini_array reversed;
    the init symbol is defined with MaterializationSideEffectsOnly."""
    path = objects.get("initorder.c", "O0-pic")
    graph = read_object(path.read_bytes(), path.name)
    passes = default_passes(keep_initializers=True, init_symbol="$.initorder.o.__inits.0")
    linker = GraphLinker(graph, passes)
    linker.prepare()
    linker.allocate(BASE)
    symbols = linker.defined_symbols()
    assert symbols["$.initorder.o.__inits.0"].flags == 0x40
    result = linker.finish({"printf": PRINTF, "puts": PRINTF + 0x100})
    local = {s.name: s.address for s in graph.defined if s.name}
    assert result.initializers() == tuple(local[n] for n in ("c101", "c200", "legacy", "plain"))
    assert result.finalizers() == (local["dplain"], local["d101"])
    assert {s.name for s in result.init_sections} == {
        ".init_array.101", ".init_array.200", ".init_array", ".ctors.65000", ".fini_array.101",
        ".fini_array",
    }  # fmt: skip


def test_passes_initializers_are_pruned_by_default(objects: Objects) -> None:
    """Without a platform (JITLink's default) nothing keeps the tables alive."""
    path = objects.get("initorder.c", "O0-pic")
    graph = read_object(path.read_bytes(), path.name)
    result = link(graph, base=BASE, resolve=lambda name: PRINTF)
    assert result.init_sections == ()
    assert result.initializers() == ()


def test_passes_section_bounds_for_a_section_not_in_the_graph_stay_external(
    assemble: Assemble,
) -> None:
    """``__start_X`` for a section this graph lacks is an ordinary external (another object
    may define X); for a present section it is bound locally (sections.c runs it)."""
    data = assemble(
        ".globl main\n.text\nmain: leaq __start_mine(%rip), %rax\nleaq __stop_other(%rip), %rbx\n"
        'ret\n.section mine,"a",@progbits\n.quad 1, 2\n'
    )
    graph = read_object(data, "bounds.o")
    linker = GraphLinker(graph)
    linker.prepare()
    linker.allocate(BASE)
    assert linker.external_symbols() == {"__stop_other": False}
    result = linker.finish({"__stop_other": BASE + 0x100})
    start = result.sections["mine"].start
    main = result.symbols["main"].address
    assert _read(result, main + 3, 4) == struct.pack("<i", start - (main + 7))


@pytest.mark.parametrize("source", ["cxx_lib.cpp", "eh.cpp"])
def test_passes_eh_frame_records_stay_contiguous(objects: Objects, source: str) -> None:
    """Whatever is pruned, walking the registered range from its start reaches its end."""
    path = objects.get(source, "O0-pic")
    graph = read_object(path.read_bytes(), path.name)
    result = link(graph, base=BASE, resolve=lambda name: BASE + 0x1000_0000)
    assert result.eh_frame is not None
    data = _read(result, result.eh_frame.start, result.eh_frame.size)
    last_offset, last_length, _ = _records(data)[-1]
    assert last_offset + 4 + last_length + 4 == result.eh_frame.size


def test_passes_hidden_and_weak_flags_at_resolution(objects: Objects) -> None:
    """defined_symbols reports ORC flags: weak, hidden (not exported), callable."""
    path = objects.get("multi_lib.c", "O2")
    result = link(read_object(path.read_bytes(), path.name), base=BASE, resolve=lambda n: BASE)
    assert result.symbols["hidden_twice"].flags == 0x20  # callable, not exported
    assert result.symbols["lib_counter"].flags == 0x10
    path = objects.get("weak_main.c", "O2")
    result = link(read_object(path.read_bytes(), path.name), base=BASE, resolve=lambda n: BASE)
    assert result.symbols["overridden"].flags == 0x02 | 0x10 | 0x20
    assert result.symbols["weak_value"].flags == 0x02 | 0x10
