"""Static archives (``.a``): the members, and which member defines which symbol.

The System V / GNU ``ar`` format, as ``ar``, ``llvm-ar`` and every Linux toolchain write it:

| part | layout |
|---|---|
| magic | ``!<arch>\\n`` (8 bytes; ``!<thin>\\n``, a thin archive, is refused: its members live elsewhere) |
| member header (60 bytes) | name[16], mtime[12], uid[6], gid[6], mode[8], size[10] (decimal ASCII), ``\\x60\\n`` |
| member data | ``size`` bytes, then one ``\\n`` of padding if ``size`` is odd |
| ``/`` member | the symbol index: u32 count (big-endian), count x u32 member-header offsets, count NUL-terminated names (``/SYM64/``: the same with u64) |
| ``//`` member | the long-name table: names ending in ``/\\n``, referenced as ``/<offset>`` |
| other names | ``name/`` (GNU; the ``/`` ends the name) or ``name`` padded with spaces |

An archive without a symbol index gets one from its members' symbol tables
(`object_interface`), so every member that defines something can be found by name.
Everything here is pure; errors are `ObjectFormatError` naming the archive.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Final

import attrs

from ._errors import ObjectFormatError
from ._interface import object_interface

__all__ = ["ARCHIVE_MAGIC", "Archive", "ArchiveMember", "is_archive", "read_archive"]

ARCHIVE_MAGIC: Final = b"!<arch>\n"
_THIN_MAGIC: Final = b"!<thin>\n"
_HEADER: Final = 60
_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")


@attrs.frozen
class ArchiveMember:
    """One member: its name in the archive, its offset (of its header), and its bytes."""

    name: str
    offset: int
    data: bytes


@attrs.frozen
class Archive:
    """An archive's members and its symbol index (symbol name -> member offset)."""

    name: str
    members: tuple[ArchiveMember, ...]
    symbols: Mapping[str, int]

    def member_at(self, offset: int) -> ArchiveMember:
        """The member whose header is at ``offset``.

        Raises:
            ObjectFormatError: no member starts there (a corrupt symbol index).
        """
        for member in self.members:
            if member.offset == offset:
                return member
        raise ObjectFormatError(self.name, f"the symbol index points at {offset:#x}, no member")

    def object_name(self, member: ArchiveMember) -> str:
        """``archive(member)``: the name errors and dumps use for a member's object."""
        return f"{self.name}({member.name})"


def is_archive(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` starts with the ``ar`` magic."""
    return bytes(data[:8]) in (ARCHIVE_MAGIC, _THIN_MAGIC)


def read_archive(data: bytes, name: str) -> Archive:
    """Parse the archive ``data`` (called ``name``); see the module docstring.

    Raises:
        ObjectFormatError: not an archive, a thin archive, a truncated or malformed member
            header, a bad long-name reference or symbol index, or a member that is not a
            relocatable object we can read (when the index has to be built).
    """
    if data[:8] == _THIN_MAGIC:
        raise ObjectFormatError(
            name, "thin archives are not supported (members live in other files)"
        )
    if data[:8] != ARCHIVE_MAGIC:
        raise ObjectFormatError(name, "not an archive (no !<arch> magic)")
    position = len(ARCHIVE_MAGIC)
    long_names = b""
    index: dict[str, int] = {}
    has_index = False
    members: list[ArchiveMember] = []
    while position < len(data):
        if position + _HEADER > len(data):
            raise ObjectFormatError(name, f"truncated: member header at {position:#x}")
        header = data[position : position + _HEADER]
        if header[58:60] != b"`\n":
            raise ObjectFormatError(name, f"bad member header at {position:#x}")
        raw_name = header[:16].decode("ascii", "replace").rstrip(" ")
        size_text = header[48:58].decode("ascii", "replace").strip()
        if not size_text.isdigit():
            raise ObjectFormatError(name, f"member at {position:#x}: bad size {size_text!r}")
        size = int(size_text)
        start = position + _HEADER
        if start + size > len(data):
            raise ObjectFormatError(name, f"truncated: member at {position:#x} needs {size} bytes")
        body = data[start : start + size]
        if raw_name in ("/", "/SYM64/"):
            index = _read_index(body, name, _U64 if raw_name == "/SYM64/" else _U32)
            has_index = True
        elif raw_name == "//":
            long_names = body
        else:
            member_name = _member_name(raw_name, long_names, name, position)
            members.append(ArchiveMember(member_name, position, bytes(body)))
        position = start + size + (size & 1)
    archive_members = tuple(members)
    if not has_index:
        index = {}
        for member in archive_members:
            object_name = f"{name}({member.name})"
            for symbol in object_interface(member.data, object_name).symbols:
                index.setdefault(symbol, member.offset)
    return Archive(name, archive_members, index)


def _read_index(body: bytes, name: str, width: struct.Struct) -> dict[str, int]:
    if len(body) < width.size:
        raise ObjectFormatError(name, "truncated symbol index")
    (count,) = width.unpack_from(body, 0)
    names_start = width.size * (count + 1)
    if names_start > len(body):
        raise ObjectFormatError(name, f"symbol index of {count} entries is truncated")
    offsets = [width.unpack_from(body, width.size * (i + 1))[0] for i in range(count)]
    names = body[names_start:].split(b"\0")
    if len(names) < count:
        raise ObjectFormatError(name, f"symbol index names {len(names)} of {count} symbols")
    index: dict[str, int] = {}
    for symbol, offset in zip(names, offsets, strict=False):
        index.setdefault(symbol.decode("utf-8", "surrogateescape"), offset)
    return index


def _member_name(raw: str, long_names: bytes, name: str, position: int) -> str:
    if raw.startswith("/") and raw[1:].isdigit():
        offset = int(raw[1:])
        end = long_names.find(b"/\n", offset)
        if offset >= len(long_names) or end < 0:
            raise ObjectFormatError(
                name, f"member at {position:#x}: long name {raw} is outside the name table"
            )
        return long_names[offset:end].decode("utf-8", "surrogateescape")
    return raw[:-1] if raw.endswith("/") else raw
