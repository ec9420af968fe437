# debug_sections.s with compressed debug sections (SHF_COMPRESSED: clang -g -gz; here
# llvm-mc --compress-debug-sections=zlib, with sections large enough to be compressed): they
# get no memory and do not disturb the link, in 14, 22 and orcrt.
#
# MC-ARGS: --compress-debug-sections=zlib
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: 14 22

# jitlink-check: decode_operand(main, 4) = counter - next_pc(main)
# jitlink-check: section_addr(debug_compressed.o, .text) = main

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
.Lfunc_begin0:
        movl    counter(%rip), %eax
        retq
.Lfunc_end0:
        .size   main, .-main

        .data
        .globl  counter
        .p2align 2
counter:
        .long   3
        .size   counter, 4

        .section .debug_abbrev,"",@progbits
.Labbrev:
        .byte   1, 17, 0, 0, 0
        .section .debug_info,"",@progbits
.Lcu_begin0:
        .long   .Ldebug_info_end0-.Lcu_begin0-4
        .short  4
        .long   .Labbrev
        .byte   8
        .quad   .Lfunc_begin0
        .long   .Lfunc_end0-.Lfunc_begin0
        .quad   counter
        .long   .Linfo_string0
        .zero   512
.Ldebug_info_end0:
        .section .debug_str,"MS",@progbits,1
.Linfo_string0:
        .asciz  "main"
        .fill   512, 1, 0x61
        .section .debug_line,"",@progbits
        .quad   .Lfunc_begin0
