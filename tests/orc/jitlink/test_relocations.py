"""Every supported relocation type, from a real assembled object, checked at a fixed address.

``programs/relocs.s`` (llvm-mc 14 and 22) holds one of each type; it is linked at ``BASE``
with no executor (what ``llvm-jitlink -noexec -slab-address`` does) and each patched field is
compared with the psABI formula computed from the link's own addresses, for externals near
the code (relaxed) and far from it (through the GOT and a stub).
"""

from __future__ import annotations

import pytest

from actors.orc.jitlink import GOT_SECTION, LinkGraph, LinkResult, SymbolFlags, link, read_object
from tests.orc.jitlink._toolchains import Objects

BASE = 0x7F00_0000_0000


class _Memory:
    """Reads little-endian values out of a link result's segments."""

    def __init__(self, result: LinkResult) -> None:
        self.result = result

    def read(self, address: int, size: int) -> bytes:
        for segment in self.result.segments:
            if segment.address <= address and address + size <= segment.address + segment.size:
                offset = address - segment.address
                content = segment.content + bytes(segment.size - len(segment.content))
                return content[offset : offset + size]
        raise AssertionError(f"{address:#x} is not allocated")

    def int(self, address: int, size: int, *, signed: bool = True) -> int:
        return int.from_bytes(self.read(address, size), "little", signed=signed)


def _slot(graph: LinkGraph, name: str) -> int:
    entry = graph.find_got_entry(name)
    assert entry is not None, name
    return entry.address


@pytest.mark.parametrize("distance", ["near", "far"])
def test_relocations_every_type_at_a_fixed_address(objects: Objects, distance: str) -> None:
    """Each field holds its formula's value; relaxation happens exactly for near targets."""
    path = objects.get("relocs.s", "asm")
    graph = read_object(path.read_bytes(), path.name)
    offset = 0x10_0000 if distance == "near" else 3 << 30
    ext_fn, ext_var = BASE + offset, BASE + offset + 0x100
    result = link(graph, base=BASE, resolve={"ext_fn": ext_fn, "ext_var": ext_var})
    mem = _Memory(result)
    main = result.symbols["main"].address
    data = result.symbols["data_obj"].address
    fields = data + 8
    got = result.sections[GOT_SECTION].start
    assert graph.got_symbol is not None
    assert graph.got_symbol.address == got
    near = distance == "near"

    # .data: the data relocations (no relaxation applies).
    assert mem.int(fields + 0, 8, signed=False) == ext_var + 16  # 64
    assert mem.int(fields + 8, 8) == data - 8 - (fields + 8)  # PC64
    assert mem.int(fields + 16, 8) == _slot(graph, "ext_var") + 2 - (fields + 16)  # GOTPCREL64
    assert mem.int(fields + 24, 8) == got + 24 - (fields + 24)  # GOTPC64
    assert mem.int(fields + 32, 8) == 8 + 1  # SIZE64
    assert mem.int(fields + 40, 4) == 8 + 16  # SIZE32
    assert mem.int(fields + 44, 4) == data + 44 - (fields + 44)  # PC32
    assert mem.int(fields + 48, 2) == 0  # PC16 to itself
    assert mem.int(fields + 50, 1) == 0  # PC8 to itself
    assert mem.int(fields + 51, 1) == 0  # NONE: untouched
    assert mem.int(fields + 52, 4, signed=False) == 0x1238  # 32 (absolute symbol folded)
    assert mem.int(fields + 56, 4) == 0x1230  # 32S
    assert mem.int(fields + 60, 2, signed=False) == 0x1236  # 16
    assert mem.int(fields + 62, 1, signed=False) == 0x34  # 8

    # GOT slots hold the targets; the weak undefined one holds 0.
    assert mem.int(_slot(graph, "ext_var"), 8, signed=False) == ext_var
    assert mem.int(_slot(graph, "ext_fn"), 8, signed=False) == ext_fn
    assert mem.int(_slot(graph, "weak_ref"), 8) == 0
    assert mem.int(_slot(graph, "local_fn"), 8) == result.symbols["main"].address + 0x4F

    # .text.
    stub_symbol = graph.find_stub("ext_fn")
    assert stub_symbol is not None
    stub = stub_symbol.address
    assert mem.read(stub, 2) == b"\xff\x25"
    assert mem.int(stub + 2, 4) == _slot(graph, "ext_fn") - (stub + 6)
    assert mem.int(main + 1, 4) == (ext_fn if near else stub) - (main + 5)  # PLT32
    assert mem.read(main + 0xA, 3) == bytes.fromhex("488d05" if near else "488b05")
    target = ext_var if near else _slot(graph, "ext_var")
    assert mem.int(main + 0xD, 4) == target - 4 - (main + 0xD)  # REX_GOTPCRELX mov
    assert mem.read(main + 0x11, 2) == bytes.fromhex("8d05" if near else "8b05")
    assert mem.int(main + 0x13, 4) == target - 4 - (main + 0x13)  # GOTPCRELX movl
    if near:  # call *ext_fn@GOTPCREL(%rip) -> addr32 call ext_fn
        assert mem.read(main + 0x17, 2) == bytes.fromhex("67e8")
        assert mem.int(main + 0x19, 4) == ext_fn - (main + 0x1D)
    else:
        assert mem.read(main + 0x17, 2) == bytes.fromhex("ff15")
        assert mem.int(main + 0x19, 4) == _slot(graph, "ext_fn") - (main + 0x1D)
    assert mem.int(main + 0x20, 4) == _slot(graph, "weak_ref") - 5 - (main + 0x20)  # GOTPCREL
    assert mem.int(main + 0x28, 4) == data - 4 - (main + 0x28)  # PC32
    assert mem.read(main + 0x2C, 3) == bytes.fromhex("480305")  # add: never relaxed
    assert mem.int(main + 0x2F, 4) == _slot(graph, "local_fn") - 4 - (main + 0x2F)
    assert mem.int(main + 0x36, 4) == got - 4 - (main + 0x36)  # GOTPC32
    assert mem.int(main + 0x3C, 8) == data - got  # GOTOFF64
    assert mem.int(main + 0x46, 8) == _slot(graph, "ext_var") - got  # GOT64
    local_fn = main + 0x4F
    if near:  # jmp *ext_fn@GOTPCREL(%rip) -> jmp ext_fn; nop
        assert mem.read(local_fn, 1) == b"\xe9"
        assert mem.int(local_fn + 1, 4) == ext_fn - (local_fn + 5)
        assert mem.read(local_fn + 5, 1) == b"\x90"
    else:
        assert mem.read(local_fn, 2) == b"\xff\x25"

    # The absolute global is a definition with its fixed address.
    assert result.symbols["low_abs"].address == 0x1234
    assert result.symbols["low_abs"].flags == SymbolFlags.EXPORTED


def test_relocations_readelf_agrees_with_the_object(objects: Objects) -> None:
    """The object really holds the types the test claims (guards against assembler drift)."""
    path = objects.get("relocs.s", "asm")
    graph = read_object(path.read_bytes(), path.name)
    types = {edge.relocation for block in graph.blocks() for edge in block.edges}
    assert types == {1, 2, 4, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 32, 33, 41, 42}
