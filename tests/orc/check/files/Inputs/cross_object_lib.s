# The second object of cross_object.s; it calls back into the first one.
#
# The tail call to main is bypassed (near); the stub and slot exist anyway.
# jitlink-check: decode_operand(lib_fn, 0) = main - next_pc(lib_fn)
# jitlink-check: *{2}(stub_addr(cross_object_lib.o, main)) = 0x25ff
# jitlink-check: *{8}(got_addr(cross_object_lib.o, main)) = main
# jitlink-check: *{8}(got_addr(cross_object_lib.o, main_var)) = main_var
# jitlink-check: section_addr(cross_object_lib.o, .data) = lib_var

        .text
        .globl  lib_fn
        .p2align 4, 0x90
        .type   lib_fn,@function
lib_fn:
        jmp     main@PLT
        .size   lib_fn, .-lib_fn
        .globl  lib_load
        .type   lib_load,@function
lib_load:
        addq    main_var@GOTPCREL(%rip), %rax
        retq
        .size   lib_load, .-lib_load

        .data
        .globl  lib_var
        .p2align 3
lib_var:
        .quad   1, 2
        .size   lib_var, 16
        .globl  lib_hidden
        .hidden lib_hidden
lib_hidden:
        .long   5
        .size   lib_hidden, 4
