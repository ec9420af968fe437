"""Assembly sources of the ObjectLinkingLayer tests (assembled by the ``assemble`` fixture).

Each is a tiny object whose ``main`` (or another function) returns a number that tells which
definition a reference bound to, so a test can run it and see.
"""

from __future__ import annotations

__all__ = [
    "COMMON_A",
    "COMMON_B",
    "CYCLE_A",
    "CYCLE_B",
    "DISPATCH",
    "DUP",
    "EH_FUNCTION",
    "LIB",
    "MAIN_USES_LIB",
    "SELF_CALL",
    "STRLEN",
    "UNDEFINED",
    "USES_GATED",
    "WEAK_MAIN",
    "WEAK_ONE",
    "WEAK_STRONG",
    "WEAK_UNDEFINED",
]

LIB = """
        .text
        .globl lib_add1
        .type lib_add1,@function
lib_add1:
        leal 1(%rdi), %eax
        retq
        .data
        .globl lib_value
        .p2align 2
lib_value:
        .long 41
"""
"""``lib_add1(x) = x + 1`` and ``lib_value = 41``."""

MAIN_USES_LIB = """
        .text
        .globl main
        .type main,@function
main:   pushq %rax
        movq lib_value@GOTPCREL(%rip), %rax
        movl (%rax), %edi
        callq lib_add1@PLT
        popq %rcx
        retq
"""
"""``main`` returns ``lib_add1(lib_value)`` = 42."""

STRLEN = """
        .text
        .globl main
        .type main,@function
main:   pushq %rax
        leaq message(%rip), %rdi
        callq strlen@PLT
        popq %rcx
        retq
        .section .rodata
message:
        .asciz "hello, process"
"""
"""``main`` returns ``strlen("hello, process")`` = 14, with libc's strlen."""

UNDEFINED = """
        .text
        .globl main
        .type main,@function
main:   jmp no_such_function_anywhere@PLT
"""

WEAK_UNDEFINED = """
        .weak missing_everywhere
        .text
        .globl main
        .type main,@function
main:   movq missing_everywhere@GOTPCREL(%rip), %rax
        testq %rax, %rax
        sete %al
        movzbl %al, %eax
        retq
"""
"""``main`` returns 1 if the weak undefined symbol's address is 0."""


def _weak_pick(value: int, *, weak: bool = True) -> str:
    binding = ".weak pick" if weak else ".globl pick"
    return f"""
        .text
        {binding}
        .type pick,@function
pick:   movl ${value}, %eax
        retq
"""


WEAK_ONE = _weak_pick(1)
"""A weak ``pick`` returning 1."""
WEAK_STRONG = _weak_pick(3, weak=False)
"""A strong ``pick`` returning 3."""
WEAK_MAIN = (
    _weak_pick(2)
    + """
        .globl main
        .type main,@function
main:   jmp pick@PLT
"""
)
"""A weak ``pick`` returning 2, and ``main`` returning ``pick()``."""


def _common(getter: str) -> str:
    return f"""
        .comm shared,8,8
        .text
        .globl {getter}
        .type {getter},@function
{getter}:
        movq shared@GOTPCREL(%rip), %rax
        retq
"""


COMMON_A = _common("get_a")
COMMON_B = (
    _common("get_b")
    + """
        .globl main
        .type main,@function
main:   pushq %rbx
        callq get_a@PLT
        movq %rax, %rbx
        callq get_b@PLT
        cmpq %rax, %rbx
        sete %al
        movzbl %al, %eax
        popq %rbx
        retq
"""
)
"""Both define the common ``shared``; ``main`` returns 1 if both objects see one address."""

DUP = """
        .text
        .globl dup
        .type dup,@function
dup:    retq
"""

USES_GATED = """
        .text
        .globl main
        .type main,@function
main:   jmp gated@PLT
"""
"""``main`` calls ``gated``, which a test defines with a unit it controls."""


def _cycle(me: str, other: str, value: int) -> str:
    return f"""
        .text
        .globl {me}
        .type {me},@function
{me}:   testl %edi, %edi
        je 1f
        xorl %edi, %edi
        jmp {other}@PLT
1:      movl ${value}, %eax
        retq
"""


CYCLE_A = (
    _cycle("ping", "pong", 7)
    + """
        .globl main
        .type main,@function
main:   movl $1, %edi
        jmp ping@PLT
"""
)
CYCLE_B = _cycle("pong", "ping", 9)
"""``ping``/``pong`` call each other across two objects; ``main`` returns ``pong(0)`` = 9."""

EH_FUNCTION = """
        .text
        .globl main
        .type main,@function
main:   .cfi_startproc
        pushq %rax
        .cfi_def_cfa_offset 16
        movl $5, %eax
        popq %rcx
        .cfi_def_cfa_offset 8
        retq
        .cfi_endproc
"""
"""A ``main`` with CFI (one CIE and one FDE in ``.eh_frame``), returning 5."""

DISPATCH = """
        .text
        .globl call_a
        .type call_a,@function
call_a: leaq tag_a(%rip), %rsi
        jmp dispatch
        .globl call_b
        .type call_b,@function
call_b: leaq tag_b(%rip), %rsi
dispatch:
        subq $8, %rsp
        movabsq $__orc_rt_jit_dispatch_ctx, %rdi
        leaq argument(%rip), %rdx
        movl $2, %ecx
        movabsq $__orc_rt_jit_dispatch, %rax
        callq *%rax
        shll $8, %edx
        movzbl %al, %eax
        orl %edx, %eax
        addq $8, %rsp
        retq
        .data
argument:
        .byte 5, 7
        .globl tag_a
tag_a:  .byte 0
        .globl tag_b
tag_b:  .byte 0
"""
"""``call_a``/``call_b`` call the controller through the executor's dispatch function with
tag ``tag_a``/``tag_b`` and the two bytes 5, 7; they return ``size << 8 | first byte`` of
the (inline) result."""

SELF_CALL = """
        .text
        .globl helper
        .type helper,@function
helper: movl $4, %eax
        retq
        .globl main
        .type main,@function
main:   jmp helper
"""
"""``main`` calls ``helper``, a strong definition of the same object (returns 4)."""
