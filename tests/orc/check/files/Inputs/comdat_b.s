# The second object of comdat.s: the same COMDAT groups with different contents (they lose).

        .text
        .globl  use_from_b
        .p2align 4, 0x90
        .type   use_from_b,@function
use_from_b:
        .globl  call_inline_b
call_inline_b:
        callq   inline_fn@PLT
        .size   call_inline_b, .-call_inline_b
        .globl  lea_counter_b
lea_counter_b:
        leaq    shared_counter(%rip), %rax
        .size   lea_counter_b, .-lea_counter_b
        retq
        .size   use_from_b, .-use_from_b

        .section .text.inline_fn,"axG",@progbits,inline_fn,comdat
        .weak   inline_fn
        .p2align 4, 0x90
        .type   inline_fn,@function
inline_fn:
        movl    $2, %eax
        retq
        .size   inline_fn, .-inline_fn

        .section .data.shared_counter,"awG",@progbits,shared_counter,comdat
        .weak   shared_counter
        .p2align 2
        .type   shared_counter,@object
shared_counter:
        .long   20
        .size   shared_counter, 4
