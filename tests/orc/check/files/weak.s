# Weak definitions across objects and weak references: between two weak definitions the first
# object on the command line wins; a strong definition beats a weak one whichever comes
# first; a weak reference nobody defines is 0 (in its GOT slot, and where it is called).
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-WITH: weak_b.s
# LLVM: 14 22

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        callq   from_b@PLT
        .globl  call_weak_a
call_weak_a:
        callq   weak_fn@PLT
        .size   call_weak_a, .-call_weak_a
        .globl  call_override_a
call_override_a:
        callq   override_fn@PLT
        .size   call_override_a, .-call_override_a
        .globl  load_missing
load_missing:
        movq    missing_var@GOTPCREL(%rip), %rax
        .size   load_missing, .-load_missing
        retq
        .size   main, .-main

# weak_fn: both objects define it weakly; this object's (returning 1) wins.
# jitlink-check: decode_operand(call_weak_a, 0) = weak_fn - next_pc(call_weak_a)
# jitlink-check: decode_operand(call_weak_b, 0) = weak_fn - next_pc(call_weak_b)
# jitlink-check: *{4}(weak_fn + 1) = 1
        .weak   weak_fn
        .type   weak_fn,@function
weak_fn:
        movl    $1, %eax
        retq
        .size   weak_fn, .-weak_fn

# override_fn: weak here, strong in weak_b.o; the strong one (returning 2) wins.
# jitlink-check: decode_operand(call_override_a, 0) = override_fn - next_pc(call_override_a)
# jitlink-check: *{4}(override_fn + 1) = 2
        .weak   override_fn
        .type   override_fn,@function
override_fn:
        movl    $1, %eax
        retq
        .size   override_fn, .-override_fn

# missing_var: weakly referenced, defined nowhere: the GOT slot holds 0 (a mov through the
# GOT to address 0 is relaxed to a lea of 0, which is in range of the slab).
# jitlink-check: *{8}(got_addr(weak.o, missing_var)) = 0
        .weak   missing_var
