# GOT loads and their relaxation. Every GOTPCREL-style relocation gets a GOT slot (one per
# target, shared). A mov (8B) through REX_GOTPCRELX or GOTPCRELX whose target is within
# +-2 GiB becomes a lea (8D) of the target; other instructions (add, test) and plain GOTPCREL
# are never rewritten; far targets keep the load through the slot. GOTPCREL with addend -5
# (cmpq $0, w@GOTPCREL(%rip)) keeps its addend.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs far_data=0x7fff00002000 -abs far_fn=0x7fff00003000
# LLVM: 14 22

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

# movq near_data@GOTPCREL(%rip), %rax (REX_GOTPCRELX), near: becomes leaq near_data(%rip).
# jitlink-check: *{1}(mov_near + 1) = 0x8d
# jitlink-check: decode_operand(mov_near, 4) = near_data - next_pc(mov_near)
# jitlink-check: *{8}(got_addr(got_relaxation.o, near_data)) = near_data
        .globl  mov_near
        .type   mov_near,@function
mov_near:
        movq    near_data@GOTPCREL(%rip), %rax
        .size   mov_near, .-mov_near

# movl near_data@GOTPCREL(%rip), %eax (GOTPCRELX, no REX prefix), near: becomes a lea too.
# jitlink-check: *{1}movl_near = 0x8d
# jitlink-check: decode_operand(movl_near, 4) = near_data - next_pc(movl_near)
        .globl  movl_near
        .type   movl_near,@function
movl_near:
        movl    near_data@GOTPCREL(%rip), %eax
        .size   movl_near, .-movl_near

# movq far_data@GOTPCREL(%rip), %rax, far: stays a load through the slot.
# jitlink-check: *{1}(mov_far + 1) = 0x8b
# jitlink-check: decode_operand(mov_far, 4) = got_addr(got_relaxation.o, far_data) - next_pc(mov_far)
# jitlink-check: *{8}(got_addr(got_relaxation.o, far_data)) = far_data
        .globl  mov_far
        .type   mov_far,@function
mov_far:
        movq    far_data@GOTPCREL(%rip), %rax
        .size   mov_far, .-mov_far

# addq near_data@GOTPCREL(%rip), %rax: never relaxed, reads the slot (shared with mov_near).
# jitlink-check: *{1}(add_near + 1) = 0x03
# jitlink-check: decode_operand(add_near, 5) = got_addr(got_relaxation.o, near_data) - next_pc(add_near)
        .globl  add_near
        .type   add_near,@function
add_near:
        addq    near_data@GOTPCREL(%rip), %rax
        .size   add_near, .-add_near

# testq %rax, near_data@GOTPCREL(%rip): never relaxed either.
# jitlink-check: *{1}(test_near + 1) = 0x85
# jitlink-check: decode_operand(test_near, 3) = got_addr(got_relaxation.o, near_data) - next_pc(test_near)
        .globl  test_near
        .type   test_near,@function
test_near:
        testq   %rax, near_data@GOTPCREL(%rip)
        .size   test_near, .-test_near

# A plain R_X86_64_GOTPCREL on a mov is not relaxable: it loads through the slot.
# jitlink-check: *{1}(mov_plain + 1) = 0x8b
# jitlink-check: decode_operand(mov_plain, 4) = got_addr(got_relaxation.o, near_data) - next_pc(mov_plain)
        .globl  mov_plain
        .type   mov_plain,@function
mov_plain:
        .reloc  . + 3, R_X86_64_GOTPCREL, near_data - 4
        movq    0(%rip), %rax
        .size   mov_plain, .-mov_plain

# cmpq $0, weak_ref@GOTPCREL(%rip): GOTPCREL with addend -5 (an imm8 follows the field);
# nobody defines weak_ref, so its slot holds 0.
# jitlink-check: decode_operand(cmp_weak, 3) = got_addr(got_relaxation.o, weak_ref) - next_pc(cmp_weak)
# jitlink-check: *{8}(got_addr(got_relaxation.o, weak_ref)) = 0
        .weak   weak_ref
        .globl  cmp_weak
        .type   cmp_weak,@function
cmp_weak:
        cmpq    $0, weak_ref@GOTPCREL(%rip)
        .size   cmp_weak, .-cmp_weak

# call/jmp *far_fn@GOTPCREL(%rip) (GOTPCRELX) to a target above 4 GiB: left alone.
# jitlink-check: *{2}call_far = 0x15ff
# jitlink-check: decode_operand(call_far, 3) = got_addr(got_relaxation.o, far_fn) - next_pc(call_far)
# jitlink-check: *{2}jmp_far = 0x25ff
# jitlink-check: decode_operand(jmp_far, 3) = got_addr(got_relaxation.o, far_fn) - next_pc(jmp_far)
# jitlink-check: *{8}(got_addr(got_relaxation.o, far_fn)) = far_fn
        .globl  call_far
        .type   call_far,@function
call_far:
        callq   *far_fn@GOTPCREL(%rip)
        .size   call_far, .-call_far
        .globl  jmp_far
        .type   jmp_far,@function
jmp_far:
        jmpq    *far_fn@GOTPCREL(%rip)
        .size   jmp_far, .-jmp_far

        .data
        .globl  near_data
        .p2align 3
        .type   near_data,@object
near_data:
        .quad   42
        .size   near_data, 8
