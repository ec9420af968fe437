# .eh_frame when a function's FDE is pruned with it: the remaining records must stay one
# contiguous list, because libgcc's __register_frame walks it up to the first zero length.
# dead_fn (a local function in its own section that nothing references) is pruned; its FDE
# (0x14 bytes, at 0x2c in the object) goes with it, and live_fn's FDE (at 0x40 in the object)
# must follow main's FDE directly, at 0x2c.
#
# Intended difference: JITLink keeps each record's alignment offset (its object offset mod
# 8), so llvm-jitlink 14 and 22 put live_fn's FDE at 0x30 and leave a 4-byte zero gap at 0x2c,
# which libgcc reads as the end of the list: live_fn has no unwind info at run time. orcrt
# packs the records (the linker core's eh-frame pass), so the rules below fail on LLVM.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: none
# LLVM-14-FAILS: is false: 0x0 != 0x14
# LLVM-22-FAILS: is false: 0x0 != 0x14

# The record after main's FDE is live_fn's FDE: length 0x14, CIE pointer back to 0,
# pc-begin reaching live_fn; then the terminator.
# jitlink-check: *{4}(section_addr(eh_frame_pruned.o, .eh_frame) + 0x2c) = 0x14
# jitlink-check: *{4}(section_addr(eh_frame_pruned.o, .eh_frame) + 0x30) = 0x30
# jitlink-check: *{4}(section_addr(eh_frame_pruned.o, .eh_frame) + 0x34) = \
# jitlink-check:     (live_fn - (section_addr(eh_frame_pruned.o, .eh_frame) + 0x34))[31:0]
# jitlink-check: *{4}(section_addr(eh_frame_pruned.o, .eh_frame) + 0x44) = 0

        .text
        .globl  main
        .type   main,@function
main:
        .cfi_startproc
        xorl    %eax, %eax
        retq
        .cfi_endproc
        .size   main, .-main

        .section .text.dead,"ax",@progbits
        .type   dead_fn,@function
dead_fn:
        .cfi_startproc
        retq
        .cfi_endproc
        .size   dead_fn, .-dead_fn

        .section .text.live,"ax",@progbits
        .globl  live_fn
        .type   live_fn,@function
live_fn:
        .cfi_startproc
        pushq   %rbp
        .cfi_def_cfa_offset 16
        popq    %rbp
        .cfi_def_cfa_offset 8
        retq
        .cfi_endproc
        .size   live_fn, .-live_fn
