# -check-name picks which rules run: with -check-name=my-rules only "# my-rules:" lines count;
# the jitlink-check lines below would fail if they were evaluated.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -check-name=my-rules
# LLVM: 14 22

# my-rules: *{4}value = 0x1234
# my-rules: value + 4 = \
# my-rules:   after
# jitlink-check: 1 = 2
# jitlink-check: *{4}value = 0

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

        .data
        .globl  value, after
        .p2align 2
value:
        .long   0x1234
after:
        .long   0
