"""What an object contributes to a JITDylib: its symbols with ORC flags, and its init symbol.

`object_interface` is ORC's ``getObjectFileInterface`` for ELF (orcv2-reference.md §1.2, §3.1;
jitlink-elf-x86-64.md §5.1): every defined symbol that is not local, not STT_FILE and not
STT_SECTION, with

| flag | when |
|---|---|
| WEAK (0x02) | STB_WEAK or STB_GNU_UNIQUE |
| COMMON (0x04) | SHN_COMMON (LLVM's ``fromObjectSymbol``; the graph later reports it WEAK) |
| EXPORTED (0x10) | visibility default or protected (not hidden/internal) |
| CALLABLE (0x20) | STT_FUNC |

plus, if the object has an initializer section, the init symbol ``$.<name>.__inits.<n>``
(n = 0, or the first number not colliding with the object's own names) with flag
MATERIALIZATION_SIDE_EFFECTS_ONLY (0x40).

`SymbolFlags` is ``actors.orc``'s `JITSymbolFlags` (LLVM's ``JITSymbolFlags`` bits, identical
in 14 and 22) under the linker core's name: the flags computed here go to the
MaterializationResponsibility as they are. Importing it costs the linker core nothing it
must not import (``actors.orc._flags`` needs attrs and ``_names``, no asyncio).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from actors.orc._flags import JITSymbolFlags

from ._elf import (
    SHF_ALLOC,
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
from ._graph import Linkage, Scope, Symbol
from ._initializers import is_initializer_section

__all__ = [
    "ObjectInterface",
    "SymbolFlags",
    "elf_interface",
    "graph_symbol_flags",
    "object_interface",
]


SymbolFlags = JITSymbolFlags
"""The ORC core's `JITSymbolFlags` (the linker core's name for it; one class, not a copy)."""


@attrs.frozen(kw_only=True)
class ObjectInterface:
    """The interface of one object: symbol name -> flags, and the init symbol if any.

    ``symbols`` includes ``init_symbol`` (with MATERIALIZATION_SIDE_EFFECTS_ONLY) when it is
    not None, as LLVM's interface does.
    """

    symbols: Mapping[str, SymbolFlags]
    init_symbol: str | None


def object_interface(data: bytes | bytearray | memoryview, name: str) -> ObjectInterface:
    """The symbols an ELF object defines for a JITDylib, without building its graph.

    Called by the ObjectLinkingLayer when an object is added (before any link); pure, any
    thread. It reads the section headers and the symbol table only.

    Args:
        data: the object file's bytes.
        name: the file's name (errors and the init symbol's name use it).

    Raises:
        ObjectFormatError: the file fails `read_object`'s file-level checks, or a global symbol
            is STT_GNU_IFUNC or lives in a section that would not be loaded.
    """
    return elf_interface(read_elf(data, name))


def elf_interface(elf: ElfObject) -> ObjectInterface:
    """`object_interface` of an object `read_elf` already read (the layer keeps it, so the
    link does not read the file a second time).

    Raises:
        ObjectFormatError: as `object_interface`, past the file-level checks.
    """
    name = elf.name
    sections = elf.sections
    table = _INTERFACE_FLAGS
    symbols: dict[str, SymbolFlags] = {}
    for sym in elf.symbols[1:]:
        if sym.bind == STB_LOCAL or sym.shndx == SHN_UNDEF or not sym.name:
            continue
        if sym.type in (STT_FILE, STT_SECTION):
            continue
        if sym.type == STT_GNU_IFUNC:
            raise elf.error(
                f"symbol {sym.index} ({sym.name}) is STT_GNU_IFUNC; indirect functions are not supported"
            )
        if sym.bind not in (STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE):
            raise elf.error(f"symbol {sym.index} ({sym.name}) has unsupported binding {sym.bind}")
        if sym.shndx not in (SHN_ABS, SHN_COMMON) and not sections[sym.shndx].flags & SHF_ALLOC:
            raise elf.error(
                f"symbol {sym.index} ({sym.name}) is defined in section "
                f"{sections[sym.shndx].name}, which is not loaded (not SHF_ALLOC)"
            )
        symbols[sym.name] = table[
            (sym.bind != STB_GLOBAL)
            | (sym.shndx == SHN_COMMON) << 1
            | (sym.visibility not in (STV_HIDDEN, STV_INTERNAL)) << 2
            | (sym.type == STT_FUNC) << 3
        ]
    init_symbol = None
    if any(
        section.flags & SHF_ALLOC and is_initializer_section(section.name) for section in sections
    ):
        counter = 0
        while (candidate := f"$.{name}.__inits.{counter}") in symbols:
            counter += 1
        init_symbol = candidate
        symbols[init_symbol] = SymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY
    return ObjectInterface(symbols=symbols, init_symbol=init_symbol)


def _interface_flags(bits: int) -> SymbolFlags:
    flags = SymbolFlags.NONE
    if bits & 1:  # STB_WEAK or STB_GNU_UNIQUE
        flags |= SymbolFlags.WEAK
    if bits & 2:  # SHN_COMMON
        flags |= SymbolFlags.COMMON
    if bits & 4:  # default or protected visibility
        flags |= SymbolFlags.EXPORTED
    if bits & 8:  # STT_FUNC
        flags |= SymbolFlags.CALLABLE
    return flags


# Precomputed, indexed by the four conditions as bits: combining enum flags per symbol cost
# more than the rest of the interface.
_INTERFACE_FLAGS: Final = [_interface_flags(bits) for bits in range(16)]


def graph_symbol_flags(symbol: Symbol) -> SymbolFlags:
    """The flags ORC records when a linked graph resolves `symbol` (LLVM's
    ``getJITSymbolFlagsForSymbol``): WEAK for weak linkage, EXPORTED for default scope,
    MATERIALIZATION_SIDE_EFFECTS_ONLY for init symbols, CALLABLE for functions."""
    return _GRAPH_FLAGS[(symbol.linkage, symbol.scope, symbol.callable)]


def _graph_flags(linkage: Linkage, scope: Scope, callable: bool) -> SymbolFlags:
    flags = SymbolFlags.NONE
    if linkage is Linkage.WEAK:
        flags |= SymbolFlags.WEAK
    if scope is Scope.DEFAULT:
        flags |= SymbolFlags.EXPORTED
    elif scope is Scope.SIDE_EFFECTS_ONLY:
        flags |= SymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY
    if callable:
        flags |= SymbolFlags.CALLABLE
    return flags


# Precomputed: enum arithmetic per symbol was a tenth of a large link's time.
_GRAPH_FLAGS: Final = {
    (linkage, scope, callable): _graph_flags(linkage, scope, callable)
    for linkage in Linkage
    for scope in Scope
    for callable in (False, True)
}
