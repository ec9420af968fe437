"""Reading x86-64 ELF relocatable objects: file checks, sections, symbols, relocations.

Split of work (measured, see ``tests/benchmarks/bench_jitlink_core.py``): pyelftools reads the
ELF header and the section header table with their names (the cold part: tens of sections,
read once); the symbol table, ``SHT_SYMTAB_SHNDX`` and the ``SHT_RELA`` records are unpacked
here with `struct`, because pyelftools builds a construct container per entry (about 8 us a
relocation, 30 us a symbol) and that alone took longer than the whole rest of a link.

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

import io
import struct
from collections.abc import Iterator
from typing import Final

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

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


class ElfSection:
    """One section header, with the type as pyelftools names it (``"SHT_RELA"``, or an int for
    types it does not know)."""

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
        view = memoryview(self.data)[section.offset : section.offset + section.size]
        for number, (offset, info, addend) in enumerate(_RELA.iter_unpack(view)):
            symbol = info >> 32
            if symbol >= count:
                raise self.error(
                    f"relocation {number} in {section.name} refers to symbol index {symbol}; "
                    f"the symbol table has {count} entries"
                )
            yield offset, symbol, info & 0xFFFFFFFF, addend

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
    try:
        elf = ELFFile(io.BytesIO(data))
        header = elf.header
        machine, kind = header["e_machine"], header["e_type"]
        if machine != "EM_X86_64":
            raise ObjectFormatError(
                name, f"machine {machine}; only EM_X86_64 (x86-64) objects are supported"
            )
        if kind != "ET_REL":
            raise ObjectFormatError(
                name, f"not a relocatable object ({kind}); only ET_REL objects can be JIT-linked"
            )
        if header["e_shoff"] == 0 or header["e_shoff"] > len(data):
            raise ObjectFormatError(
                name, f"truncated: no section header table (e_shoff {header['e_shoff']:#x})"
            )
        count = elf.num_sections()
        table_end = header["e_shoff"] + count * header["e_shentsize"]
        if header["e_shentsize"] != 64:
            raise ObjectFormatError(name, f"section header size {header['e_shentsize']}, not 64")
        if table_end > len(data):
            raise ObjectFormatError(
                name,
                f"truncated: the section header table ends at {table_end:#x}, "
                f"the file has {len(data):#x} bytes",
            )
        sections = _read_sections(elf, data, count, name)
    except ELFError as exc:
        raise ObjectFormatError(name, f"malformed ELF: {exc}") from exc
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


def _read_sections(elf: ELFFile, data: bytes, count: int, file: str) -> list[ElfSection]:
    """Parse the section headers with pyelftools' ``Elf_Shdr`` and name them from the section
    name table. (``ELFFile.get_section`` would also build typed section objects, which read
    linked sections eagerly and fail with less precise messages on broken links.)"""
    shoff = elf.header["e_shoff"]
    parse = elf.structs.Elf_Shdr.parse
    headers = [parse(data[shoff + 64 * i : shoff + 64 * (i + 1)]) for i in range(count)]
    names_index = elf.get_shstrndx()
    if not 0 < names_index < count:
        raise ObjectFormatError(file, f"section name table index {names_index} does not exist")
    table = headers[names_index]
    if table["sh_offset"] + table["sh_size"] > len(data):
        raise ObjectFormatError(file, "truncated: the section name table runs past the file")
    names = data[table["sh_offset"] : table["sh_offset"] + table["sh_size"]]
    sections = []
    for index, h in enumerate(headers):
        start = h["sh_name"]
        end = names.find(b"\0", start)
        if start >= len(names) or end < 0:
            raise ObjectFormatError(
                file, f"section {index}: name offset {start} is outside the section name table"
            )
        sections.append(
            ElfSection(
                index,
                names[start:end].decode("utf-8", "surrogateescape"),
                h["sh_type"],
                h["sh_flags"],
                h["sh_addr"],
                h["sh_offset"],
                h["sh_size"],
                h["sh_link"],
                h["sh_info"],
                h["sh_addralign"],
                h["sh_entsize"],
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
    symbols: list[ElfSymbol] = []
    view = memoryview(data)[symtab.offset : symtab.offset + symtab.size]
    for index, (st_name, info, other, shndx, value, size) in enumerate(_SYM.iter_unpack(view)):
        if st_name >= len(strings) and st_name:
            raise ObjectFormatError(
                file, f"symbol {index}: name offset {st_name:#x} is past the string table"
            )
        end = strings.find(b"\0", st_name)
        if end < 0:
            raise ObjectFormatError(file, f"symbol {index}: name is not NUL-terminated")
        name = strings[st_name:end].decode("utf-8", "surrogateescape")
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
        symbols.append(
            ElfSymbol(index, name, value, size, info >> 4, info & 0xF, other & 0x3, shndx)
        )
    return symbols


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
