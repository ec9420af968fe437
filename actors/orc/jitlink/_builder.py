"""`read_object`: an x86-64 ELF relocatable object becomes a `LinkGraph`.

What becomes what (jitlink-elf-x86-64.md §1; where 14 and 22 differ we follow 22 unless §11
says otherwise):

- Every SHF_ALLOC section with contents or NOBITS becomes **one block** in the graph section of
  the same name (same-named sections share a graph section; their flags must agree). Protection
  is R, plus W for SHF_WRITE and X for SHF_EXECINSTR. Non-alloc sections (``.comment``,
  ``.note.GNU-stack``, ``.llvm_addrsig``, ``.group``, ``.debug_*``, ...) get no graph section,
  and relocations that patch them are skipped (14's behaviour for debug sections, so a ``-g``
  object can never fail over a debug-only relocation type: §11.3).
- Symbols: STT_FILE is dropped; STT_SECTION becomes an anonymous local symbol at offset 0;
  locals are scope LOCAL; GLOBAL is strong, WEAK and GNU_UNIQUE weak; STV_HIDDEN (and
  STV_INTERNAL) scope HIDDEN, other visibilities DEFAULT; STT_FUNC is callable; undefined
  globals are externals (weakly referenced for STB_WEAK); SHN_ABS symbols are absolute symbols
  (§11.6); SHN_COMMON symbols get a zero-fill block of ``st_size`` bytes aligned to
  ``st_value`` in section ``.common`` and weak linkage. STT_GNU_IFUNC is refused.
- Each RELA record becomes one edge (`_x86_64.RELOCATION_EDGES`); GOTPC32/GOTPC64 target
  ``_GLOBAL_OFFSET_TABLE_`` whatever symbol they name; NONE is dropped.
- SHT_GROUP sections are not interpreted for linking (ORC resolves COMDAT duplicates through
  weak symbols, §1.3); each group is recorded in `LinkGraph.comdat_groups` as its signature
  name and member blocks, for dumps and for drivers that want to act on whole groups.
"""

from __future__ import annotations

from typing import Final

from ._elf import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_ABS,
    SHN_COMMON,
    SHN_UNDEF,
    STB_GLOBAL,
    STB_GNU_UNIQUE,
    STB_LOCAL,
    STB_WEAK,
    STT_FILE,
    STT_FUNC,
    STT_GNU_IFUNC,
    STT_SECTION,
    STV_HIDDEN,
    STV_INTERNAL,
    ElfObject,
    read_elf,
)
from ._graph import Block, Edge, Linkage, LinkGraph, MemProt, Scope, Symbol
from ._x86_64 import GOTPC32, GOTPC64, RELOCATION_EDGES, fixup_spec, relocation_name

__all__ = ["COMMON_SECTION", "GOT_SYMBOL", "MAX_SECTION_SIZE", "build_graph", "read_object"]

MAX_SECTION_SIZE: Final = 1 << 31
"""Largest section accepted (2 GiB): everything in one graph must stay within the small code
model's +-2 GiB of itself."""

COMMON_SECTION: Final = ".common"
"""The graph section that holds SHN_COMMON definitions (JITLink's name)."""

GOT_SYMBOL: Final = "_GLOBAL_OFFSET_TABLE_"
"""The symbol GOT-relative relocations are measured from; the GOT pass defines it."""

_SKIPPED_TYPES: Final = frozenset(
    {"SHT_NULL", "SHT_RELA", "SHT_REL", "SHT_SYMTAB", "SHT_STRTAB", "SHT_GROUP", "SHT_SYMTAB_SHNDX"}
)
_SHF_COMPRESSED: Final = 0x800
_EDGE_KINDS: Final = {
    rtype: (kind, fixup_spec(kind).width) for rtype, kind in RELOCATION_EDGES.items()
}
_GOTPC_TYPES: Final = frozenset({GOTPC32, GOTPC64})


def read_object(data: bytes | bytearray | memoryview, name: str) -> LinkGraph:
    """Build the link graph of an x86-64 ELF relocatable object.

    Pure: no I/O; safe on any thread; `data` is copied, never kept or modified.

    Args:
        data: the object file's bytes.
        name: the file's name; the graph is named after it and every error starts with it.

    Returns:
        A fresh graph (nothing live yet; no GOT, stubs or eh-frame splitting: those are passes).

    Raises:
        ObjectFormatError: the file is not a well-formed x86-64 ELF relocatable object, or uses
            an unsupported relocation type, symbol type or section (the message names it).
    """
    return build_graph(read_elf(data, name))


def build_graph(elf: ElfObject) -> LinkGraph:
    """The graph of an already checked object (`read_object` without the file checks); split
    out so that the benchmark can time ELF parsing and graph building apart.

    Raises:
        ObjectFormatError: as `read_object`, for problems past the file level.
    """
    graph = LinkGraph(elf.name)
    blocks = _build_blocks(elf, graph)
    symbols = _build_symbols(elf, graph, blocks)
    _build_edges(elf, graph, blocks, symbols)
    for section, _flags, members in elf.groups():
        signature = elf.symbols[section.info]
        group_name = signature.name or elf.sections[signature.shndx].name
        graph.comdat_groups[group_name] = [blocks[m] for m in members if m in blocks]
    return graph


def _build_blocks(elf: ElfObject, graph: LinkGraph) -> dict[int, Block]:
    blocks: dict[int, Block] = {}
    for section in elf.sections:
        if not section.flags & SHF_ALLOC or section.type in _SKIPPED_TYPES:
            continue
        where = f"section [{section.index}] {section.name}"
        if section.flags & _SHF_COMPRESSED:
            raise elf.error(f"{where} is SHF_ALLOC and SHF_COMPRESSED; cannot load it")
        if section.size > MAX_SECTION_SIZE:
            raise elf.error(
                f"{where} is too large: {section.size:#x} bytes, limit {MAX_SECTION_SIZE:#x}"
            )
        protection = MemProt.READ
        if section.flags & SHF_WRITE:
            protection |= MemProt.WRITE
        if section.flags & SHF_EXECINSTR:
            protection |= MemProt.EXEC
        try:
            graph_section = graph.add_section(section.name, protection)
        except ValueError as exc:
            raise elf.error(str(exc)) from exc
        alignment = max(section.addralign, 1)
        if section.is_nobits:
            block = graph.add_zero_fill_block(
                graph_section,
                section.size,
                alignment=alignment,
                origin=section.addr,
                elf_section=section.index,
            )
        else:
            block = graph.add_content_block(
                graph_section,
                elf.content(section),
                alignment=alignment,
                origin=section.addr,
                elf_section=section.index,
            )
        blocks[section.index] = block
        graph.elf_section_origins[section.index] = section.addr
    return blocks


def _build_symbols(
    elf: ElfObject, graph: LinkGraph, blocks: dict[int, Block]
) -> list[Symbol | None]:
    symbols: list[Symbol | None] = [None] * len(elf.symbols)
    for sym in elf.symbols[1:]:
        if sym.type == STT_FILE:
            continue
        label = f"symbol {sym.index} ({sym.name or '<unnamed>'})"
        if sym.type == STT_GNU_IFUNC:
            raise elf.error(f"{label} is STT_GNU_IFUNC; indirect functions are not supported")
        if sym.bind == STB_LOCAL:
            linkage, scope = Linkage.STRONG, Scope.LOCAL
        elif sym.bind in (STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE):
            linkage = Linkage.STRONG if sym.bind == STB_GLOBAL else Linkage.WEAK
            scope = Scope.HIDDEN if sym.visibility in (STV_HIDDEN, STV_INTERNAL) else Scope.DEFAULT
        else:
            raise elf.error(f"{label} has unsupported binding {sym.bind}")
        name = sym.name or None
        if sym.shndx == SHN_UNDEF:
            if scope is Scope.LOCAL or name is None:
                raise elf.error(f"{label} is undefined but not global")
            symbols[sym.index] = graph.add_external_symbol(
                name, weakly_referenced=linkage is Linkage.WEAK
            )
        elif sym.shndx == SHN_ABS:
            symbols[sym.index] = graph.add_absolute_symbol(
                name,
                sym.value,
                size=sym.size,
                linkage=linkage,
                scope=scope,
                callable=sym.type == STT_FUNC,
            )
        elif sym.shndx == SHN_COMMON:
            if name is None or scope is Scope.LOCAL:
                raise elf.error(f"{label} is SHN_COMMON but not a named global")
            alignment = max(sym.value, 1)
            if alignment & (alignment - 1):
                raise elf.error(f"{label}: common alignment {sym.value} is not a power of two")
            if sym.size > MAX_SECTION_SIZE:
                raise elf.error(f"{label}: common symbol is too large ({sym.size:#x} bytes)")
            section = graph.add_section(COMMON_SECTION, MemProt.READ | MemProt.WRITE)
            block = graph.add_zero_fill_block(section, sym.size, alignment=alignment)
            symbols[sym.index] = graph.add_defined_symbol(
                block, 0, name, sym.size, linkage=Linkage.WEAK, scope=scope
            )
        else:
            block_or_none = blocks.get(sym.shndx)
            if block_or_none is None:
                if scope is Scope.LOCAL:
                    continue  # a local in a section we do not load (e.g. debug): unreachable
                raise elf.error(
                    f"{label} is defined in section {elf.sections[sym.shndx].name}, "
                    "which is not loaded (not SHF_ALLOC)"
                )
            block = block_or_none
            if sym.type == STT_SECTION:
                symbols[sym.index] = graph.add_defined_symbol(block, 0, None)
                continue
            if sym.value + sym.size > block.size or sym.value > block.size:
                raise elf.error(
                    f"{label} at {sym.value:#x} (size {sym.size:#x}) extends "
                    f"{sym.value + sym.size - block.size:#x} bytes past the end of section "
                    f"{block.section.name}"
                )
            symbols[sym.index] = graph.add_defined_symbol(
                block,
                sym.value,
                name,
                sym.size,
                linkage=linkage,
                scope=scope,
                callable=sym.type == STT_FUNC,
            )
    return symbols


def _build_edges(
    elf: ElfObject, graph: LinkGraph, blocks: dict[int, Block], symbols: list[Symbol | None]
) -> None:
    # The hottest loop of graph building (one turn per relocation): the record is split and
    # checked inline, and one dict lookup gives both the kind and the field width.
    got_symbol: Symbol | None = None
    null_symbol: Symbol | None = None
    kinds = _EDGE_KINDS
    count = len(elf.symbols)
    for rela in elf.relocation_sections():
        block = blocks.get(rela.info)
        if block is None:
            continue  # patches a section we do not load (debug info, .comment, ...)
        target_name = elf.sections[rela.info].name
        content_size = block.size if block.content is not None else 0
        append = block.edges.append
        for number, (offset, info, addend) in enumerate(elf.raw_relocations(rela)):
            sym_index = info >> 32
            if sym_index >= count:
                raise elf.symbol_index_error(rela, number, sym_index)
            rtype = info & 0xFFFFFFFF
            entry = kinds.get(rtype)
            if entry is None:
                if rtype == 0:  # R_X86_64_NONE
                    continue
                raise elf.error(
                    f"unsupported relocation type {relocation_name(rtype)} ({rtype}) at "
                    f"{target_name}+{offset:#x} against "
                    f"'{elf.symbols[sym_index].name or sym_index}'"
                )
            kind, width = entry
            if offset + width > content_size:
                raise elf.error(
                    f"{relocation_name(rtype)} at {target_name}+{offset:#x} is outside the "
                    f"{content_size:#x} content bytes of {target_name}"
                )
            target = symbols[sym_index]
            if rtype in _GOTPC_TYPES:
                if got_symbol is None:
                    got_symbol = graph.add_external_symbol(GOT_SYMBOL)
                target = got_symbol
            elif target is None:
                if sym_index != 0:
                    raise elf.error(
                        f"{relocation_name(rtype)} at {target_name}+{offset:#x} refers to symbol "
                        f"{sym_index} ({elf.symbols[sym_index].name or '<unnamed>'}), which is "
                        "not in the graph"
                    )
                if null_symbol is None:  # psABI: symbol 0 means S = 0
                    null_symbol = graph.add_absolute_symbol(None, 0)
                target = null_symbol
            append(Edge(kind, offset, target, addend, rtype))
