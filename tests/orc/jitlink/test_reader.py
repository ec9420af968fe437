"""Reading clang 14/22 objects: sections, symbols and edges are what llvm-readelf reports.

Every object the session builds (C, C++, llc, llvm-mc; -O0/-O2; PIC, PIE, non-PIC, large
model, -fno-plt, -g, -gz) is read with `read_object` and compared, section by section, symbol
by symbol and relocation by relocation, with ``llvm-readelf --elf-output-style=JSON`` of LLVM
22 (which reads clang 14's objects as well).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from actors.orc.jitlink import (
    GOT_SYMBOL,
    Block,
    Linkage,
    LinkGraph,
    MemProt,
    Scope,
    SymbolKind,
    default_passes,
    link,
    read_object,
)
from tests.orc.jitlink._toolchains import SOURCES, Assemble, Objects, find_toolchain

_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR = 1, 2, 4
_GOTPC = {26, 29}  # R_X86_64_GOTPC32 / GOTPC64 measure from _GLOBAL_OFFSET_TABLE_


def _readelf(path: Path) -> dict[str, Any]:
    tools = find_toolchain(22)
    if isinstance(tools, str):
        pytest.skip(tools)
    argv = [str(tools.readelf), "--elf-output-style=JSON", "-S", "-r", "-s", str(path)]
    output = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    parsed: list[dict[str, Any]] = json.loads(output)
    return parsed[0]


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _blocks_by_section(graph: LinkGraph) -> dict[int, Block]:
    return {b.elf_section: b for b in graph.blocks() if b.elf_section is not None}


# TLS objects are refused at read time (test_bad_inputs covers them).
CASES = [
    (source, variant)
    for source, (variants, _) in SOURCES.items()
    for variant in variants
    if source != "tls.c"
]


@pytest.mark.parametrize(("source", "variant"), CASES, ids=[f"{s}-{v}" for s, v in CASES])
def test_reader_matches_llvm_readelf(objects: Objects, source: str, variant: str) -> None:
    """Loaded sections, every symbol and every relocation of a loaded section match."""
    path = objects.get(source, variant)
    elf = _readelf(path)
    graph = read_object(path.read_bytes(), path.name)
    blocks = _blocks_by_section(graph)
    sections = [entry["Section"] for entry in elf["Sections"]]

    # Sections: exactly the SHF_ALLOC ones are blocks, with their size, alignment, protection.
    for section in sections:
        index, flags = section["Index"], section["Flags"]["Value"]
        loaded = bool(flags & _SHF_ALLOC)
        assert (index in blocks) == loaded, section["Name"]["Name"]
        if not loaded:
            continue
        block = blocks[index]
        assert block.section.name == section["Name"]["Name"]
        assert block.size == section["Size"]
        assert block.alignment == max(section["AddressAlignment"], 1)
        assert block.is_zero_fill == (section["Type"]["Name"] == "SHT_NOBITS")
        protection = MemProt.READ
        if flags & _SHF_WRITE:
            protection |= MemProt.WRITE
        if flags & _SHF_EXECINSTR:
            protection |= MemProt.EXEC
        assert block.section.protection == protection

    # Symbols.
    symbols = [entry["Symbol"] for entry in elf["Symbols"]]
    for symbol in symbols[1:]:
        kind, binding = symbol["Type"]["Name"], symbol["Binding"]["Name"]
        name, where = symbol["Name"]["Name"], symbol["Section"]
        if kind in ("File", "Section"):
            continue
        hidden = any(flag["Name"] == "STV_HIDDEN" for flag in symbol["Other"].get("Flags", []))
        if binding == "Local":
            if where["Value"] in blocks and name:
                found = [s for s in graph.defined if s.name == name and s.scope is Scope.LOCAL]
                assert any(s.offset == symbol["Value"] for s in found), name
            continue
        scope = Scope.HIDDEN if hidden else Scope.DEFAULT
        linkage = Linkage.STRONG if binding == "Global" else Linkage.WEAK
        if where["Name"] == "Undefined":
            external = graph.externals[name]
            assert external.kind is SymbolKind.EXTERNAL
            assert external.weakly_referenced == (binding == "Weak")
            continue
        found_symbol = graph.find_symbol(name)
        assert found_symbol is not None, name
        assert (found_symbol.scope, found_symbol.size) == (scope, symbol["Size"]), name
        if where["Name"] == "Absolute":
            assert (found_symbol.kind, found_symbol.address) == (
                SymbolKind.ABSOLUTE,
                symbol["Value"],
            )
        elif where["Name"] == "Common":
            assert found_symbol.block is not None
            assert found_symbol.linkage is Linkage.WEAK
            assert found_symbol.block.section.name == ".common"
            assert found_symbol.block.alignment == symbol["Value"]
            assert found_symbol.block.is_zero_fill
        else:
            assert found_symbol.linkage is linkage, name
            assert found_symbol.block is blocks[where["Value"]], name
            assert found_symbol.offset == symbol["Value"], name
            assert found_symbol.callable == (kind == "Function"), name

    # Relocations: one edge per record of a loaded section (NONE dropped), same offset, type,
    # addend and target.
    for table in elf["Relocations"]:
        target_index = sections[table["SectionIndex"]]["Info"]
        records = [r["Relocation"] for r in table["Relocs"]]
        if target_index not in blocks:
            continue  # debug sections etc.: skipped, whatever their types
        block = blocks[target_index]
        expected = []
        for record in records:
            rtype = record["Type"]["Value"]
            if rtype == 0:
                continue
            index = record["Symbol"]["Value"]
            elf_symbol = symbols[index]
            if rtype in _GOTPC:
                target = GOT_SYMBOL
            elif index == 0:
                target = "<absolute 0>"
            elif elf_symbol["Type"]["Name"] == "Section":
                target = f"<section {sections[elf_symbol['Section']['Value']]['Name']['Name']}>"
            else:
                target = elf_symbol["Name"]["Name"]
            expected.append((record["Offset"], rtype, _signed(record["Addend"]), target))
        got = []
        for edge in block.edges:
            target_symbol = edge.target
            if target_symbol.name is not None:
                target = target_symbol.name
            elif target_symbol.kind is SymbolKind.ABSOLUTE:
                target = f"<absolute {target_symbol.address}>"
            else:
                assert target_symbol.block is not None
                assert target_symbol.offset == 0
                target = f"<section {target_symbol.block.section.name}>"
            got.append((edge.offset, edge.relocation, edge.addend, target))
        assert got == expected


def test_reader_merges_same_named_sections(objects: Objects) -> None:
    """Sections of one name share a graph section (one block each), as in JITLink 22: the C++
    objects have a ``.text`` plus per-function COMDAT sections, each its own graph section."""
    path = objects.get("cxx_lib.cpp", "O0-pic")
    graph = read_object(path.read_bytes(), path.name)
    assert len(graph.sections[".text"].blocks) == 1
    assert any(name.startswith(".text._Z") for name in graph.sections)
    assert graph.comdat_groups  # the SHT_GROUPs are recorded, signature -> member blocks
    for signature, members in graph.comdat_groups.items():
        assert members, signature


@pytest.mark.slow
def test_reader_more_than_65279_sections(assemble: Assemble) -> None:
    """An object with 65,300 sections (e_shnum 0, SHN_XINDEX symbols through
    SHT_SYMTAB_SHNDX; LLVM 22 reads these, 14 does not) links, keeping only what main reaches."""
    lines = [".globl main", ".text", "main: call f65299", "ret"]
    for i in range(65300):
        lines += [f'.section .text.f{i},"ax",@progbits', f".globl f{i}", f"f{i}: ret"]
    graph = read_object(assemble("\n".join(lines) + "\n"), "many.o")
    assert len(graph.sections) == 65301
    result = link(
        graph, base=0x7F00_0000_0000, resolve={}, passes=default_passes(live_symbols=["main"])
    )
    assert set(result.sections) == {".text", ".text.f65299"}
    main = result.symbols["main"].address
    target = result.symbols["f65299"].address
    segment = result.segments[0]
    offset = main - segment.address
    assert segment.content[offset : offset + 5] == b"\xe8" + (target - main - 5).to_bytes(
        4, "little", signed=True
    )
