# orcrt evaluates every address as a target address and reads memory by target address, so
# a loaded pointer can be loaded through again, and zero-fill memory reads as zeros.
#
# Intended difference: llvm-jitlink evaluates symbols inside a load as addresses in its own
# working memory; a loaded value is a target address, and loading through it reads some
# unrelated host address (with -slab-address: a crash in both 14 and 22).
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: none
# LLVM-14-FAILS: Stack dump:
# LLVM-22-FAILS: Stack dump:

# jitlink-check: *{1}(*{8}pointer) = 1
# jitlink-check: *{8}(*{8}(*{8}pointer_to_pointer)) = 0x0807060504030201

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

        .data
        .p2align 3
        .globl  bytes, pointer, pointer_to_pointer
bytes:
        .byte   1, 2, 3, 4, 5, 6, 7, 8
pointer:
        .quad   bytes
pointer_to_pointer:
        .quad   pointer
