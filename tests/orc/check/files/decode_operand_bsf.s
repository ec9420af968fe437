# bsf/bsr with a memory source: LLVM 22 gives the destination a tied source (the register
# keeps its value when the source is 0), LLVM 14 does not; orcrt numbers operands as 22
# does, so the displacement is operand 5 (it is operand 4 in 14).
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: 22
# LLVM-14-FAILS: Operand '5' of instruction 'bsf_load' is not an immediate

# jitlink-check: decode_operand(bsf_load, 3) = 1
# jitlink-check: decode_operand(bsf_load, 5) = 0x1234

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main
        .globl  bsf_load
bsf_load:
        bsfq    0x1234(%rip), %rax
        .size   bsf_load, .-bsf_load
