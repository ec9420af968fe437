"""Hand-assembled x86-64 code (System V ABI) for the EPC tests: no compiler, no LLVM needed.

Each function returns the bytes of one small routine; addresses are baked in as 64-bit
immediates, so the code can live anywhere. The encodings were checked with
``llvm-mc -show-encoding`` (LLVM 14).
"""

from __future__ import annotations

import platform
import struct

import pytest

requires_x86_64 = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="hand-assembled x86-64 machine code"
)


def _imm64(value: int) -> bytes:
    return struct.pack("<Q", value)


def return_int(value: int) -> bytes:
    """``int f(void) { return value; }``: mov eax, imm32; ret."""
    return b"\xb8" + struct.pack("<i", value) + b"\xc3"


INCREMENT = b"\x8d\x47\x01\xc3"
"""``int f(int x) { return x + 1; }``: lea eax, [rdi+1]; ret."""

RETURN_ARGC = b"\x89\xf8\xc3"
"""``int main(int argc, char **argv) { return argc; }``: mov eax, edi; ret."""

SPIN = b"\xeb\xfe"
"""``for (;;);``: jmp $ (never returns; for tests that kill or abandon the executor)."""


def load_byte(address: int) -> bytes:
    """``int f(void) { return *(unsigned char *)address; }``: movabs rax; movzx eax, [rax]; ret."""
    return b"\x48\xb8" + _imm64(address) + b"\x0f\xb6\x00\xc3"


def store_byte_action(address: int, value: int) -> bytes:
    """A wrapper-ABI alloc action: store ``value`` at ``address``; return SPSError success.

    movabs rax, address; mov byte [rax], value; xor eax, eax (Data: byte 00); mov edx, 1
    (Size 1, inline); ret.
    """
    return (
        b"\x48\xb8"
        + _imm64(address)
        + b"\xc6\x00"
        + bytes([value])
        + b"\x31\xc0"
        + (b"\xba\x01\x00\x00\x00\xc3")
    )


def call_with_string(function: int, string: int, result: int) -> bytes:
    """``int main(void) { function(string); return result; }`` (e.g. ``puts``).

    sub rsp, 8 (16-byte alignment at the call); movabs rdi, string; movabs rax, function;
    call rax; mov eax, result; add rsp, 8; ret.
    """
    return b"".join(
        (
            b"\x48\x83\xec\x08",
            b"\x48\xbf" + _imm64(string),
            b"\x48\xb8" + _imm64(function),
            b"\xff\xd0",
            b"\xb8" + struct.pack("<i", result),
            b"\x48\x83\xc4\x08",
            b"\xc3",
        )
    )


def dispatch_caller(fn: int, ctx: int, tag: int, data: int, size: int) -> bytes:
    """``main`` calling the executor's ``dispatch_fn(ctx, tag, data, size)`` (§8).

    Returns ``Size << 8 | first result byte`` (inline for Size <= 8, else through the
    malloc'ed pointer, left to the executor: a test-sized leak); for Size 0 it returns 0xEE if
    the result carries an out-of-band error message (a non-null pointer), else 0.
    """
    return b"".join(
        (
            b"\x48\x83\xec\x08",  # sub rsp, 8
            b"\x48\xbf" + _imm64(ctx),  # movabs rdi, ctx
            b"\x48\xbe" + _imm64(tag),  # movabs rsi, tag
            b"\x48\xba" + _imm64(data),  # movabs rdx, data
            b"\xb9" + struct.pack("<I", size),  # mov ecx, size
            b"\x48\xb8" + _imm64(fn),  # movabs rax, fn
            b"\xff\xd0",  # call rax             -> rax = Data, rdx = Size
            b"\x48\x85\xd2",  # test rdx, rdx
            b"\x74\x18",  # jz error_or_empty
            b"\x48\x83\xfa\x08",  # cmp rdx, 8
            b"\x76\x05",  # jbe inline
            b"\x0f\xb6\x00",  # movzx eax, byte [rax]   (out of line)
            b"\xeb\x03",  # jmp done
            b"\x0f\xb6\xc0",  # inline: movzx eax, al
            b"\xc1\xe2\x08",  # done: shl edx, 8
            b"\x09\xd0",  # or eax, edx
            b"\x48\x83\xc4\x08",  # add rsp, 8
            b"\xc3",  # ret
            b"\x48\x83\xf8\x01",  # error_or_empty: cmp rax, 1  (CF = rax is null)
            b"\x19\xc0",  # sbb eax, eax
            b"\xf7\xd0",  # not eax                 (0 if null, else all ones)
            b"\x25\xee\x00\x00\x00",  # and eax, 0xee
            b"\x48\x83\xc4\x08",  # add rsp, 8
            b"\xc3",  # ret
        )
    )


DISPATCH_CALLER_SIZE = len(dispatch_caller(0, 0, 0, 0, 0))
