# Pointer and PC-relative relocations that both LLVM versions support: R_X86_64_64, PC32
# (code and data, with addends, to local, global and absolute targets), PC64 and 32S.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs far_abs=0x123456789abc -abs low_abs=0x7ffff000
# LLVM: 14 22

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

# R_X86_64_PC32 in code, to a global in .data.
# jitlink-check: decode_operand(lea_global, 4) = data_word - next_pc(lea_global)
        .globl  lea_global
        .type   lea_global,@function
lea_global:
        leaq    data_word(%rip), %rax
        .size   lea_global, .-lea_global

# R_X86_64_PC32 with an addend, to a local symbol (relocated against the section symbol).
# (A number followed by a blank ends the expression in LLVM's checker: hence the parens.)
# jitlink-check: decode_operand(lea_local, 4) = (data_word + 20) - next_pc(lea_local)
        .globl  lea_local
        .type   lea_local,@function
lea_local:
        leaq    local_data+12(%rip), %rax
        .size   lea_local, .-lea_local

# R_X86_64_32S in code: a sign-extended 32-bit absolute address (the slab is below 2 GiB).
# jitlink-check: decode_operand(mov_imm32s, 1) = data_word
        .globl  mov_imm32s
        .type   mov_imm32s,@function
mov_imm32s:
        movq    $data_word, %rax
        .size   mov_imm32s, .-mov_imm32s

# R_X86_64_64 in code: movabs of an absolute symbol far away.
# jitlink-check: decode_operand(movabs_far, 1) = far_abs
        .globl  movabs_far
        .type   movabs_far,@function
movabs_far:
        movabsq $far_abs, %rax
        .size   movabs_far, .-movabs_far

        .data
        .globl  data_word
        .p2align 3
        .type   data_word,@object
data_word:
        .quad   0x1122334455667788
        .size   data_word, 8
local_data:
        .zero   16

# R_X86_64_64 to a function, with an addend, and to an absolute symbol.
# jitlink-check: *{8}ptr_main = main
# jitlink-check: *{8}ptr_main_plus = main + 0x10
# jitlink-check: *{8}ptr_far_abs = far_abs
        .globl  ptr_main, ptr_main_plus, ptr_far_abs
ptr_main:
        .quad   main
ptr_main_plus:
        .quad   main + 0x10
ptr_far_abs:
        .quad   far_abs

# R_X86_64_PC64, backwards and forwards.
# jitlink-check: *{8}pc64_main = main - pc64_main
# jitlink-check: *{8}pc64_forward = (data_word + 0x100) - pc64_forward
        .globl  pc64_main, pc64_forward
pc64_main:
        .quad   main - .
pc64_forward:
        .quad   data_word + 0x100 - .

# R_X86_64_PC32 in data: the 32-bit difference, read back as 4 bytes.
# jitlink-check: *{4}pc32_data = (lea_global - pc32_data)[31:0]
        .globl  pc32_data
pc32_data:
        .long   lea_global - .

# R_X86_64_32S in data, to an absolute symbol below 2 GiB.
# jitlink-check: *{4}s32_low_abs = low_abs + 8
        .globl  s32_low_abs
s32_low_abs:
        .reloc  ., R_X86_64_32S, low_abs + 8
        .long   0

# The untouched neighbours: relocations write their field only.
# jitlink-check: *{8}data_word = 0x1122334455667788
# jitlink-check: *{8}(data_word + 8) = 0
