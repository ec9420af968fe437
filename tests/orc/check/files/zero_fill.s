# Zero-fill memory (.bss, commons) reads as zeros at any address inside it.
#
# Intended difference: llvm-jitlink reads a zero-fill symbol's memory through a null
# "content" pointer, so only a read at the symbol's exact address works (it yields 0); a read
# at an offset dereferences a small address and crashes both llvm-jitlink 14 and 22. orcrt
# reads memory by target address, so every rule below holds.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: none
# LLVM-14-FAILS: Stack dump:
# LLVM-22-FAILS: Stack dump:

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

# jitlink-check: *{8}(buffer + 8) = 0
# jitlink-check: *{8}(buffer + 0x1ff8) = 0
# jitlink-check: *{4}(common_data + 12) = 0
# jitlink-check: section_addr(zero_fill.o, .bss) = buffer
        .bss
        .globl  buffer
        .p2align 4
buffer:
        .zero   0x2000
        .size   buffer, 0x2000
        .comm   common_data, 16, 16
