"""`LinkedAddresses` on hand-built graphs: what it records, finds, reads and prints."""

from __future__ import annotations

import re

import pytest

from actors.orc.jitlink import (
    CapstoneDecoder,
    CheckRegistrationError,
    Lifetime,
    LinkedAddresses,
    LinkGraph,
    MemProt,
    Scope,
)

BASE = 0x1000_0000


def _graph(name: str = "/some/dir/obj.o") -> LinkGraph:
    """.text (two blocks back to back), .bss, a no-alloc section, a GOT entry and a stub."""
    graph = LinkGraph(name)
    text = graph.add_section(".text", MemProt.READ | MemProt.EXEC)
    first = graph.add_content_block(text, b"\x90\x90\x90\xc3")
    second = graph.add_content_block(text, b"\xcc\xcc")
    first.address, second.address = BASE, BASE + 4
    bss = graph.add_section(".bss", MemProt.READ | MemProt.WRITE)
    zeros = graph.add_zero_fill_block(bss, 0x20)
    zeros.address = BASE + 0x1000
    debug = graph.add_section(".debug_info", MemProt.READ, Lifetime.NO_ALLOC)
    graph.add_content_block(debug, b"dbg").address = 0
    graph.add_defined_symbol(first, 0, "main", 4, scope=Scope.DEFAULT)
    graph.add_defined_symbol(first, 3, "local_label", 0)
    graph.add_defined_symbol(zeros, 8, "buffer", 8, scope=Scope.DEFAULT)
    graph.add_defined_symbol(second, 0, None, 2)
    graph.add_absolute_symbol("abs_in_graph", 0x1234, scope=Scope.DEFAULT)
    target = graph.add_external_symbol("ext")
    got = graph.add_section("$__GOT", MemProt.READ)
    slot_block = graph.add_content_block(got, bytes(8), alignment=8)
    slot_block.address = BASE + 0x2000
    slot = graph.add_defined_symbol(slot_block, 0, None, 8)
    graph.got_entries[target] = slot
    stubs = graph.add_section("$__STUBS", MemProt.READ | MemProt.EXEC)
    stub_block = graph.add_content_block(stubs, b"\xff\x25\0\0\0\0")
    stub_block.address = BASE + 6
    graph.stubs[target] = graph.add_defined_symbol(stub_block, 0, None, 6)
    return graph


def test_linked_addresses_records_symbols_sections_got_and_stubs() -> None:
    """Named symbols (locals too) and absolutes, per-file sections (not no-alloc ones), GOT
    entries and stubs by target name, under the file name without its directory."""
    addresses = LinkedAddresses()
    addresses.add_graph(_graph())
    assert addresses.symbol("main") is not None
    assert addresses.symbol("main").address == BASE  # type: ignore[union-attr]
    assert addresses.symbol("local_label").extent == 1  # type: ignore[union-attr]
    assert addresses.symbol("buffer").zero_fill  # type: ignore[union-attr]
    assert addresses.symbol("abs_in_graph").address == 0x1234  # type: ignore[union-attr]
    assert addresses.symbol("ext") is None
    assert sorted(addresses.files) == ["obj.o"]
    assert addresses.section("obj.o", ".text").size == 6
    assert addresses.section("obj.o", ".bss").zero_fill
    with pytest.raises(
        LookupError, match=re.escape('no section ".debug_info" registered for file "obj.o"')
    ):
        addresses.section("obj.o", ".debug_info")
    assert addresses.got_entry("obj.o", "ext").address == BASE + 0x2000
    assert addresses.stub("obj.o", "ext", None).address == BASE + 6
    assert addresses.stub("obj.o", "ext", "").address == BASE + 6
    with pytest.raises(LookupError, match=re.escape('file "other.o" not recognized')):
        addresses.got_entry("other.o", "ext")


def test_linked_addresses_stub_kind_filter_messages() -> None:
    """A filter that matches no stub kind, or is no regex, fails as LLVM 22 words it."""
    addresses = LinkedAddresses()
    addresses.add_graph(_graph())
    with pytest.raises(LookupError) as caught:
        addresses.stub("obj.o", "ext", "thumb")
    assert caught.value.args[0] == (
        '"ext" has 1 stubs in file "obj.o", but none of them matches the stub-kind filter '
        '"thumb" (all encountered kinds are "<unknown>").'
    )
    with pytest.raises(LookupError, match='invalid stub-kind filter "\\("'):
        addresses.stub("obj.o", "ext", "(")
    with pytest.raises(
        LookupError, match=re.escape('no stub for "main" registered for file "obj.o"')
    ):
        addresses.stub("obj.o", "main", None)


def test_linked_addresses_refuses_two_files_of_one_name() -> None:
    """File names must be distinct (llvm-jitlink: 'when -check is passed, ...')."""
    addresses = LinkedAddresses()
    addresses.add_graph(_graph("/a/obj.o"))
    with pytest.raises(CheckRegistrationError, match=r'file names must be distinct .*"obj\.o"'):
        addresses.recording_pass()(_graph("/b/obj.o"))


def test_linked_addresses_reads_recorded_blocks() -> None:
    """Reads span adjacent blocks, see zero-fill as zeros, and fail outside blocks."""
    addresses = LinkedAddresses()
    addresses.add_graph(_graph())
    assert addresses.read(BASE + 2, 4) == b"\x90\xc3\xcc\xcc"
    assert addresses.read(BASE + 0x1008, 8) == bytes(8)
    assert addresses.read(BASE + 4, 8) == b"\xcc\xcc\xff\x25\0\0\0\0"  # .text, then the stub
    with pytest.raises(LookupError, match="0x1000000c is not in a linked block"):
        addresses.read(BASE + 4, 10)  # runs past the stub's end
    with pytest.raises(LookupError, match="0xfffffff is not in a linked block"):
        addresses.read(BASE - 1, 2)


def test_linked_addresses_dump_is_the_show_addrs_text() -> None:
    """-show-addrs: the symbols, then per file its sections, GOT entries and stubs."""
    addresses = LinkedAddresses()
    addresses.add_absolute("cli_abs", 0x42)
    addresses.add_graph(_graph())
    text = addresses.dump()
    assert text.startswith("Registered addresses:\nSymbols:\n")
    assert '  "cli_abs" target addr = 0x0000000000000042, content: 0 bytes\n' in text
    assert '  "buffer" target addr = 0x0000000010001008, zero-fill: 8 bytes\n' in text
    assert 'File "obj.o":\n' in text
    assert '  Section ".text": target addr = 0x0000000010000000, content: 6 bytes\n' in text
    assert '  GOT "ext": target addr = 0x0000000010002000, content: 8 bytes\n' in text
    assert '  Stubs "ext": target addr = 0x0000000010000006, content: 6 bytes\n' in text


def test_capstone_decoder_basics() -> None:
    """Invalid code decodes to None; a lone lock prefix is a 1-byte instruction; operands
    print as LLVM's MCInst dump does."""
    decoder = CapstoneDecoder()
    assert decoder.decode(b"\x06", 0) is None
    lock = decoder.decode(b"\xf0\x48\x01\x05\0\0\0\0", 0)
    assert lock is not None
    assert (lock.size, lock.operands) == (1, ())
    call = decoder.decode(b"\xe8\xfb\xff\xff\xff", 0x1000)
    assert call is not None
    assert str(call) == "<call 0x1000 <Imm:-5>>"
    assert call.operands[0].value == (1 << 64) - 5
