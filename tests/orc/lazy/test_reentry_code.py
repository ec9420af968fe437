"""The generated stubs, trampolines, resolver and abort thunk are what LLVM's assembler makes
of the assembly they document (llvmlite's LLVM assembles it: no tools needed)."""

from __future__ import annotations

import io

from elftools.elf.elffile import ELFFile

from actors.orc._reentry_code import (
    RESOLVER_SIZE,
    SLOT_SIZE,
    abort_thunk,
    resolver_code,
    stub_block,
    trampoline_block,
)

from ._asm import assemble

RESOLVER_ASM = """
    push rbp
    mov rbp, rsp
    push rax
    push rdi
    push rsi
    push rdx
    push rcx
    push r8
    push r9
    push r10
    push r11
    mov rax, [rbp + 8]
    sub rax, 6
    push rax
    sub rsp, 512
    and rsp, -16
    fxsave64 [rsp]
    movabs rdi, 0x1122334455667788
    movabs rsi, 0x99aabbccddeeff00
    lea rdx, [rbp - 80]
    mov ecx, 8
    movabs rax, 0x0123456789abcdef
    call rax
    cmp rdx, 8
    jne 1f
    test rax, rax
    jnz 2f
1:  movabs rax, 0xfedcba9876543210
2:  mov [rbp + 8], rax
    fxrstor64 [rsp]
    lea rsp, [rbp - 72]
    pop r11
    pop r10
    pop r9
    pop r8
    pop rcx
    pop rdx
    pop rsi
    pop rdi
    pop rax
    pop rbp
    ret
"""


def text_of(asm: str) -> bytes:
    """The ``.text`` bytes LLVM assembles from ``asm``."""
    section = ELFFile(io.BytesIO(assemble(asm))).get_section_by_name(".text")
    assert section is not None
    data: bytes = section.data()
    return data


def test_reentry_resolver_matches_llvm_assembly() -> None:
    """The resolver's bytes, immediates included, are the documented assembly's."""
    code = resolver_code(
        dispatch_ctx=0x1122334455667788,
        tag=0x99AABBCCDDEEFF00,
        dispatch_fn=0x0123456789ABCDEF,
        fallback=0xFEDCBA9876543210,
    )
    assert len(code) == RESOLVER_SIZE
    assert code == text_of(RESOLVER_ASM)


def test_reentry_trampolines_call_through_their_page_slot() -> None:
    """Trampoline i at 8 + 8i is ``call [rip + d]`` to the slot at offset 0 (the resolver's
    address), padded with int3."""
    block = trampoline_block(0x4000_1000, 3)
    assert block[:8] == (0x4000_1000).to_bytes(8, "little")
    calls = "\n".join(
        f"    call qword ptr [rip - {SLOT_SIZE + SLOT_SIZE * i + 6}]\n    int3\n    int3"
        for i in range(3)
    )
    assert block[8:] == text_of(calls)


def test_reentry_stubs_jump_through_the_pointer_page() -> None:
    """Every stub is ``jmp [rip + page - 6]``: its pointer is one page further."""
    assert stub_block(2, 4096) == text_of(
        "    jmp qword ptr [rip + 4090]\n    int3\n    int3\n" * 2
    )


def test_reentry_abort_thunk_writes_its_message_then_raises_sigabrt() -> None:
    """write(2, message), tgkill(getpid(), gettid(), SIGABRT), ud2; the message follows."""
    message = "orcrt: lazy compilation of 'f' failed\n"
    thunk = abort_thunk(message)
    code = thunk[: -len(message.encode())]
    assert thunk.endswith(message.encode())
    assert code == text_of(
        f"""
    mov eax, 1
    mov edi, 2
    lea rsi, [rip + {len(code) - 17}]
    mov edx, {len(message.encode())}
    syscall
    mov eax, 39
    syscall
    mov r12d, eax
    mov eax, 186
    syscall
    mov esi, eax
    mov edi, r12d
    mov edx, 6
    mov eax, 234
    syscall
    ud2
"""
    )
