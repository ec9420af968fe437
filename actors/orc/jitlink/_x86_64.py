"""x86-64 edge kinds, their arithmetic, and the ELF relocation types that map to them.

Edge kinds follow JITLink's ``x86_64.h`` names, but with the psABI's formulas and the ELF
addend kept as is (jitlink-elf-x86-64.md §11.4): JITLink folds a +4 into branch and GOT-load
addends; here every PC-relative kind writes ``T + A - F``, so an edge built from a relocation
carries ``r_addend`` unchanged. F = fixup address, T = target address, A = addend,
GOT = address of ``_GLOBAL_OFFSET_TABLE_``, Z = target symbol size.

| kind | value | field | range check |
|---|---|---|---|
| POINTER64 | T+A | 8 | none (mod 2**64) |
| POINTER32 | T+A | 4 | unsigned 32 |
| POINTER32_SIGNED | T+A | 4 | signed 32 |
| POINTER16 / POINTER8 | T+A | 2 / 1 | unsigned 16 / 8 |
| DELTA64 | T+A-F | 8 | none |
| DELTA32 / DELTA16 / DELTA8 | T+A-F | 4 / 2 / 1 | signed |
| NEG_DELTA64 / NEG_DELTA32 | F-T+A | 8 / 4 | none / signed 32 |
| DELTA64_FROM_GOT | T+A-GOT | 8 | none |
| BRANCH_PCREL32, BRANCH_PCREL32_TO_STUB_BYPASSABLE, PCREL32_GOT_LOAD_RELAXABLE, PCREL32_GOT_LOAD_REX_RELAXABLE | T+A-F | 4 | signed 32 |
| SIZE64 / SIZE32 | Z+A | 8 / 4 | none / unsigned 32 |
| KEEP_ALIVE | nothing | 0 | — |
| REQUEST_* | never written: the GOT/stub/TLS pass rewrites them first | | |

ELF relocation types (psABI value → edge kind; §4.1 of the reference):

| type | kind (before the table pass) |
|---|---|
| NONE (0) | ignored |
| 64 (1), 32 (10), 32S (11), 16 (12), 8 (14) | POINTER64, POINTER32, POINTER32_SIGNED, POINTER16, POINTER8 |
| PC32 (2), PC16 (13), PC8 (15), PC64 (24) | DELTA32, DELTA16, DELTA8, DELTA64 |
| PLT32 (4) | BRANCH_PCREL32 (a stub is added if the target is not defined in the graph) |
| GOTPCREL (9) | REQUEST_GOT_AND_TRANSFORM_TO_DELTA32 |
| GOTPCRELX (41) / REX_GOTPCRELX (42) | REQUEST_GOT_..._PCREL32_GOT_LOAD(_REX)_RELAXABLE |
| GOTPCREL64 (28) | REQUEST_GOT_AND_TRANSFORM_TO_DELTA64 |
| GOT64 (27) | REQUEST_GOT_AND_TRANSFORM_TO_DELTA64_FROM_GOT |
| GOTOFF64 (25) | DELTA64_FROM_GOT |
| GOTPC32 (26) / GOTPC64 (29) | DELTA32 / DELTA64 to ``_GLOBAL_OFFSET_TABLE_`` |
| SIZE32 (32) / SIZE64 (33) | SIZE32 / SIZE64 |
| TLSGD (19) | REQUEST_TLSINFO_AND_TRANSFORM_TO_DELTA32 (needs a TLS runtime) |
| everything else | unsupported: `ObjectFormatError` naming the type |
"""

from __future__ import annotations

import enum
import struct
from typing import Final

__all__ = [
    "RELOCATION_EDGES",
    "RELOCATION_NAMES",
    "EdgeKind",
    "FixupSpec",
    "Formula",
    "fixup_spec",
    "relocation_name",
]


class EdgeKind(enum.IntEnum):
    """The x86-64 fixup kinds of the link graph (names as JITLink's, formulas as the psABI's)."""

    KEEP_ALIVE = 0
    POINTER64 = 1
    POINTER32 = 2
    POINTER32_SIGNED = 3
    POINTER16 = 4
    POINTER8 = 5
    DELTA64 = 6
    DELTA32 = 7
    DELTA16 = 8
    DELTA8 = 9
    NEG_DELTA64 = 10
    NEG_DELTA32 = 11
    DELTA64_FROM_GOT = 12
    BRANCH_PCREL32 = 13
    BRANCH_PCREL32_TO_STUB_BYPASSABLE = 14
    PCREL32_GOT_LOAD_RELAXABLE = 15
    PCREL32_GOT_LOAD_REX_RELAXABLE = 16
    SIZE64 = 17
    SIZE32 = 18
    REQUEST_GOT_AND_TRANSFORM_TO_DELTA32 = 19
    REQUEST_GOT_AND_TRANSFORM_TO_DELTA64 = 20
    REQUEST_GOT_AND_TRANSFORM_TO_DELTA64_FROM_GOT = 21
    REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_RELAXABLE = 22
    REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_REX_RELAXABLE = 23
    REQUEST_TLSINFO_AND_TRANSFORM_TO_DELTA32 = 24

    @property
    def display_name(self) -> str:
        """JITLink's name for the kind (``Delta32``, ``Keep-Alive``, ...), as dumps show it."""
        return _DISPLAY_NAMES[self]


_DISPLAY_NAMES: Final[dict[EdgeKind, str]] = {
    EdgeKind.KEEP_ALIVE: "Keep-Alive",
    EdgeKind.POINTER64: "Pointer64",
    EdgeKind.POINTER32: "Pointer32",
    EdgeKind.POINTER32_SIGNED: "Pointer32Signed",
    EdgeKind.POINTER16: "Pointer16",
    EdgeKind.POINTER8: "Pointer8",
    EdgeKind.DELTA64: "Delta64",
    EdgeKind.DELTA32: "Delta32",
    EdgeKind.DELTA16: "Delta16",
    EdgeKind.DELTA8: "Delta8",
    EdgeKind.NEG_DELTA64: "NegDelta64",
    EdgeKind.NEG_DELTA32: "NegDelta32",
    EdgeKind.DELTA64_FROM_GOT: "Delta64FromGOT",
    EdgeKind.BRANCH_PCREL32: "BranchPCRel32",
    EdgeKind.BRANCH_PCREL32_TO_STUB_BYPASSABLE: "BranchPCRel32ToPtrJumpStubBypassable",
    EdgeKind.PCREL32_GOT_LOAD_RELAXABLE: "PCRel32GOTLoadRelaxable",
    EdgeKind.PCREL32_GOT_LOAD_REX_RELAXABLE: "PCRel32GOTLoadREXRelaxable",
    EdgeKind.SIZE64: "Size64",
    EdgeKind.SIZE32: "Size32",
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA32: "RequestGOTAndTransformToDelta32",
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64: "RequestGOTAndTransformToDelta64",
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64_FROM_GOT: (
        "RequestGOTAndTransformToDelta64FromGOT"
    ),
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_RELAXABLE: (
        "RequestGOTAndTransformToPCRel32GOTLoadRelaxable"
    ),
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_REX_RELAXABLE: (
        "RequestGOTAndTransformToPCRel32GOTLoadREXRelaxable"
    ),
    EdgeKind.REQUEST_TLSINFO_AND_TRANSFORM_TO_DELTA32: "RequestTLSInfoAndTransformToDelta32",
}


class Formula(enum.IntEnum):
    """How a kind's value is computed (see the module table)."""

    NONE = 0  # keep-alive: nothing is written
    ABSOLUTE = 1  # T + A
    PC_RELATIVE = 2  # T + A - F
    NEGATIVE = 3  # F - T + A
    GOT_RELATIVE = 4  # T + A - GOT
    SIZE = 5  # Z + A
    REQUEST = 6  # must have been rewritten by the table pass


class FixupSpec:
    """What one concrete edge kind writes: formula, field width, packer and accepted range."""

    __slots__ = ("formula", "high", "low", "packer", "signed", "width")

    def __init__(self, formula: Formula, width: int, signed: bool | None) -> None:
        """Describe a field of `width` bytes; `signed` None means no range check (wraps)."""
        self.formula = formula
        self.width = width
        self.signed = signed
        codes = {1: "b", 2: "h", 4: "i", 8: "q"}
        code = codes.get(width, "q")
        self.packer = struct.Struct("<" + (code if signed else code.upper()))
        bits = width * 8
        if signed is None:  # 64-bit fields: any value, written modulo 2**64
            self.low, self.high = -(1 << 63), (1 << 64) - 1
        elif signed:
            self.low, self.high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        else:
            self.low, self.high = 0, (1 << bits) - 1

    def describe_range(self) -> str:
        """``signed 32-bit`` etc., for error messages."""
        if self.signed is None:
            return f"{self.width * 8}-bit"
        return f"{'signed' if self.signed else 'unsigned'} {self.width * 8}-bit"


_SPECS: Final[dict[EdgeKind, FixupSpec]] = {
    EdgeKind.KEEP_ALIVE: FixupSpec(Formula.NONE, 0, None),
    EdgeKind.POINTER64: FixupSpec(Formula.ABSOLUTE, 8, None),
    EdgeKind.POINTER32: FixupSpec(Formula.ABSOLUTE, 4, False),
    EdgeKind.POINTER32_SIGNED: FixupSpec(Formula.ABSOLUTE, 4, True),
    EdgeKind.POINTER16: FixupSpec(Formula.ABSOLUTE, 2, False),
    EdgeKind.POINTER8: FixupSpec(Formula.ABSOLUTE, 1, False),
    EdgeKind.DELTA64: FixupSpec(Formula.PC_RELATIVE, 8, None),
    EdgeKind.DELTA32: FixupSpec(Formula.PC_RELATIVE, 4, True),
    EdgeKind.DELTA16: FixupSpec(Formula.PC_RELATIVE, 2, True),
    EdgeKind.DELTA8: FixupSpec(Formula.PC_RELATIVE, 1, True),
    EdgeKind.NEG_DELTA64: FixupSpec(Formula.NEGATIVE, 8, None),
    EdgeKind.NEG_DELTA32: FixupSpec(Formula.NEGATIVE, 4, True),
    EdgeKind.DELTA64_FROM_GOT: FixupSpec(Formula.GOT_RELATIVE, 8, None),
    EdgeKind.BRANCH_PCREL32: FixupSpec(Formula.PC_RELATIVE, 4, True),
    EdgeKind.BRANCH_PCREL32_TO_STUB_BYPASSABLE: FixupSpec(Formula.PC_RELATIVE, 4, True),
    EdgeKind.PCREL32_GOT_LOAD_RELAXABLE: FixupSpec(Formula.PC_RELATIVE, 4, True),
    EdgeKind.PCREL32_GOT_LOAD_REX_RELAXABLE: FixupSpec(Formula.PC_RELATIVE, 4, True),
    EdgeKind.SIZE64: FixupSpec(Formula.SIZE, 8, None),
    EdgeKind.SIZE32: FixupSpec(Formula.SIZE, 4, False),
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA32: FixupSpec(Formula.REQUEST, 4, True),
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64: FixupSpec(Formula.REQUEST, 8, None),
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64_FROM_GOT: FixupSpec(Formula.REQUEST, 8, None),
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_RELAXABLE: FixupSpec(
        Formula.REQUEST, 4, True
    ),
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_REX_RELAXABLE: FixupSpec(
        Formula.REQUEST, 4, True
    ),
    EdgeKind.REQUEST_TLSINFO_AND_TRANSFORM_TO_DELTA32: FixupSpec(Formula.REQUEST, 4, True),
}


def fixup_spec(kind: EdgeKind) -> FixupSpec:
    """The formula, width and range of `kind` (every kind has one)."""
    return _SPECS[kind]


RELOCATION_NAMES: Final[dict[int, str]] = {
    number: f"R_X86_64_{name}"
    for number, name in {
        0: "NONE",
        1: "64",
        2: "PC32",
        3: "GOT32",
        4: "PLT32",
        5: "COPY",
        6: "GLOB_DAT",
        7: "JUMP_SLOT",
        8: "RELATIVE",
        9: "GOTPCREL",
        10: "32",
        11: "32S",
        12: "16",
        13: "PC16",
        14: "8",
        15: "PC8",
        16: "DTPMOD64",
        17: "DTPOFF64",
        18: "TPOFF64",
        19: "TLSGD",
        20: "TLSLD",
        21: "DTPOFF32",
        22: "GOTTPOFF",
        23: "TPOFF32",
        24: "PC64",
        25: "GOTOFF64",
        26: "GOTPC32",
        27: "GOT64",
        28: "GOTPCREL64",
        29: "GOTPC64",
        30: "GOTPLT64",
        31: "PLTOFF64",
        32: "SIZE32",
        33: "SIZE64",
        34: "GOTPC32_TLSDESC",
        35: "TLSDESC_CALL",
        36: "TLSDESC",
        37: "IRELATIVE",
        38: "RELATIVE64",
        41: "GOTPCRELX",
        42: "REX_GOTPCRELX",
        43: "CODE_4_GOTPCRELX",
        44: "CODE_4_GOTTPOFF",
        45: "CODE_4_GOTPC32_TLSDESC",
        46: "CODE_5_GOTPCRELX",
        47: "CODE_5_GOTTPOFF",
        48: "CODE_5_GOTPC32_TLSDESC",
        49: "CODE_6_GOTPCRELX",
        50: "CODE_6_GOTTPOFF",
        51: "CODE_6_GOTPC32_TLSDESC",
    }.items()
}
"""psABI names of the x86-64 relocation types, known or not supported."""

GOTPC32: Final = 26
GOTPC64: Final = 29

RELOCATION_EDGES: Final[dict[int, EdgeKind]] = {
    1: EdgeKind.POINTER64,
    2: EdgeKind.DELTA32,
    4: EdgeKind.BRANCH_PCREL32,
    9: EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA32,
    10: EdgeKind.POINTER32,
    11: EdgeKind.POINTER32_SIGNED,
    12: EdgeKind.POINTER16,
    13: EdgeKind.DELTA16,
    14: EdgeKind.POINTER8,
    15: EdgeKind.DELTA8,
    19: EdgeKind.REQUEST_TLSINFO_AND_TRANSFORM_TO_DELTA32,
    24: EdgeKind.DELTA64,
    25: EdgeKind.DELTA64_FROM_GOT,
    GOTPC32: EdgeKind.DELTA32,
    27: EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64_FROM_GOT,
    28: EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64,
    GOTPC64: EdgeKind.DELTA64,
    32: EdgeKind.SIZE32,
    33: EdgeKind.SIZE64,
    41: EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_RELAXABLE,
    42: EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_REX_RELAXABLE,
}
"""Supported ELF relocation types and the edge kind each becomes (NONE is skipped)."""


def relocation_name(number: int) -> str:
    """``R_X86_64_PC32`` for 2; ``unknown relocation type N`` for numbers without a name."""
    name = RELOCATION_NAMES.get(number)
    return name if name is not None else f"unknown relocation type {number}"
