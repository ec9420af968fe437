# COMDAT groups across two objects: both define the inline function inline_fn and the
# variable shared_counter in COMDAT groups (weak symbols). The first object on the command
# line wins; the second's group is not linked and its references bind to the winner.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-WITH: comdat_b.s
# LLVM: 14 22

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        callq   use_from_b@PLT
        .globl  call_inline_a
call_inline_a:
        callq   inline_fn@PLT
        .size   call_inline_a, .-call_inline_a
        retq
        .size   main, .-main

# This object's copies are the ones used: inline_fn returns 1, shared_counter starts at 10.
# jitlink-check: decode_operand(call_inline_a, 0) = inline_fn - next_pc(call_inline_a)
# jitlink-check: *{1}inline_fn = 0xb8
# jitlink-check: *{4}(inline_fn + 1) = 1
# jitlink-check: *{4}shared_counter = 10
# The other object's call and address load reach this object's definitions.
# jitlink-check: decode_operand(call_inline_b, 0) = inline_fn - next_pc(call_inline_b)
# jitlink-check: decode_operand(lea_counter_b, 4) = shared_counter - next_pc(lea_counter_b)

        .section .text.inline_fn,"axG",@progbits,inline_fn,comdat
        .weak   inline_fn
        .p2align 4, 0x90
        .type   inline_fn,@function
inline_fn:
        movl    $1, %eax
        retq
        .size   inline_fn, .-inline_fn

        .section .data.shared_counter,"awG",@progbits,shared_counter,comdat
        .weak   shared_counter
        .p2align 2
        .type   shared_counter,@object
shared_counter:
        .long   10
        .size   shared_counter, 4
