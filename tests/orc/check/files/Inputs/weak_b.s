# The second object of weak.s: a losing weak weak_fn and the strong override_fn.

        .text
        .globl  from_b
        .p2align 4, 0x90
        .type   from_b,@function
from_b:
        .globl  call_weak_b
call_weak_b:
        callq   weak_fn@PLT
        .size   call_weak_b, .-call_weak_b
        retq
        .size   from_b, .-from_b

        .weak   weak_fn
        .type   weak_fn,@function
weak_fn:
        movl    $2, %eax
        retq
        .size   weak_fn, .-weak_fn

        .globl  override_fn
        .type   override_fn,@function
override_fn:
        movl    $2, %eax
        retq
        .size   override_fn, .-override_fn
