"""``.eh_frame``: split into one block per CFI record, add the implicit edges, terminate.

The pre-prune pass `split_eh_frame` does what JITLink's ``DWARFRecordSectionSplitter``,
``EHFrameEdgeFixer`` and ``EHFrameNullTerminator`` do (jitlink-elf-x86-64.md §6.1):

1. **Split.** Each record (4-byte length, or 0xffffffff then an 8-byte length; a zero length is
   a terminator and is dropped) becomes a block with an anonymous local symbol at 0; relocation
   edges and symbols move to the record that contains them. Records get alignment 4 (1 if some
   record is not a multiple of 4 long) and no alignment offset, so the records that survive
   pruning stay **contiguous**. JITLink keeps the section's alignment (8) and each record's
   original offset modulo 8 instead: when a pruned record leaves a record that sat at 4 mod 8
   behind a record ending at 0 mod 8, layout inserts 4 zero bytes, which libgcc reads as the
   terminator, so every FDE after the gap is invisible and exceptions through those functions
   end in ``std::terminate`` (observed with llvm-jitlink 14 and 22 on clang 22 ``-O0`` C++
   objects whose COMDAT duplicates lost to another object's).
2. **Edges.** In each CIE (``CIE_id`` 0) the version must be 1, and the augmentation string may
   hold ``z``, ``P``, ``L``, ``R``, ``S`` and ``B``; the pointer encodings accepted are absptr,
   udata4/8 and sdata4/8, absolute or pc-relative, optionally indirect (0x80), or omit (0xff).
   In each FDE the CIE-pointer field gets a NegDelta32 edge to its CIE's record (so it stays
   right after layout and pruning), and when pc-begin's relocation targets a defined symbol, the
   target's block gets a **keep-alive** edge to the FDE: an FDE lives exactly as long as its
   function. pc-begin, the personality pointer and the LSDA pointer keep their relocation edges
   (an object always has them: every such field points into another section).
3. **Terminate.** A 4-byte zero block with a live anonymous symbol is appended last (highest
   origin), so the registered range ends after it, as libgcc's ``__register_frame`` expects.

Record layouts (offsets from the record start; ``h`` = 4, or 12 with an extended length):

| record | layout |
|---|---|
| CIE | length, u32 0, u8 version, augmentation string (NUL-terminated), uleb code align, sleb data align, u8 return register, [``z``: uleb data length, then per letter: ``P`` u8 encoding + pointer, ``L`` u8 encoding, ``R`` u8 encoding] |
| FDE | length, u32 CIE pointer (= its own offset minus the CIE's), pc-begin and pc-range (by the CIE's ``R`` encoding), [``z``: uleb data length, ``L``: LSDA pointer], instructions |
"""

from __future__ import annotations

import bisect
import struct
from typing import Final

from ._errors import ObjectFormatError
from ._graph import Block, Edge, LinkGraph, Section, Symbol
from ._x86_64 import EdgeKind

__all__ = ["EH_FRAME_SECTION", "TERMINATOR_ORIGIN", "split_eh_frame"]

EH_FRAME_SECTION: Final = ".eh_frame"
TERMINATOR_ORIGIN: Final = (1 << 64) - 4
"""Origin of the terminator block: above every real record, so the layout puts it last."""

_U32: Final = struct.Struct("<I")
_U64: Final = struct.Struct("<Q")
_OMIT: Final = 0xFF
_POINTER_SIZES: Final = {0x00: 8, 0x03: 4, 0x04: 8, 0x0B: 4, 0x0C: 8}  # absptr, u/sdata4, u/sdata8


class _Cie:
    __slots__ = (
        "augmented",
        "fde_encoding",
        "fde_pointer_size",
        "has_lsda",
        "lsda_encoding",
        "lsda_pointer_size",
        "symbol",
    )

    def __init__(self, symbol: Symbol) -> None:
        self.symbol = symbol
        self.augmented = False
        self.fde_encoding = 0x00
        self.lsda_encoding = _OMIT
        self.has_lsda = False
        # Sizes of pc-begin/pc-range and of the LSDA pointer (0: none) in this CIE's FDEs.
        self.fde_pointer_size = _POINTER_SIZES[0x00]
        self.lsda_pointer_size = 0


class _Reader:
    """Bounds-checked reads inside one record; errors name the record's place."""

    def __init__(self, data: bytes | bytearray | memoryview, end: int, where: str, graph: str):
        self.data = data
        self.end = end
        self.where = where
        self.graph = graph

    def fail(self, problem: str) -> ObjectFormatError:
        return ObjectFormatError(self.graph, f"{self.where}: {problem}")

    def need(self, offset: int, size: int) -> None:
        if offset + size > self.end:
            raise self.fail(f"record truncated (needs {size} bytes at +{offset:#x})")

    def u8(self, offset: int) -> int:
        self.need(offset, 1)
        return self.data[offset]

    def uleb(self, offset: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = self.u8(offset)
            offset += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value, offset

    def cstring(self, offset: int) -> tuple[bytes, int]:
        end = bytes(self.data[offset : self.end]).find(b"\0")
        if end < 0:
            raise self.fail("augmentation string is not NUL-terminated")
        return bytes(self.data[offset : offset + end]), offset + end + 1

    def pointer_size(self, encoding: int, what: str) -> int:
        size = _POINTER_SIZES.get(encoding & 0x0F)
        application = encoding & 0x70
        if encoding == _OMIT:
            return 0
        if size is None or application not in (0x00, 0x10):
            raise self.fail(f"unsupported pointer encoding {encoding:#04x} for the {what}")
        return size


def split_eh_frame(graph: LinkGraph) -> None:
    """Pre-prune pass: split ``.eh_frame`` per record, add CIE-pointer and keep-alive edges, and
    append the terminator (see the module docstring). Does nothing without ``.eh_frame``.

    Runs once per graph, before pruning (it is in the default pass configuration).

    Raises:
        ObjectFormatError: a malformed or unsupported record (truncated, bad CIE version,
            unknown augmentation letter, unsupported pointer encoding, FDE without CIE or
            without a pc-begin relocation).
    """
    section = graph.sections.get(EH_FRAME_SECTION)
    if section is None:
        return
    originals = list(section.blocks)
    section.blocks.clear()
    for block in originals:
        _split_block(graph, section, block)
    terminator = graph.add_content_block(section, bytes(4), origin=TERMINATOR_ORIGIN)
    graph.add_defined_symbol(terminator, 0, None, 4, live=True)


def _split_block(graph: LinkGraph, section: Section, block: Block) -> None:
    data = block.content
    if data is None:
        raise ObjectFormatError(graph.name, f"{section.name} is zero-fill")
    size = len(data)
    # Pass 1: record boundaries.
    records: list[tuple[int, int, int]] = []  # (start, header size, end)
    offset = 0
    while offset < size:
        if offset + 4 > size:
            raise ObjectFormatError(
                graph.name, f"{section.name}+{offset:#x}: truncated record length"
            )
        (length,) = _U32.unpack_from(data, offset)
        header = 4
        if length == 0xFFFFFFFF:
            if offset + 12 > size:
                raise ObjectFormatError(
                    graph.name, f"{section.name}+{offset:#x}: truncated extended length"
                )
            (length,) = _U64.unpack_from(data, offset + 4)
            header = 12
        end = offset + header + length
        if end > size or (length and length < 4):
            raise ObjectFormatError(
                graph.name,
                f"{section.name}+{offset:#x}: record of {length:#x} bytes runs past the end "
                f"of the {size:#x}-byte section",
            )
        if length:
            records.append((offset, header, end))
        offset = end
    # Pass 2: one block per record; edges and symbols follow their offsets.
    packed = all(start % 4 == 0 and end % 4 == 0 for start, _, end in records)
    alignment = min(block.alignment, 4) if packed else 1
    new_blocks = graph.split_into_blocks(
        section,
        data,
        [(start, end) for start, _, end in records],
        alignment=alignment,
        origin=block.origin,
        elf_section=block.elf_section,
    )
    record_symbols = graph.add_block_symbols(new_blocks)
    starts = [start for start, _, _ in records]
    # Each edge by its offset in the unsplit section: pass 3 finds pc-begin's relocation here.
    edges_at: dict[int, Edge] = {}
    bisect_right = bisect.bisect_right
    for edge in block.edges:
        offset = edge.offset
        index = max(bisect_right(starts, offset) - 1, 0)
        start, _, end = records[index] if records else (0, 0, 0)
        if not records or not start <= offset < end:
            raise ObjectFormatError(
                graph.name, f"{section.name}+{offset:#x}: relocation outside every record"
            )
        edges_at[offset] = edge
        edge.offset = offset - start
        new_blocks[index].edges.append(edge)
    for symbol in graph.defined:
        if symbol.block is block:
            if not records:
                raise ObjectFormatError(
                    graph.name, f"symbol {symbol.display_name} in empty {section.name}"
                )
            index = max(bisect_right(starts, symbol.offset) - 1, 0)
            symbol.block = new_blocks[index]
            symbol.offset -= records[index][0]
    # Pass 3: parse CIEs, then FDEs (an FDE may precede its CIE only in theory; allow it).
    unpack_u32 = _U32.unpack_from
    cies: dict[int, _Cie] = {}
    for index, (start, header, end) in enumerate(records):
        if unpack_u32(data, start + header)[0] == 0:
            reader = _Reader(data, end, f"{section.name}+{start:#x} (CIE)", graph.name)
            cies[start] = _parse_cie(reader, start + header + 4, record_symbols[index])
    neg_delta32, keep_alive = EdgeKind.NEG_DELTA32, EdgeKind.KEEP_ALIVE
    for index, (start, header, end) in enumerate(records):
        field = start + header
        (pointer,) = unpack_u32(data, field)
        if pointer == 0:
            continue
        cie = cies.get(field - pointer)
        pc_begin = edges_at.get(field + 4)
        if cie is None or pc_begin is None or field + 4 >= end:
            reader = _Reader(data, end, f"{section.name}+{start:#x} (FDE)", graph.name)
            if cie is None:
                raise reader.fail(f"CIE pointer {pointer:#x} does not point at a CIE")
            raise reader.fail("pc-begin has no relocation")
        new_blocks[index].edges.append(Edge(neg_delta32, header, cie.symbol, 0))
        target_block = pc_begin.target.block
        if target_block is not None:
            target_block.edges.append(Edge(keep_alive, 0, record_symbols[index], 0))
        _check_fde(data, start, end, field, cie, section.name, graph.name)
    del block.edges[:]  # the old block is gone from the section; its edges moved


def _check_fde(
    data: bytes | bytearray | memoryview,
    start: int,
    end: int,
    field: int,
    cie: _Cie,
    section: str,
    graph: str,
) -> None:
    """The FDE at `start` holds pc-begin and pc-range, and (with a ``z`` augmentation) its
    augmentation length and LSDA pointer. Checked inline on the common path (no `_Reader`
    per record: a large object has thousands); a failure is re-run through `_Reader`, so the
    message is the one it gives."""
    offset = field + 4 + 2 * cie.fde_pointer_size
    if offset <= end and cie.augmented:
        while offset < end:  # the augmentation data length, a ULEB128
            offset += 1
            if not data[offset - 1] & 0x80:
                break
        else:
            offset = end + 1
        offset += cie.lsda_pointer_size
    if offset <= end:
        return
    reader = _Reader(data, end, f"{section}+{start:#x} (FDE)", graph)
    pointer_size = cie.fde_pointer_size
    reader.need(field + 4, 2 * pointer_size)
    if cie.augmented:
        _length, after = reader.uleb(field + 4 + 2 * pointer_size)
        if cie.has_lsda:
            reader.need(after, cie.lsda_pointer_size)
    raise AssertionError("unreachable: the FDE checks above failed")  # pragma: no cover


def _parse_cie(reader: _Reader, offset: int, symbol: Symbol) -> _Cie:
    cie = _Cie(symbol)
    version = reader.u8(offset)
    if version != 1:
        raise reader.fail(f"bad CIE version {version} (only 1 is supported)")
    augmentation, offset = reader.cstring(offset + 1)
    _code_align, offset = reader.uleb(offset)
    _data_align, offset = reader.uleb(offset)  # sleb: only skipped, so uleb's length is right
    offset += 1  # return address register (u8 in version 1)
    if not augmentation:
        return cie
    if augmentation[:1] != b"z":
        raise reader.fail(f"augmentation string {augmentation!r} does not start with 'z'")
    cie.augmented = True
    _length, offset = reader.uleb(offset)
    for letter in augmentation[1:].decode("latin-1"):
        if letter == "P":
            encoding = reader.u8(offset)
            size = reader.pointer_size(encoding, "personality")
            reader.need(offset + 1, size)
            offset += 1 + size
        elif letter == "L":
            cie.lsda_encoding = reader.u8(offset)
            cie.has_lsda = cie.lsda_encoding != _OMIT
            cie.lsda_pointer_size = reader.pointer_size(cie.lsda_encoding, "LSDA")
            offset += 1
        elif letter == "R":
            cie.fde_encoding = reader.u8(offset)
            if cie.fde_encoding == _OMIT:
                raise reader.fail("FDE address encoding is DW_EH_PE_omit")
            cie.fde_pointer_size = reader.pointer_size(cie.fde_encoding, "FDE address")
            offset += 1
        elif letter in "SB":
            continue  # signal frame / BTI marker: no data
        else:
            raise reader.fail(f"unrecognized character {letter!r} in augmentation string")
    return cie
