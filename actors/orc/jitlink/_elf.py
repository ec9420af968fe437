"""Reading x86-64 ELF relocatable objects: file checks, sections, symbols, relocations.

Everything is unpacked here with `struct` (``Struct.unpack_from``/``iter_unpack`` over a
`memoryview`), no ELF library. pyelftools read the ELF header and the section header table
until it was measured to be the largest cost of reading an object on the ``orcrt-jitlink``
path: importing it took ~27 ms (of ~110 ms for the whole session path's imports) and parsing
the header and the section table with it ~0.7 ms per read (twice per link: interface and
graph), next to ~0.05 ms for the same with `struct` (2,000-function object, 20,000
relocations; the whole core link is ~55 ms). Its per-entry containers had already been too
slow for the symbol and relocation tables (about 8 us a relocation, 30 us a symbol). The names
in error messages are pyelftools' (``EM_AARCH64``, ``ET_DYN``, ``SHT_REL``; see `_elf_names`),
so refusals read as before.

Layouts read with `struct` (little-endian, ELF64):

| record | layout |
|---|---|
| ``Elf64_Sym`` (24 bytes) | u32 st_name, u8 st_info (bind << 4 \\| type), u8 st_other (visibility in the low 2 bits), u16 st_shndx, u64 st_value, u64 st_size |
| ``Elf64_Rela`` (24 bytes) | u64 r_offset, u64 r_info (symbol << 32 \\| type), i64 r_addend |
| ``SHT_SYMTAB_SHNDX`` entry | u32 section index of the symbol with the same number |
| ``SHT_GROUP`` | u32 flags (1 = GRP_COMDAT), then u32 member section indices |

Every check raises `ObjectFormatError` naming the file: not ELF, truncated, not 64-bit,
big-endian, not x86-64, not ET_REL, SHT_REL present, no or several symbol tables, bad
``sh_link``/``sh_info``/``st_shndx``/symbol indices, entry sizes, misaligned table sizes,
and section contents past the end of the file. Nothing here interprets relocations.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final

from ._errors import ObjectFormatError

__all__ = [
    "SHF_ALLOC",
    "SHF_EXCLUDE",
    "SHF_EXECINSTR",
    "SHF_TLS",
    "SHF_WRITE",
    "SHN_ABS",
    "SHN_COMMON",
    "SHN_UNDEF",
    "STB_GLOBAL",
    "STB_GNU_UNIQUE",
    "STB_LOCAL",
    "STB_WEAK",
    "STT_FILE",
    "STT_FUNC",
    "STT_GNU_IFUNC",
    "STT_SECTION",
    "STV_HIDDEN",
    "STV_INTERNAL",
    "ElfObject",
    "ElfSection",
    "ElfSymbol",
    "read_elf",
]

SHF_WRITE: Final = 0x1
SHF_ALLOC: Final = 0x2
SHF_EXECINSTR: Final = 0x4
SHF_TLS: Final = 0x400
SHF_COMPRESSED: Final = 0x800
SHF_EXCLUDE: Final = 0x80000000

SHN_UNDEF: Final = 0
SHN_LORESERVE: Final = 0xFF00
SHN_ABS: Final = 0xFFF1
SHN_COMMON: Final = 0xFFF2
SHN_XINDEX: Final = 0xFFFF

STB_LOCAL: Final = 0
STB_GLOBAL: Final = 1
STB_WEAK: Final = 2
STB_GNU_UNIQUE: Final = 10

STT_FUNC: Final = 2
STT_SECTION: Final = 3
STT_FILE: Final = 4
STT_GNU_IFUNC: Final = 10

STV_INTERNAL: Final = 1
STV_HIDDEN: Final = 2

_SYM: Final = struct.Struct("<IBBHQQ")
_RELA: Final = struct.Struct("<QQq")
_U32: Final = struct.Struct("<I")
_ENTRY_SIZE: Final = 24  # both Elf64_Sym and Elf64_Rela
_EI_CLASS64: Final = 2
_EI_DATA_LSB: Final = 1
_EHDR_SIZE: Final = 64
_EM_X86_64: Final = 62
_ET_REL: Final = 1
# Elf64_Ehdr after e_ident: e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags,
# e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx.
_EHDR: Final = struct.Struct("<HHIQQQIHHHHHH")
# Elf64_Shdr: sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info,
# sh_addralign, sh_entsize.
_SHDR: Final = struct.Struct("<IIQQQQIIQQ")
_SHDR_SIZE: Final = 64

_SECTION_TYPES: Final = {
    0: "SHT_NULL",
    1: "SHT_PROGBITS",
    2: "SHT_SYMTAB",
    3: "SHT_STRTAB",
    4: "SHT_RELA",
    5: "SHT_HASH",
    6: "SHT_DYNAMIC",
    7: "SHT_NOTE",
    8: "SHT_NOBITS",
    9: "SHT_REL",
    10: "SHT_SHLIB",
    11: "SHT_DYNSYM",
    14: "SHT_INIT_ARRAY",
    15: "SHT_FINI_ARRAY",
    16: "SHT_PREINIT_ARRAY",
    17: "SHT_GROUP",
    18: "SHT_SYMTAB_SHNDX",
    19: "SHT_RELR",
    20: "SHT_NUM",
    0x60000000: "SHT_LOOS",
    0x6FFFFFF3: "SHT_SUNW_LDYNSYM",
    0x6FFFFFF5: "SHT_GNU_ATTRIBUTES",
    0x6FFFFFF6: "SHT_GNU_HASH",
    0x6FFFFFF7: "SHT_GNU_LIBLIST",
    0x6FFFFFFC: "SHT_SUNW_syminfo",
    0x6FFFFFFD: "SHT_GNU_verdef",
    0x6FFFFFFE: "SHT_GNU_verneed",
    0x6FFFFFFF: "SHT_GNU_versym",
    0x70000001: "SHT_AMD64_UNWIND",
    0x80000000: "SHT_LOUSER",
    0xFFFFFFFF: "SHT_HIUSER",
}
"""Section type names for x86-64 objects, as pyelftools' ``ENUM_SH_TYPE_AMD64`` spells them
(`ElfSection.type` keeps those strings; other values stay ints)."""


class ElfSection:
    """One section header, with the type as pyelftools names it (``"SHT_RELA"``, or an int for
    types without a name)."""

    __slots__ = (
        "addr",
        "addralign",
        "entsize",
        "flags",
        "index",
        "info",
        "link",
        "name",
        "offset",
        "size",
        "type",
    )

    def __init__(
        self,
        index: int,
        name: str,
        type: str | int,
        flags: int,
        addr: int,
        offset: int,
        size: int,
        link: int,
        info: int,
        addralign: int,
        entsize: int,
    ) -> None:
        """Made by `read_elf` only."""
        self.index = index
        self.name = name
        self.type = type
        self.flags = flags
        self.addr = addr
        self.offset = offset
        self.size = size
        self.link = link
        self.info = info
        self.addralign = addralign
        self.entsize = entsize

    @property
    def is_nobits(self) -> bool:
        """True for ``SHT_NOBITS`` (``.bss``, ``.tbss``): no bytes in the file."""
        return self.type == "SHT_NOBITS"

    def __repr__(self) -> str:
        return f"<ElfSection [{self.index}] {self.name} {self.type} size={self.size:#x}>"


class ElfSymbol:
    """One symbol table entry, decoded; ``shndx`` is already resolved through SHN_XINDEX."""

    __slots__ = ("bind", "index", "name", "shndx", "size", "type", "value", "visibility")

    def __init__(
        self,
        index: int,
        name: str,
        value: int,
        size: int,
        bind: int,
        type: int,
        visibility: int,
        shndx: int,
    ) -> None:
        """Made by `read_elf` only."""
        self.index = index
        self.name = name
        self.value = value
        self.size = size
        self.bind = bind
        self.type = type
        self.visibility = visibility
        self.shndx = shndx

    def __repr__(self) -> str:
        return f"<ElfSymbol [{self.index}] {self.name!r} shndx={self.shndx} value={self.value:#x}>"


class ElfObject:
    """A checked x86-64 ELF relocatable object: its sections, symbols and relocation tables."""

    def __init__(
        self,
        name: str,
        data: bytes,
        sections: list[ElfSection],
        symtab: ElfSection,
        symbols: list[ElfSymbol],
    ) -> None:
        """Made by `read_elf` only."""
        self.name = name
        self.data = data
        self.sections = sections
        self.symtab = symtab
        self.symbols = symbols

    def __repr__(self) -> str:
        return f"<ElfObject {self.name} sections={len(self.sections)} symbols={len(self.symbols)}>"

    def error(self, problem: str) -> ObjectFormatError:
        """An `ObjectFormatError` naming this file."""
        return ObjectFormatError(self.name, problem)

    def content(self, section: ElfSection) -> bytes:
        """The bytes of `section` (empty for SHT_NOBITS); bounds were checked by `read_elf`."""
        if section.is_nobits:
            return b""
        return self.data[section.offset : section.offset + section.size]

    def relocation_sections(self) -> Iterator[ElfSection]:
        """Every SHT_RELA section, in section-table order."""
        for section in self.sections:
            if section.type == "SHT_RELA":
                yield section

    def relocations(self, section: ElfSection) -> Iterator[tuple[int, int, int, int]]:
        """The records of RELA `section` as (r_offset, symbol index, type, r_addend).

        Raises:
            ObjectFormatError: a record names a symbol index past the symbol table.
        """
        count = len(self.symbols)
        for number, (offset, info, addend) in enumerate(self.raw_relocations(section)):
            symbol = info >> 32
            if symbol >= count:
                raise self.symbol_index_error(section, number, symbol)
            yield offset, symbol, info & 0xFFFFFFFF, addend

    def raw_relocations(self, section: ElfSection) -> Iterator[tuple[int, int, int]]:
        """The records of RELA `section` as unpacked: (r_offset, r_info, r_addend), unchecked.

        For the graph builder, which splits ``r_info`` and checks the symbol index itself
        (with `symbol_index_error`) in the loop that makes the edges.
        """
        return _RELA.iter_unpack(
            memoryview(self.data)[section.offset : section.offset + section.size]
        )

    def symbol_index_error(
        self, section: ElfSection, number: int, symbol: int
    ) -> ObjectFormatError:
        """The error for record `number` of `section` naming `symbol`, past the symbol table."""
        return self.error(
            f"relocation {number} in {section.name} refers to symbol index {symbol}; "
            f"the symbol table has {len(self.symbols)} entries"
        )

    def groups(self) -> Iterator[tuple[ElfSection, int, list[int]]]:
        """Each SHT_GROUP section as (section, flags, member section indices); indices and the
        signature symbol (``sh_info``) were checked by `read_elf`."""
        for section in self.sections:
            if section.type == "SHT_GROUP":
                words = [w for (w,) in _U32.iter_unpack(self.content(section))]
                yield section, words[0], words[1:]


def _check_identification(data: bytes, name: str) -> None:
    """The checks that make the other error messages possible: magic, class, byte order."""
    if len(data) < 4 or data[:4] != b"\x7fELF":
        raise ObjectFormatError(name, f"not an ELF file (starts with {data[:4]!r})")
    if len(data) < _EHDR_SIZE:
        raise ObjectFormatError(
            name, f"truncated: {len(data)} bytes, shorter than the 64-byte ELF header"
        )
    if data[4] != _EI_CLASS64:
        klass = {1: "ELFCLASS32 (32-bit)"}.get(data[4], f"EI_CLASS {data[4]}")
        raise ObjectFormatError(name, f"{klass} object; only 64-bit x86-64 ELF is supported")
    if data[5] != _EI_DATA_LSB:
        order = {2: "big-endian (ELFDATA2MSB)"}.get(data[5], f"EI_DATA {data[5]}")
        raise ObjectFormatError(name, f"{order} object; only little-endian x86-64 is supported")


def read_elf(data: bytes | bytearray | memoryview, name: str) -> ElfObject:
    """Check `data` as an x86-64 ELF relocatable object and read its tables.

    Args:
        data: the whole object file.
        name: the file's name, used in every error message.

    Returns:
        The checked object; section contents stay in (a copy of) `data`.

    Raises:
        ObjectFormatError: see the module docstring for the checks.
    """
    data = bytes(data)
    _check_identification(data, name)
    header = _EHDR.unpack_from(data, 16)
    e_type, machine, shoff, shentsize, shnum, shstrndx = (header[i] for i in (0, 1, 5, 10, 11, 12))
    if machine != _EM_X86_64:
        from ._elf_names import machine_name

        raise ObjectFormatError(
            name,
            f"machine {machine_name(machine)}; only EM_X86_64 (x86-64) objects are supported",
        )
    if e_type != _ET_REL:
        from ._elf_names import type_name

        raise ObjectFormatError(
            name,
            f"not a relocatable object ({type_name(e_type)}); only ET_REL objects can be "
            "JIT-linked",
        )
    if shoff == 0 or shoff > len(data):
        raise ObjectFormatError(name, f"truncated: no section header table (e_shoff {shoff:#x})")
    count = shnum
    if shnum == 0:  # SHN_LORESERVE or more sections: the count is section 0's sh_size
        count = _first_header(data, shoff, name)[5]
    table_end = shoff + count * shentsize
    if shentsize != _SHDR_SIZE:
        raise ObjectFormatError(name, f"section header size {shentsize}, not 64")
    if table_end > len(data):
        raise ObjectFormatError(
            name,
            f"truncated: the section header table ends at {table_end:#x}, "
            f"the file has {len(data):#x} bytes",
        )
    if shstrndx == SHN_XINDEX:  # the name table's index is section 0's sh_link
        shstrndx = _first_header(data, shoff, name)[6]
    sections = _read_sections(data, shoff, count, shstrndx, name)
    for section in sections:
        _check_section(section, sections, len(data), name)
    symtabs = [section for section in sections if section.type == "SHT_SYMTAB"]
    if len(symtabs) != 1:
        raise ObjectFormatError(
            name, f"{len(symtabs)} SHT_SYMTAB sections; a relocatable object has exactly one"
        )
    symtab = symtabs[0]
    symbols = _read_symbols(data, sections, symtab, name)
    for section in sections:
        if section.type == "SHT_RELA" and section.link != symtab.index:
            raise ObjectFormatError(
                name,
                f"relocation section {section.name} links to section {section.link}, "
                f"not the symbol table ({symtab.index})",
            )
        if section.type == "SHT_GROUP":
            _check_group(data, section, sections, symtab, len(symbols), name)
    return ElfObject(name, data, sections, symtab, symbols)


_SHDR_FIELD_SIZES: Final = (4, 4, 8, 8, 8, 8, 4, 4, 8, 8)


def _first_header(data: bytes, shoff: int, file: str) -> tuple[int, ...]:
    """Section header 0 (its sh_size and sh_link extend e_shnum and e_shstrndx). A header cut
    off by the end of the file is refused as pyelftools refused it, naming the first field
    that does not fit."""
    if shoff + _SHDR_SIZE > len(data):
        position = shoff
        for size in _SHDR_FIELD_SIZES:
            if position + size > len(data):
                raise ObjectFormatError(
                    file, f"malformed ELF: expected {size}, found {len(data) - position}"
                )
            position += size
    return _SHDR.unpack_from(data, shoff)


def _read_sections(
    data: bytes, shoff: int, count: int, names_index: int, file: str
) -> list[ElfSection]:
    """Unpack the section headers (the caller checked that the table is inside the file) and
    name them from the section name table."""
    view = memoryview(data)[shoff : shoff + count * _SHDR_SIZE]
    headers = list(_SHDR.iter_unpack(view))
    if not 0 < names_index < count:
        raise ObjectFormatError(file, f"section name table index {names_index} does not exist")
    table = headers[names_index]
    table_offset, table_size = table[4], table[5]
    if table_offset + table_size > len(data):
        raise ObjectFormatError(file, "truncated: the section name table runs past the file")
    names = data[table_offset : table_offset + table_size]
    type_names = _SECTION_TYPES
    sections = []
    for index, (start, kind, flags, addr, offset, size, link, info, align, entsize) in enumerate(
        headers
    ):
        end = names.find(b"\0", start)
        if start >= len(names) or end < 0:
            raise ObjectFormatError(
                file, f"section {index}: name offset {start} is outside the section name table"
            )
        sections.append(
            ElfSection(
                index,
                names[start:end].decode("utf-8", "surrogateescape"),
                type_names.get(kind, kind),
                flags,
                addr,
                offset,
                size,
                link,
                info,
                align,
                entsize,
            )
        )
    return sections


def _check_section(section: ElfSection, sections: list[ElfSection], size: int, file: str) -> None:
    where = f"section [{section.index}] {section.name or '<unnamed>'}"
    if section.type == "SHT_REL":
        raise ObjectFormatError(
            file, f"{where} is SHT_REL; x86-64 objects use SHT_RELA only (no SHT_REL support)"
        )
    if not section.is_nobits and section.type != "SHT_NULL":
        end = section.offset + section.size
        if end > size:
            raise ObjectFormatError(
                file,
                f"truncated: {where} occupies [{section.offset:#x}, {end:#x}), "
                f"the file has {size:#x} bytes",
            )
    align = section.addralign
    if align & (align - 1):
        raise ObjectFormatError(file, f"{where}: alignment {align} is not a power of two")
    if section.type in ("SHT_RELA", "SHT_SYMTAB") and (
        section.entsize != _ENTRY_SIZE or section.size % _ENTRY_SIZE
    ):
        raise ObjectFormatError(
            file,
            f"{where}: entry size {section.entsize} and size {section.size:#x} do not "
            f"describe a table of {_ENTRY_SIZE}-byte entries",
        )
    if section.type == "SHT_RELA" and not 0 < section.info < len(sections):
        raise ObjectFormatError(
            file, f"{where} applies to section index {section.info}, which does not exist"
        )
    if section.type in ("SHT_SYMTAB", "SHT_SYMTAB_SHNDX", "SHT_GROUP", "SHT_RELA") and not (
        0 < section.link < len(sections)
    ):
        raise ObjectFormatError(
            file, f"{where} links to section index {section.link}, which does not exist"
        )


def _read_symbols(
    data: bytes, sections: list[ElfSection], symtab: ElfSection, file: str
) -> list[ElfSymbol]:
    strtab = sections[symtab.link]
    if strtab.type != "SHT_STRTAB":
        raise ObjectFormatError(
            file, f"symbol table links to section {strtab.index} ({strtab.name}), not a STRTAB"
        )
    strings = data[strtab.offset : strtab.offset + strtab.size]
    extended: list[int] | None = None
    for section in sections:
        if section.type == "SHT_SYMTAB_SHNDX" and section.link == symtab.index:
            raw = data[section.offset : section.offset + section.size]
            extended = [index for (index,) in _U32.iter_unpack(raw[: len(raw) // 4 * 4])]
    count = len(sections)
    limit = min(count, SHN_LORESERVE)  # below it, an index needs no further check
    find = strings.find
    symbols: list[ElfSymbol] = []
    append = symbols.append
    view = memoryview(data)[symtab.offset : symtab.offset + symtab.size]
    for index, (st_name, info, other, shndx, value, size) in enumerate(_SYM.iter_unpack(view)):
        end = find(b"\0", st_name)
        if end < 0:  # also every offset at or past the end of the table
            if st_name >= len(strings) and st_name:
                raise ObjectFormatError(
                    file, f"symbol {index}: name offset {st_name:#x} is past the string table"
                )
            raise ObjectFormatError(file, f"symbol {index}: name is not NUL-terminated")
        name = strings[st_name:end].decode("utf-8", "surrogateescape")
        if shndx >= limit:
            shndx = _special_index(shndx, index, name, extended, count, file)
        append(ElfSymbol(index, name, value, size, info >> 4, info & 0xF, other & 0x3, shndx))
    return symbols


def _special_index(
    shndx: int, index: int, name: str, extended: list[int] | None, count: int, file: str
) -> int:
    """The section index of symbol `index` whose ``st_shndx`` is reserved or past the table:
    resolved through SHT_SYMTAB_SHNDX, kept (SHN_ABS, SHN_COMMON), or refused."""
    if shndx == SHN_XINDEX:
        if extended is None or index >= len(extended):
            raise ObjectFormatError(
                file, f"symbol {index} ({name}): SHN_XINDEX without an SHT_SYMTAB_SHNDX entry"
            )
        shndx = extended[index]
    elif shndx >= SHN_LORESERVE and shndx not in (SHN_ABS, SHN_COMMON):
        raise ObjectFormatError(
            file, f"symbol {index} ({name}): unsupported special section index {shndx:#x}"
        )
    if shndx < SHN_LORESERVE and shndx >= count and shndx != SHN_UNDEF:
        raise ObjectFormatError(
            file,
            f"symbol {index} ({name}): section index {shndx} is past the {count} sections",
        )
    return shndx


def _check_group(
    data: bytes,
    section: ElfSection,
    sections: list[ElfSection],
    symtab: ElfSection,
    symbol_count: int,
    file: str,
) -> None:
    where = f"group section [{section.index}] {section.name}"
    if section.size < 4 or section.size % 4:
        raise ObjectFormatError(file, f"{where}: size {section.size} is not a list of u32 words")
    if section.link != symtab.index or not 0 < section.info < symbol_count:
        raise ObjectFormatError(
            file, f"{where}: signature symbol {section.info} is not in the symbol table"
        )
    raw = data[section.offset + 4 : section.offset + section.size]
    for (member,) in _U32.iter_unpack(raw):
        if not 0 < member < len(sections):
            raise ObjectFormatError(file, f"{where}: member section index {member} does not exist")
