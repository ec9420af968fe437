# call/jmp *f@GOTPCREL(%rip) (R_X86_64_GOTPCRELX, -fno-plt code) to a target below 4 GiB is
# relaxed to "addr32 call f" (67 E8 rel32) and "jmp f; nop" (E9 rel32 90). The rel32 is
# PC-relative, as the psABI (GNU ld, lld) has it.
#
# Intended difference: llvm-jitlink 14 and 22 write the *absolute* target address into the
# rel32 field (jitlink-elf-x86-64.md §4.4, "Defect to avoid"), so the decode_operand rules
# below fail on both ("0xffffffffffe00000 != 0xffffffffffefefea"): LLVM's own
# ELF_got_plt_optimizations.s, which states the same rules, fails on both builds. orcrt
# passes them. The opcode rules hold for all three.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0xfff00000 -slab-page-size 4096
# RUN-ARGS: -abs extern_in_range32=0xffe00000
# LLVM: none
# LLVM-14-FAILS: is false: 0xffffffffffe00000 != 0xffffffffffefefea
# LLVM-22-FAILS: is false: 0xffffffffffe00000 != 0xffffffffffefefea

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        retq
        .size   main, .-main

# jitlink-check: *{1}test_call_gotpcrelx = 0x67
# jitlink-check: *{1}(test_call_gotpcrelx + 1) = 0xe8
# jitlink-check: decode_operand(test_call_gotpcrelx, 0) = \
# jitlink-check:     extern_in_range32 - next_pc(test_call_gotpcrelx)
        .globl  test_call_gotpcrelx
        .p2align 4, 0x90
        .type   test_call_gotpcrelx,@function
test_call_gotpcrelx:
        callq   *extern_in_range32@GOTPCREL(%rip)
        .size   test_call_gotpcrelx, .-test_call_gotpcrelx

# jitlink-check: *{1}test_jmp_gotpcrelx = 0xe9
# jitlink-check: *{1}(test_jmp_gotpcrelx + 5) = 0x90
# jitlink-check: decode_operand(test_jmp_gotpcrelx, 0) = \
# jitlink-check:     extern_in_range32 - next_pc(test_jmp_gotpcrelx)
        .globl  test_jmp_gotpcrelx
        .p2align 4, 0x90
        .type   test_jmp_gotpcrelx,@function
test_jmp_gotpcrelx:
        jmpq    *extern_in_range32@GOTPCREL(%rip)
        .size   test_jmp_gotpcrelx, .-test_jmp_gotpcrelx
