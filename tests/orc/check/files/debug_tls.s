# A TLS variable's debug information carries R_X86_64_DTPOFF64 in .debug_info (clang -g on
# any __thread variable). The code does not touch the variable, so no TLS support is
# needed, and the link must succeed.
#
# Intended difference: llvm-jitlink 22 processes the relocations of debug sections and fails
# the whole link ("Unsupported x86-64 relocation type R_X86_64_DTPOFF64";
# jitlink-elf-x86-64.md §8.1, §11.3). 14 and orcrt skip debug relocations.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: 14
# LLVM-22-FAILS: R_X86_64_DTPOFF64

# jitlink-check: *{1}main = 0x31

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

        .section .tbss,"awT",@nobits
        .globl  tls_var
        .p2align 2
        .type   tls_var,@object
tls_var:
        .long   0
        .size   tls_var, 4

        .section .debug_info,"",@progbits
        .long   12
        .short  4
        .byte   8
        .byte   0x0e
        .quad   tls_var@DTPOFF
