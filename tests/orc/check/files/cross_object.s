# References between two objects of one JITDylib (both linked into the same slab, so
# everything is within +-2 GiB): a PLT32 call (stub made, bypassed), a GOT load (relaxed to a
# lea), PC32 to a hidden symbol of the other object, and R_X86_64_64 pointers. Each object has
# its own GOT and stubs (got_addr/stub_addr name the file); cross_object_lib.s checks its side.
#
# RUN-ARGS: -slab-allocate 1Mb -slab-address 0x10000000 -slab-page-size 4096
# RUN-WITH: cross_object_lib.s
# LLVM: 14 22

# jitlink-check: decode_operand(call_lib, 0) = lib_fn - next_pc(call_lib)
# jitlink-check: *{8}(got_addr(cross_object.o, lib_fn)) = lib_fn
# jitlink-check: *{1}(load_lib_var + 1) = 0x8d
# jitlink-check: decode_operand(load_lib_var, 4) = lib_var - next_pc(load_lib_var)
# jitlink-check: decode_operand(lea_hidden, 4) = lib_hidden - next_pc(lea_hidden)
# jitlink-check: *{8}ptr_to_lib = lib_fn
# jitlink-check: *{8}(ptr_to_lib + 8) = lib_var + 4

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        .globl  call_lib
call_lib:
        callq   lib_fn@PLT
        .size   call_lib, .-call_lib
        .globl  load_lib_var
load_lib_var:
        movq    lib_var@GOTPCREL(%rip), %rax
        .size   load_lib_var, .-load_lib_var
        .globl  lea_hidden
lea_hidden:
        leaq    lib_hidden(%rip), %rcx
        .size   lea_hidden, .-lea_hidden
        retq
        .size   main, .-main

        .data
        .globl  main_var
        .p2align 3
main_var:
        .quad   0x77
        .size   main_var, 8
        .globl  ptr_to_lib
ptr_to_lib:
        .quad   lib_fn
        .quad   lib_var + 4
        .size   ptr_to_lib, 16
