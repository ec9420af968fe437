# __start_SEC and __stop_SEC (SEC a C identifier) are the bounds of section SEC, which they
# keep alive: a table collected with __attribute__((section("my_table"))) that nothing else
# references.
#
# Intended difference (jitlink-elf-x86-64.md §11.5): llvm-jitlink 14 does not know these names
# ("Symbols not found: [ __start_my_table, __stop_my_table ]"); 22 binds them but prunes the
# otherwise unreferenced section (no my_table to check) and resolves both to 0.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: none
# LLVM-14-FAILS: __start_my_table
# LLVM-22-FAILS: no section "my_table" registered for file "start_stop.o"

# jitlink-check: *{8}bounds = section_addr(start_stop.o, my_table)
# jitlink-check: *{8}(bounds + 8) = section_addr(start_stop.o, my_table) + 24
# jitlink-check: *{8}(section_addr(start_stop.o, my_table) + 16) = 3

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

        .data
        .globl  bounds
        .p2align 3
bounds:
        .quad   __start_my_table
        .quad   __stop_my_table
        .size   bounds, 16

        .section my_table,"aw",@progbits
        .p2align 3
        .quad   1, 2, 3
