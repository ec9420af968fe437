"""The JIT linker's pure core for x86-64 ELF: ``actors.orc.jitlink``.

Bytes in, bytes out: read a relocatable ELF object into a link graph (sections, blocks,
symbols, edges), run passes over it (dead stripping, GOT and PLT building, relaxation,
eh-frame splitting), lay it out at given addresses and apply fixups. Nothing here does I/O,
awaits, or touches process memory (``tests/test_layering.py`` enforces it); the asynchronous
driver that allocates memory in an executor and resolves external symbols lives in
``actors.orc``.

Theory of operation
-------------------
- `read_object` checks the file (`ObjectFormatError` names the file and the problem) and builds
  a `LinkGraph`: one block per loaded ELF section, symbols from the symbol table, one `Edge`
  per relocation (`EdgeKind`, psABI formulas, the ELF addend kept).
- A `GraphLinker` takes the graph through JITLink's phases, each a separate call so an async
  driver can stop between them: pre-prune passes, prune, post-prune passes,
  `GraphLinker.allocation_request` (the size of one reservation), `assign_addresses(base)`,
  post-allocation passes, `defined_symbols`/`external_symbols`, `bind_externals(addresses)`,
  pre-fixup passes, `apply_fixups`, post-fixup passes, `result()` (segments with content and
  zero-fill, the eh-frame range, initializer tables, section ranges). The pass lists
  (`PassConfiguration`, from `default_passes`) are where ObjectLinkingLayer plugins hook in.
- `link` does all of it for a caller-chosen base and resolver, with no executor: what
  ``llvm-jitlink -noexec -slab-address=...`` needs.
- `object_interface` gives the symbols (with ORC's flag bits, `SymbolFlags`) and the init
  symbol an object contributes to a JITDylib, without building the graph.
- `dependence_groups` gives, per block of definitions, the names its code and data reach (what
  ORC records so that lookups become Ready only when their dependencies are).
- `dump_graph` prints a graph the way ``llvm-jitlink -show-graph`` does.
- `Checker` evaluates llvm-jitlink's ``-check`` rules (``# jitlink-check: ...`` lines, read by
  `read_check_rules`) against what `LinkedAddresses` recorded from the linked graphs (its
  post-fixup pass) and the linked memory; ``decode_operand`` uses `CapstoneDecoder`.
- `read_archive` splits a static archive (``.a``) into members and indexes which member
  defines which symbol (for ``StaticLibraryDefinitionGenerator``).

Deliberate differences from JITLink (jitlink-elf-x86-64.md §11): psABI formulas with the real
addend; NONE, 8/16/32-bit absolute and PC-relative kinds, SIZE32/64 supported; call/jmp
GOTPCRELX relaxed PC-relatively; exact-value range checks; SHN_ABS globals accepted;
relocations of non-loaded (debug) sections skipped; TLSGD refused without a TLS runtime;
``__start_``/``__stop_`` bound and their section kept.
"""

from __future__ import annotations

from ._archive import ARCHIVE_MAGIC, Archive, ArchiveMember, is_archive, read_archive
from ._builder import COMMON_SECTION, GOT_SYMBOL, MAX_SECTION_SIZE, read_object
from ._checker import (
    DEFAULT_CHECK_NAME,
    AddressLookup,
    Checker,
    CheckExpressionError,
    CheckFileReport,
    CheckResult,
    CheckRule,
    InstructionDecoder,
    MemoryReader,
    MemoryRegion,
    read_check_rules,
)
from ._checker_decode import CapstoneDecoder, DecodedInstruction, DecoderUnavailableError, Operand
from ._checker_info import CheckRegistrationError, LinkedAddresses, LinkedFile
from ._dependencies import DependenceGroup, dependence_groups
from ._dump import dump_graph
from ._ehframe import EH_FRAME_SECTION, split_eh_frame
from ._errors import (
    FixupOverflowError,
    JITLinkError,
    LayoutError,
    ObjectFormatError,
    UnresolvedSymbolsError,
)
from ._fixup import apply_fixups, fixup_value
from ._graph import (
    Block,
    Edge,
    Lifetime,
    Linkage,
    LinkGraph,
    MemProt,
    Scope,
    Section,
    Symbol,
    SymbolKind,
)
from ._initializers import InitSection, is_initializer_section, keep_initializers_alive
from ._interface import ObjectInterface, SymbolFlags, object_interface
from ._layout import MAX_ALLOCATION_SIZE, AllocationRequest, Segment, SegmentRequest
from ._linker import (
    DEFAULT_PAGE_SIZE,
    DefinedSymbol,
    GraphLinker,
    LinkPhase,
    LinkResult,
    Pass,
    PassConfiguration,
    default_passes,
    link,
)
from ._prune import mark_live, prune
from ._section_bounds import define_section_bounds, keep_bounded_sections_alive
from ._tables import (
    GOT_SECTION,
    STUBS_SECTION,
    TLSINFO_SECTION,
    build_tables,
    optimize_got_and_stubs,
)
from ._x86_64 import EdgeKind, relocation_name

__all__ = [
    "ARCHIVE_MAGIC",
    "COMMON_SECTION",
    "DEFAULT_CHECK_NAME",
    "DEFAULT_PAGE_SIZE",
    "EH_FRAME_SECTION",
    "GOT_SECTION",
    "GOT_SYMBOL",
    "MAX_ALLOCATION_SIZE",
    "MAX_SECTION_SIZE",
    "STUBS_SECTION",
    "TLSINFO_SECTION",
    "AddressLookup",
    "AllocationRequest",
    "Archive",
    "ArchiveMember",
    "Block",
    "CapstoneDecoder",
    "CheckExpressionError",
    "CheckFileReport",
    "CheckRegistrationError",
    "CheckResult",
    "CheckRule",
    "Checker",
    "DecodedInstruction",
    "DecoderUnavailableError",
    "DefinedSymbol",
    "DependenceGroup",
    "Edge",
    "EdgeKind",
    "FixupOverflowError",
    "GraphLinker",
    "InitSection",
    "InstructionDecoder",
    "JITLinkError",
    "LayoutError",
    "Lifetime",
    "LinkGraph",
    "LinkPhase",
    "LinkResult",
    "Linkage",
    "LinkedAddresses",
    "LinkedFile",
    "MemProt",
    "MemoryReader",
    "MemoryRegion",
    "ObjectFormatError",
    "ObjectInterface",
    "Operand",
    "Pass",
    "PassConfiguration",
    "Scope",
    "Section",
    "Segment",
    "SegmentRequest",
    "Symbol",
    "SymbolFlags",
    "SymbolKind",
    "UnresolvedSymbolsError",
    "apply_fixups",
    "build_tables",
    "default_passes",
    "define_section_bounds",
    "dependence_groups",
    "dump_graph",
    "fixup_value",
    "is_archive",
    "is_initializer_section",
    "keep_bounded_sections_alive",
    "keep_initializers_alive",
    "link",
    "mark_live",
    "object_interface",
    "optimize_got_and_stubs",
    "prune",
    "read_archive",
    "read_check_rules",
    "read_object",
    "relocation_name",
    "split_eh_frame",
]
