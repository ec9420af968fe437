# The second object of common.s: a second common shared_common, a strong beaten_common.

        .text
        .globl  from_common_b
        .p2align 4, 0x90
        .type   from_common_b,@function
from_common_b:
        .globl  lea_shared_b
lea_shared_b:
        leaq    shared_common(%rip), %rax
        .size   lea_shared_b, .-lea_shared_b
        retq
        .size   from_common_b, .-from_common_b

        .comm   shared_common, 8, 8

        .data
        .globl  beaten_common
        .p2align 2
beaten_common:
        .long   0x5a5a
        .size   beaten_common, 4
