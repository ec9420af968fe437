# .eh_frame after linking: split per record, each field fixed up for its new address. The
# records keep their offsets here (nothing is pruned): CIE "zR" at 0x00, the FDE of main at
# 0x18, CIE "zPLR" at 0x2c, the FDE of with_lsda at 0x4c, the 4-byte zero terminator the
# linker appends at 0x68 (offsets from llvm-dwarfdump --eh-frame of the object).
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs __gxx_personality_v0=0x7fff00004000
# LLVM: 14 22

# FDE of main: CIE pointer (distance back to its CIE), pc-begin (PC32 to main).
# jitlink-check: *{4}(section_addr(eh_frame.o, .eh_frame) + 0x1c) = 0x1c
# jitlink-check: *{4}(section_addr(eh_frame.o, .eh_frame) + 0x20) = \
# jitlink-check:     (main - (section_addr(eh_frame.o, .eh_frame) + 0x20))[31:0]
# jitlink-check: *{4}(section_addr(eh_frame.o, .eh_frame) + 0x24) = 3
# CIE "zPLR": the personality pointer (indirect, pcrel sdata4) reaches DW.ref.__gxx_personality_v0,
# whose slot holds the personality routine.
# jitlink-check: *{4}(section_addr(eh_frame.o, .eh_frame) + 0x3f) = \
# jitlink-check:     (DW.ref.__gxx_personality_v0 - (section_addr(eh_frame.o, .eh_frame) + 0x3f))[31:0]
# jitlink-check: *{8}DW.ref.__gxx_personality_v0 = __gxx_personality_v0
# FDE of with_lsda: CIE pointer, pc-begin, and the LSDA pointer into .gcc_except_table.
# jitlink-check: *{4}(section_addr(eh_frame.o, .eh_frame) + 0x50) = 0x24
# jitlink-check: *{4}(section_addr(eh_frame.o, .eh_frame) + 0x54) = \
# jitlink-check:     (with_lsda - (section_addr(eh_frame.o, .eh_frame) + 0x54))[31:0]
# jitlink-check: *{4}(section_addr(eh_frame.o, .eh_frame) + 0x5d) = \
# jitlink-check:     (lsda_table - (section_addr(eh_frame.o, .eh_frame) + 0x5d))[31:0]
# The terminator.
# jitlink-check: *{4}(section_addr(eh_frame.o, .eh_frame) + 0x68) = 0

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        .cfi_startproc
        xorl    %eax, %eax
        retq
        .cfi_endproc
        .size   main, .-main

        .globl  with_lsda
        .p2align 4, 0x90
        .type   with_lsda,@function
with_lsda:
        .cfi_startproc
        .cfi_personality 155, DW.ref.__gxx_personality_v0
        .cfi_lsda 27, .Lexception0
        pushq   %rax
        .cfi_def_cfa_offset 16
        popq    %rax
        .cfi_def_cfa_offset 8
        retq
        .size   with_lsda, .-with_lsda
        .cfi_endproc

        .section .gcc_except_table,"a",@progbits
        .p2align 2
        .globl  lsda_table
lsda_table:
.Lexception0:
        .byte   255
        .byte   255
        .byte   1
        .uleb128 0
        .size   lsda_table, 4

        .hidden DW.ref.__gxx_personality_v0
        .weak   DW.ref.__gxx_personality_v0
        .section .data.DW.ref.__gxx_personality_v0,"awG",@progbits,DW.ref.__gxx_personality_v0,comdat
        .p2align 3
        .type   DW.ref.__gxx_personality_v0,@object
        .size   DW.ref.__gxx_personality_v0, 8
DW.ref.__gxx_personality_v0:
        .quad   __gxx_personality_v0
