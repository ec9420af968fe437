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
  symbol an object contributes to a JITDylib, without building the graph. A driver that wants
  both reads the file once: `read_elf` (an `ElfObject`), then `elf_interface` and
  `build_graph` of it (`read_object` is `read_elf` + `build_graph`).
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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._archive import ARCHIVE_MAGIC as ARCHIVE_MAGIC
    from ._archive import Archive as Archive
    from ._archive import ArchiveMember as ArchiveMember
    from ._archive import is_archive as is_archive
    from ._archive import read_archive as read_archive
    from ._builder import COMMON_SECTION as COMMON_SECTION
    from ._builder import GOT_SYMBOL as GOT_SYMBOL
    from ._builder import MAX_SECTION_SIZE as MAX_SECTION_SIZE
    from ._builder import build_graph as build_graph
    from ._builder import read_object as read_object
    from ._checker import DEFAULT_CHECK_NAME as DEFAULT_CHECK_NAME
    from ._checker import AddressLookup as AddressLookup
    from ._checker import Checker as Checker
    from ._checker import CheckExpressionError as CheckExpressionError
    from ._checker import CheckFileReport as CheckFileReport
    from ._checker import CheckResult as CheckResult
    from ._checker import CheckRule as CheckRule
    from ._checker import InstructionDecoder as InstructionDecoder
    from ._checker import MemoryReader as MemoryReader
    from ._checker import MemoryRegion as MemoryRegion
    from ._checker import read_check_rules as read_check_rules
    from ._checker_decode import CapstoneDecoder as CapstoneDecoder
    from ._checker_decode import DecodedInstruction as DecodedInstruction
    from ._checker_decode import DecoderUnavailableError as DecoderUnavailableError
    from ._checker_decode import Operand as Operand
    from ._checker_info import CheckRegistrationError as CheckRegistrationError
    from ._checker_info import LinkedAddresses as LinkedAddresses
    from ._checker_info import LinkedFile as LinkedFile
    from ._dependencies import DependenceGroup as DependenceGroup
    from ._dependencies import dependence_groups as dependence_groups
    from ._dump import dump_graph as dump_graph
    from ._ehframe import EH_FRAME_SECTION as EH_FRAME_SECTION
    from ._ehframe import split_eh_frame as split_eh_frame
    from ._elf import ElfObject as ElfObject
    from ._elf import read_elf as read_elf
    from ._errors import FixupOverflowError as FixupOverflowError
    from ._errors import JITLinkError as JITLinkError
    from ._errors import LayoutError as LayoutError
    from ._errors import ObjectFormatError as ObjectFormatError
    from ._errors import UnresolvedSymbolsError as UnresolvedSymbolsError
    from ._fixup import apply_fixups as apply_fixups
    from ._fixup import fixup_value as fixup_value
    from ._graph import Block as Block
    from ._graph import Edge as Edge
    from ._graph import Lifetime as Lifetime
    from ._graph import Linkage as Linkage
    from ._graph import LinkGraph as LinkGraph
    from ._graph import MemProt as MemProt
    from ._graph import Scope as Scope
    from ._graph import Section as Section
    from ._graph import Symbol as Symbol
    from ._graph import SymbolKind as SymbolKind
    from ._initializers import InitSection as InitSection
    from ._initializers import is_initializer_section as is_initializer_section
    from ._initializers import keep_initializers_alive as keep_initializers_alive
    from ._interface import ObjectInterface as ObjectInterface
    from ._interface import SymbolFlags as SymbolFlags
    from ._interface import elf_interface as elf_interface
    from ._interface import object_interface as object_interface
    from ._layout import MAX_ALLOCATION_SIZE as MAX_ALLOCATION_SIZE
    from ._layout import AllocationRequest as AllocationRequest
    from ._layout import Segment as Segment
    from ._layout import SegmentRequest as SegmentRequest
    from ._linker import DEFAULT_PAGE_SIZE as DEFAULT_PAGE_SIZE
    from ._linker import DefinedSymbol as DefinedSymbol
    from ._linker import GraphLinker as GraphLinker
    from ._linker import LinkPhase as LinkPhase
    from ._linker import LinkResult as LinkResult
    from ._linker import Pass as Pass
    from ._linker import PassConfiguration as PassConfiguration
    from ._linker import default_passes as default_passes
    from ._linker import link as link
    from ._prune import mark_live as mark_live
    from ._prune import prune as prune
    from ._section_bounds import define_section_bounds as define_section_bounds
    from ._section_bounds import keep_bounded_sections_alive as keep_bounded_sections_alive
    from ._tables import GOT_SECTION as GOT_SECTION
    from ._tables import STUBS_SECTION as STUBS_SECTION
    from ._tables import TLSINFO_SECTION as TLSINFO_SECTION
    from ._tables import build_tables as build_tables
    from ._tables import optimize_got_and_stubs as optimize_got_and_stubs
    from ._x86_64 import EdgeKind as EdgeKind
    from ._x86_64 import relocation_name as relocation_name

# Public name -> the private module that defines it. Names load on first use: a link needs the
# reader, the graph, the passes and the linker, not the checker, the archive reader or the
# dumper (a tenth of this package's import time on ``orcrt-jitlink``'s start-up path).
_EXPORTS: dict[str, str] = {
    "ARCHIVE_MAGIC": "_archive",
    "AddressLookup": "_checker",
    "AllocationRequest": "_layout",
    "Archive": "_archive",
    "ArchiveMember": "_archive",
    "Block": "_graph",
    "COMMON_SECTION": "_builder",
    "CapstoneDecoder": "_checker_decode",
    "CheckExpressionError": "_checker",
    "CheckFileReport": "_checker",
    "CheckRegistrationError": "_checker_info",
    "CheckResult": "_checker",
    "CheckRule": "_checker",
    "Checker": "_checker",
    "DEFAULT_CHECK_NAME": "_checker",
    "DEFAULT_PAGE_SIZE": "_linker",
    "DecodedInstruction": "_checker_decode",
    "DecoderUnavailableError": "_checker_decode",
    "DefinedSymbol": "_linker",
    "DependenceGroup": "_dependencies",
    "EH_FRAME_SECTION": "_ehframe",
    "Edge": "_graph",
    "EdgeKind": "_x86_64",
    "ElfObject": "_elf",
    "FixupOverflowError": "_errors",
    "GOT_SECTION": "_tables",
    "GOT_SYMBOL": "_builder",
    "GraphLinker": "_linker",
    "InitSection": "_initializers",
    "InstructionDecoder": "_checker",
    "JITLinkError": "_errors",
    "LayoutError": "_errors",
    "Lifetime": "_graph",
    "LinkGraph": "_graph",
    "LinkPhase": "_linker",
    "LinkResult": "_linker",
    "Linkage": "_graph",
    "LinkedAddresses": "_checker_info",
    "LinkedFile": "_checker_info",
    "MAX_ALLOCATION_SIZE": "_layout",
    "MAX_SECTION_SIZE": "_builder",
    "MemProt": "_graph",
    "MemoryReader": "_checker",
    "MemoryRegion": "_checker",
    "ObjectFormatError": "_errors",
    "ObjectInterface": "_interface",
    "Operand": "_checker_decode",
    "Pass": "_linker",
    "PassConfiguration": "_linker",
    "STUBS_SECTION": "_tables",
    "Scope": "_graph",
    "Section": "_graph",
    "Segment": "_layout",
    "SegmentRequest": "_layout",
    "Symbol": "_graph",
    "SymbolFlags": "_interface",
    "SymbolKind": "_graph",
    "TLSINFO_SECTION": "_tables",
    "UnresolvedSymbolsError": "_errors",
    "apply_fixups": "_fixup",
    "build_graph": "_builder",
    "build_tables": "_tables",
    "default_passes": "_linker",
    "define_section_bounds": "_section_bounds",
    "dependence_groups": "_dependencies",
    "dump_graph": "_dump",
    "elf_interface": "_interface",
    "fixup_value": "_fixup",
    "is_archive": "_archive",
    "is_initializer_section": "_initializers",
    "keep_bounded_sections_alive": "_section_bounds",
    "keep_initializers_alive": "_initializers",
    "link": "_linker",
    "mark_live": "_prune",
    "object_interface": "_interface",
    "optimize_got_and_stubs": "_tables",
    "prune": "_prune",
    "read_archive": "_archive",
    "read_check_rules": "_checker",
    "read_elf": "_elf",
    "read_object": "_builder",
    "relocation_name": "_x86_64",
    "split_eh_frame": "_ehframe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
