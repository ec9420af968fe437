"""The x86-64 instruction decoder behind ``decode_operand`` and ``next_pc``: capstone, seen as LLVM.

llvm-jitlink's checker decodes with LLVM's own disassembler and indexes the operands of the
resulting ``MCInst``. We decode with capstone (a maintained decoder; we do not write one) and
rebuild the operand list the way LLVM lays it out, so that ``decode_operand(label, N)`` means the
same N in both tools. The rules, checked against llvm-jitlink 22 (``tests/orc/check/``):

| capstone operand | LLVM ``MCInst`` operands |
|---|---|
| register | one register operand |
| register written *and* read, first position (``add rax, ...``, ``shl rax, 3``, ``addss``) | the destination, then the tied source: two operands |
| memory | five operands: base register, scale (immediate), index register, displacement (immediate), segment register |
| immediate | one immediate; sign-extended to 64 bits when it is encoded in one byte (``andl $-16``, ``movb $-2``) |
| branch target (``call``/``jmp``/``jcc``/``jrcxz`` rel8/rel32) | the displacement from the next instruction, as the encoding holds it (capstone reports the absolute target) |

Special forms: ``cmovcc`` gets its tied source and ``jcc``/``setcc``/``cmovcc`` end with the
condition code (LLVM's numbering = the opcode's low nibble); the accumulator forms (``cmp eax,
imm32``, ``out imm8, al``, ...) leave the register implicit; ``xchg``/``xadd`` with memory list
the register (and its tied copy) before the memory operand; ``movabs`` with a 64-bit absolute
address (``a1``/``a3`` opcodes) is ``[offset, segment]``; a leading ``lock`` prefix is an
instruction of its own (1 byte, no operands), as LLVM decodes it. Where LLVM 14 and 22
differ we follow 22 (``bsf``/``bsr`` have a tied source in 22, not in 14). Not modelled:
string instructions (``rep movsb``), whose operands LLVM lists as registers.

Immediates are returned as Python ints in [0, 2**64): the checker works modulo 2**64.

capstone is imported when the first instruction is decoded; without it `DecoderUnavailableError`
names the package to install.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

import attrs

__all__ = [
    "CapstoneDecoder",
    "DecodedInstruction",
    "DecoderUnavailableError",
    "Operand",
]

_MASK64: Final = (1 << 64) - 1
_LOCK_PREFIX: Final = 0xF0
_READ_WRITE: Final = 3  # capstone's CS_AC_READ | CS_AC_WRITE
# One-byte opcodes whose al/ax/eax/rax operand LLVM leaves implicit: the ALU ops with the
# accumulator and an immediate (04/05 ... 3C/3D), test (A8/A9), in/out with a port (E4-E7).
_ACCUMULATOR_FORMS: Final = frozenset(
    [base + low for base in range(0, 0x40, 8) for low in (4, 5)]
    + [0xA8, 0xA9, 0xE4, 0xE5, 0xE6, 0xE7]
)
# One-byte opcodes whose imm8 LLVM sign-extends (i8imm / iNNi8imm operands): ALU forms with
# the accumulator, push, imul, group-1 ALU, mov, test. Others (shifts, bt, int, in/out,
# enter, SSE shuffles) are unsigned bytes.
_SIGNED_IMM8: Final = frozenset(
    [base + 4 for base in range(0, 0x40, 8)]
    + [0x6A, 0x6B, 0x80, 0x82, 0x83, 0xA8, 0xC6, 0xF6]
    + list(range(0xB0, 0xB8))
)
_MAX_INSTRUCTION: Final = 15  # bytes; the architectural limit


class DecoderUnavailableError(RuntimeError):
    """The instruction decoder's library (capstone) is not installed."""


@attrs.frozen
class Operand:
    """One ``MCInst``-style operand: an immediate (``value``) or a register (``register``).

    Attributes:
        value: the immediate, modulo 2**64; None for a register operand.
        register: the register's name ("" for LLVM's "no register"); None for an immediate.
    """

    value: int | None = None
    register: str | None = None

    @property
    def is_immediate(self) -> bool:
        """True for an immediate operand (what ``decode_operand`` may return)."""
        return self.value is not None

    def __str__(self) -> str:
        if self.value is not None:
            signed = self.value - (1 << 64) if self.value >> 63 else self.value
            return f"<Imm:{signed}>"
        return f"<Reg:{self.register or 'none'}>"


@attrs.frozen
class DecodedInstruction:
    """One decoded instruction: its length, its operands in LLVM's order, and its text."""

    size: int
    operands: tuple[Operand, ...]
    text: str

    def __str__(self) -> str:
        """Like LLVM's ``MCInst::dump_pretty``: ``<text <Operand> ...>``."""
        return f"<{' '.join([self.text, *map(str, self.operands)])}>"


def _imm(value: int) -> Operand:
    return Operand(value=value & _MASK64)


def _reg(name: str) -> Operand:
    return Operand(register=name)


class CapstoneDecoder:
    """Decodes x86-64 machine code for the checker (the module docstring has the rules).

    Stateless after construction; one instance may serve any number of checks from one thread
    at a time (capstone handles are not shared across threads).

    Raises:
        DecoderUnavailableError: from `decode`, if capstone is not installed.
    """

    def __init__(self) -> None:
        """Create the decoder; capstone is loaded on first use."""
        self._cs: Any = None
        self._x86: Any = None

    def __repr__(self) -> str:
        return f"<CapstoneDecoder loaded={self._cs is not None}>"

    def _load(self) -> Any:
        if self._cs is None:
            try:
                capstone = importlib.import_module("capstone")
                self._x86 = importlib.import_module("capstone.x86")
            except ImportError as exc:
                raise DecoderUnavailableError(
                    "decoding instructions needs the 'capstone' package, which is not "
                    "installed (pip install capstone, or orcrt's 'check' extra)"
                ) from exc
            cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
            cs.detail = True
            self._cs = cs
        return self._cs

    def decode(self, code: bytes, address: int) -> DecodedInstruction | None:
        """Decode the first instruction of `code`, which sits at `address`.

        Returns:
            The instruction, or None if `code` does not start with a valid one.

        Raises:
            DecoderUnavailableError: capstone is not installed.
        """
        cs = self._load()
        code = bytes(code[:_MAX_INSTRUCTION])
        if code[:1] == bytes([_LOCK_PREFIX]):
            return DecodedInstruction(1, (), "lock")
        insn = next(iter(cs.disasm(code, address, 1)), None)
        if insn is None:
            return None
        text = f"{insn.mnemonic} {insn.op_str}".strip()
        return DecodedInstruction(insn.size, tuple(self._operands(insn)), text)

    def _operands(self, insn: Any) -> list[Operand]:
        x86 = self._x86
        operands = list(insn.operands)
        opcode = [byte for byte in insn.opcode if byte]
        if insn.id == x86.X86_INS_MOVABS and any(op.type == x86.X86_OP_MEM for op in operands):
            memory = next(op for op in operands if op.type == x86.X86_OP_MEM)
            return [_imm(memory.mem.disp), _reg(insn.reg_name(memory.mem.segment) or "")]
        primary = opcode[0] if len(opcode) == 1 else None
        if primary in _ACCUMULATOR_FORMS:  # al/ax/eax/rax is implicit in LLVM's form
            operands = [op for op in operands if op.type != x86.X86_OP_REG]
        if insn.id in (x86.X86_INS_XCHG, x86.X86_INS_XADD):
            registers = [op for op in operands if op.type == x86.X86_OP_REG]
            if len(registers) == len(operands):  # xchg reg, reg: LLVM lists two registers
                return [_reg(insn.reg_name(op.reg) or "") for op in registers]
            operands = registers + [op for op in operands if op.type != x86.X86_OP_REG]
            tied = True
        else:
            tied = insn.id in (x86.X86_INS_BSF, x86.X86_INS_BSR)
        condition = _condition_code(opcode)
        if condition is not None and len(opcode) >= 2 and opcode[1] & 0xF0 == 0x40:
            tied = True  # cmovcc: LLVM ties the destination (capstone says write-only)
        relative = insn.group(x86.X86_GRP_BRANCH_RELATIVE)
        last_immediate = max(
            (index for index, op in enumerate(operands) if op.type == x86.X86_OP_IMM), default=-1
        )
        result: list[Operand] = []
        for position, op in enumerate(operands):
            if op.type == x86.X86_OP_REG:
                name = insn.reg_name(op.reg) or ""
                result.append(_reg(name))
                if position == 0 and (op.access == _READ_WRITE or tied):
                    result.append(_reg(name))  # LLVM's tied source of a two-address form
            elif op.type == x86.X86_OP_IMM:
                value = op.imm
                if relative:
                    value -= insn.address + insn.size
                elif insn.imm_size == 1 and position == last_immediate:
                    # capstone sign-extends every imm8; LLVM only those of signed forms.
                    # (Only enter has two immediates; its imm8 is the last.)
                    value &= 0xFF
                    if primary in _SIGNED_IMM8 and value & 0x80:
                        value -= 0x100
                result.append(_imm(value))
            elif op.type == x86.X86_OP_MEM:
                memory = op.mem
                result += [
                    _reg(insn.reg_name(memory.base) or ""),
                    _imm(memory.scale),
                    _reg(insn.reg_name(memory.index) or ""),
                    _imm(memory.disp),
                    _reg(insn.reg_name(memory.segment) or ""),
                ]
        if condition is not None:
            result.append(_imm(condition))
        return result


def _condition_code(opcode: list[int]) -> int | None:
    """LLVM's condition-code operand of jcc/setcc/cmovcc (the opcode's low nibble), or None."""
    if len(opcode) == 1 and opcode[0] & 0xF0 == 0x70:  # jcc rel8
        return opcode[0] & 0x0F
    if len(opcode) >= 2 and opcode[0] == 0x0F and opcode[1] & 0xF0 in (0x40, 0x80, 0x90):
        return opcode[1] & 0x0F  # cmovcc, jcc rel32, setcc
    return None
