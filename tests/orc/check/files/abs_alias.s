# -abs NAME=ADDR defines an absolute symbol (14 calls the option -define-abs); -alias
# ALIAS=ALIASEE makes ALIAS resolve to whatever ALIASEE resolves to (22 only: 14 has no
# -alias). References to either behave like references to any external symbol.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs target_abs=0x10200000 -abs far_abs=0x7fff00005000
# RUN-ARGS: -alias alias_fn=real_fn -alias alias_abs=target_abs
# LLVM: 22
# LLVM-14-FAILS: alias

# An absolute symbol is a registered name for checks; its references resolve to it.
# jitlink-check: target_abs = 0x10200000
# jitlink-check: *{8}data_ptrs = target_abs
# jitlink-check: *{8}(data_ptrs + 8) = far_abs
# Aliases resolve to their aliasee: a defined function, and an absolute symbol.
# jitlink-check: decode_operand(call_alias, 0) = real_fn - next_pc(call_alias)
# jitlink-check: *{8}(data_ptrs + 16) = target_abs
# jitlink-check: *{8}(data_ptrs + 24) = real_fn

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        .globl  call_alias
call_alias:
        callq   alias_fn@PLT
        .size   call_alias, .-call_alias
        retq
        .size   main, .-main

        .globl  real_fn
        .type   real_fn,@function
real_fn:
        retq
        .size   real_fn, .-real_fn

        .data
        .globl  data_ptrs
        .p2align 3
data_ptrs:
        .quad   target_abs
        .quad   far_abs
        .quad   alias_abs
        .quad   alias_fn
        .size   data_ptrs, 32
