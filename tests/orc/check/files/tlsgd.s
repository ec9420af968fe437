# A general-dynamic TLS access (R_X86_64_TLSGD + a call to __tls_get_addr) without a TLS
# runtime.
#
# Intended difference (jitlink-elf-x86-64.md §8.2, §11.2): llvm-jitlink 14 and 22 link it
# against glibc's __tls_get_addr, which then reads the TLS descriptor as {module, offset} and
# returns a wrong address at run time. orcrt refuses the link and names the variable.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: 14 22
# ORCRT-FAILS: thread-local variable 'tls_var' is accessed with R_X86_64_TLSGD

# jitlink-check: *{1}main = 0x66

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        data16
        leaq    tls_var@TLSGD(%rip), %rdi
        data16
        data16
        rex64
        callq   __tls_get_addr@PLT
        movl    (%rax), %eax
        retq
        .size   main, .-main

        .section .tdata,"awT",@progbits
        .globl  tls_var
        .p2align 2
tls_var:
        .long   3
        .size   tls_var, 4
