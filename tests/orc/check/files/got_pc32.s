# R_X86_64_GOTPC32 (GOT + A - P, clang 14's -mcmodel=medium -fPIC emits it): the distance to
# _GLOBAL_OFFSET_TABLE_, which exists even though the object has no GOT entry. (LLVM's own
# ELF_R_X86_64_GOTPC32.s states the same rule.) LLVM 14 does not know the type.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: 22
# LLVM-14-FAILS: Unsupported x86-64 relocation type 26: R_X86_64_GOTPC32

# jitlink-check: decode_operand(main, 4) = _GLOBAL_OFFSET_TABLE_ - next_pc(main)

        .section .text.main,"ax",@progbits
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        leal    _GLOBAL_OFFSET_TABLE_(%rip), %ebx
        xorl    %eax, %eax
        retq
        .size   main, .-main
