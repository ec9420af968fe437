# section_size(file, section): orcrt's addition to the language, the size in bytes of a
# linked section (from its first block to the end of its last). llvm-jitlink has no such
# function ("No known address for symbol 'section_size'").
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs far_fn=0x7fff00006000
# LLVM: none
# LLVM-14-FAILS: No known address for symbol 'section_size'
# LLVM-22-FAILS: No known address for symbol 'section_size'

# jitlink-check: section_size(section_size.o, .data) = 24
# jitlink-check: section_size(section_size.o, .bss) = 0x1000
# jitlink-check: section_size(section_size.o, $__GOT) = 8
# jitlink-check: section_size(section_size.o, $__STUBS) = 6
# jitlink-check: section_addr(section_size.o, .data) + section_size(section_size.o, .data) = data_end

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        callq   far_fn@PLT
        retq
        .size   main, .-main

        .data
        .globl  data_start, data_end
        .p2align 3
data_start:
        .quad   1, 2, 3
data_end:

        .bss
        .globl  buffer
        .p2align 4
buffer:
        .zero   0x1000
