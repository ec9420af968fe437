# The large code model's GOT relocations (clang -mcmodel=large -fPIC emits these):
# R_X86_64_GOTPC64 (GOT + A - P), GOT64 (slot - GOT), GOTOFF64 (S - GOT) and GOTPCREL64
# (slot + A - P). _GLOBAL_OFFSET_TABLE_ is the start of the object's GOT.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs far_data=0x7fff00002000
# LLVM: 14 22

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

# (llvm-jitlink decodes only inside a label's .size, and knows no local symbol nothing
# points at: each instruction checked has a sized label; local_data is .data's start.)
# jitlink-check: _GLOBAL_OFFSET_TABLE_ = section_addr(got_large_model.o, $__GOT)
# jitlink-check: decode_operand(load_got_base, 1) = _GLOBAL_OFFSET_TABLE_ - large_fn
# jitlink-check: decode_operand(load_slot_offset, 1) = \
# jitlink-check:     got_addr(got_large_model.o, far_data) - _GLOBAL_OFFSET_TABLE_
# jitlink-check: *{8}(got_addr(got_large_model.o, far_data)) = far_data
# jitlink-check: decode_operand(load_gotoff, 1) = \
# jitlink-check:     section_addr(got_large_model.o, .data) - _GLOBAL_OFFSET_TABLE_
        .globl  large_fn
        .type   large_fn,@function
large_fn:
        leaq    large_fn(%rip), %rbx
        .globl  load_got_base
load_got_base:
        movabsq $_GLOBAL_OFFSET_TABLE_-large_fn, %r11
        .size   load_got_base, .-load_got_base
        addq    %r11, %rbx
        .globl  load_slot_offset
load_slot_offset:
        movabsq $far_data@GOT, %rax
        .size   load_slot_offset, .-load_slot_offset
        movq    (%rbx,%rax), %rax
        .globl  load_gotoff
load_gotoff:
        movabsq $local_data@GOTOFF, %rcx
        .size   load_gotoff, .-load_gotoff
        retq
        .size   large_fn, .-large_fn

        .data
        .p2align 3
local_data:
        .quad   7

# R_X86_64_GOTPCREL64 in data: the distance to far_data's slot, plus the addend.
# jitlink-check: *{8}gotpcrel64 = (got_addr(got_large_model.o, far_data) + 2) - gotpcrel64
        .globl  gotpcrel64
gotpcrel64:
        .reloc  ., R_X86_64_GOTPCREL64, far_data + 2
        .quad   0
