# R_X86_64_PLT32 calls and the stubs behind them: a call to a function of the same object is
# direct (no stub); a call to anything else gets a stub (jmp *slot(%rip)) and a GOT slot, and
# is bypassed when the target is within +-2 GiB of the call; the addend applies to the stub or
# the target; a weakly referenced function nobody defines has a GOT slot holding 0.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs near_fn=0x10100000 -abs far_fn=0x7fff00001000
# LLVM: 14 22

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

        .type   local_fn,@function
local_fn:
        retq
        .size   local_fn, .-local_fn

# A call to a function defined here (even a local one) needs no stub.
# jitlink-check: decode_operand(call_local, 0) = local_fn - next_pc(call_local)
        .globl  call_local
        .type   call_local,@function
call_local:
        callq   local_fn@PLT
        .size   call_local, .-call_local

# A call to a near external: the stub exists, the call goes around it.
# jitlink-check: decode_operand(call_near, 0) = near_fn - next_pc(call_near)
# jitlink-check: *{2}(stub_addr(plt_stubs.o, near_fn)) = 0x25ff
# jitlink-check: *{8}(got_addr(plt_stubs.o, near_fn)) = near_fn
        .globl  call_near
        .type   call_near,@function
call_near:
        callq   near_fn@PLT
        .size   call_near, .-call_near

# A call to a far external goes through the stub, which jumps through the GOT slot.
# jitlink-check: decode_operand(call_far, 0) = stub_addr(plt_stubs.o, far_fn) - next_pc(call_far)
# jitlink-check: *{2}(stub_addr(plt_stubs.o, far_fn)) = 0x25ff
# jitlink-check: *{4}(stub_addr(plt_stubs.o, far_fn) + 2) = \
# jitlink-check:     (got_addr(plt_stubs.o, far_fn) - (stub_addr(plt_stubs.o, far_fn) + 6))[31:0]
# jitlink-check: *{8}(got_addr(plt_stubs.o, far_fn)) = far_fn
        .globl  call_far
        .type   call_far,@function
call_far:
        callq   far_fn@PLT
        .size   call_far, .-call_far

# A tail call (jmp) through PLT32 is relocated the same way.
# jitlink-check: decode_operand(jmp_far, 0) = stub_addr(plt_stubs.o, far_fn) - next_pc(jmp_far)
        .globl  jmp_far
        .type   jmp_far,@function
jmp_far:
        jmp     far_fn@PLT
        .size   jmp_far, .-jmp_far

# PLT32 with an addend other than -4: L + A - P, with L the target (near) or the stub (far).
# jitlink-check: decode_operand(call_near_addend, 0) = (near_fn + 0x100) - next_pc(call_near_addend)
# jitlink-check: decode_operand(call_far_addend, 0) = \
# jitlink-check:     (stub_addr(plt_stubs.o, far_fn) + 0x100) - next_pc(call_far_addend)
        .globl  call_near_addend
        .type   call_near_addend,@function
call_near_addend:
        .byte   0xe8
        .reloc  ., R_X86_64_PLT32, near_fn + 0xfc
        .long   0
        .size   call_near_addend, .-call_near_addend
        .globl  call_far_addend
        .type   call_far_addend,@function
call_far_addend:
        .byte   0xe8
        .reloc  ., R_X86_64_PLT32, far_fn + 0xfc
        .long   0
        .size   call_far_addend, .-call_far_addend

# A weak reference nobody defines resolves to 0: its GOT slot holds 0.
# jitlink-check: *{8}(got_addr(plt_stubs.o, weak_missing)) = 0
        .weak   weak_missing
        .globl  call_weak
        .type   call_weak,@function
call_weak:
        callq   weak_missing@PLT
        .size   call_weak, .-call_weak
