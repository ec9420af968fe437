# Relocations LLVM 14's JITLink does not know ("Unsupported x86-64 relocation type"): the
# narrow absolute and PC-relative ones (32, 16, 8, PC16, PC8), SIZE32/SIZE64, and NONE.
# LLVM 22 and orcrt write the psABI values.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs abs16=0x1234 -abs abs8=0x56
# LLVM: 22
# LLVM-14-FAILS: Unsupported x86-64 relocation type 10: R_X86_64_32

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

# R_X86_64_32 in code: movl $sym, %eax (a zero-extended 32-bit address).
# jitlink-check: decode_operand(movl_imm32, 1) = target
        .globl  movl_imm32
        .type   movl_imm32,@function
movl_imm32:
        movl    $target, %eax
        .size   movl_imm32, .-movl_imm32

        .data
        .globl  target
        .p2align 4
        .type   target,@object
target:
        .zero   24
        .size   target, 24

# R_X86_64_32, 16 and 8 with addends.
# jitlink-check: *{4}word32 = target + 4
# jitlink-check: *{2}word16 = abs16 + 2
# jitlink-check: *{1}word8 = abs8 + 1
        .globl  word32, word16, word8
word32:
        .long   target + 4
word16:
        .reloc  ., R_X86_64_16, abs16 + 2
        .short  0
word8:
        .reloc  ., R_X86_64_8, abs8 + 1
        .byte   0

# R_X86_64_PC16 and PC8: a short distance back to target.
# jitlink-check: *{2}pc16 = (target - pc16)[15:0]
# jitlink-check: *{1}pc8 = ((target + 8) - pc8)[7:0]
        .globl  pc16, pc8
pc16:
        .reloc  ., R_X86_64_PC16, target
        .short  0
pc8:
        .reloc  ., R_X86_64_PC8, target + 8
        .byte   0

# R_X86_64_SIZE64 and SIZE32: the target's size plus the addend.
# jitlink-check: *{8}size64 = 24
# jitlink-check: *{4}size32 = 40
        .p2align 3
        .globl  size64, size32
size64:
        .reloc  ., R_X86_64_SIZE64, target
        .quad   0
size32:
        .reloc  ., R_X86_64_SIZE32, target + 16
        .long   0

# R_X86_64_NONE changes nothing.
# jitlink-check: *{4}none_field = 0xa5a5a5a5
        .globl  none_field
none_field:
        .reloc  ., R_X86_64_NONE, target
        .long   0xa5a5a5a5
