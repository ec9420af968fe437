# decode_operand numbers an instruction's operands as LLVM's MCInst does (registers, five
# operands per memory reference, tied sources, implicit accumulators, condition codes), and
# next_pc is the address after the instruction. None of these instructions is relocated, so
# every value is the one in the encoding. (Where LLVM 14 and 22 differ, orcrt follows 22:
# decode_operand_bsf.s.)
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: 14 22

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main


# Load: destination, then base, scale, index, displacement, segment.
# jitlink-check: decode_operand(mov_load, 2) = 1
# jitlink-check: decode_operand(mov_load, 4) = 0x1234
        .globl  mov_load
mov_load:
        movq 0x1234(%rip), %rax
        .size   mov_load, .-mov_load

# Two-address form: the destination's tied source comes second.
# jitlink-check: decode_operand(add_load, 3) = 1
# jitlink-check: decode_operand(add_load, 5) = 0x1234
        .globl  add_load
add_load:
        addq 0x1234(%rip), %rax
        .size   add_load, .-add_load

# Compare: no destination, no tie.
# jitlink-check: decode_operand(cmp_load, 2) = 1
# jitlink-check: decode_operand(cmp_load, 4) = 0x1234
        .globl  cmp_load
cmp_load:
        cmpq 0x1234(%rip), %rax
        .size   cmp_load, .-cmp_load

# jitlink-check: decode_operand(lea_rip, 2) = 1
# jitlink-check: decode_operand(lea_rip, 4) = 0x1234
        .globl  lea_rip
lea_rip:
        leaq 0x1234(%rip), %rcx
        .size   lea_rip, .-lea_rip

# Store: the memory operand first.
# jitlink-check: decode_operand(mov_store, 1) = 1
# jitlink-check: decode_operand(mov_store, 3) = 0x1234
        .globl  mov_store
mov_store:
        movq %rax, 0x1234(%rip)
        .size   mov_store, .-mov_store

# jitlink-check: decode_operand(add_store, 1) = 1
# jitlink-check: decode_operand(add_store, 3) = 0x1234
        .globl  add_store
add_store:
        addq %rax, 0x1234(%rip)
        .size   add_store, .-add_store

# jitlink-check: decode_operand(inc_mem, 1) = 1
# jitlink-check: decode_operand(inc_mem, 3) = 0x1234
        .globl  inc_mem
inc_mem:
        incq 0x1234(%rip)
        .size   inc_mem, .-inc_mem

# Indirect call and jump through memory.
# jitlink-check: decode_operand(call_mem, 1) = 1
# jitlink-check: decode_operand(call_mem, 3) = 0x1234
        .globl  call_mem
call_mem:
        callq *0x1234(%rip)
        .size   call_mem, .-call_mem

# jitlink-check: decode_operand(jmp_mem, 1) = 1
# jitlink-check: decode_operand(jmp_mem, 3) = 0x1234
        .globl  jmp_mem
jmp_mem:
        jmpq *0x1234(%rip)
        .size   jmp_mem, .-jmp_mem

# Memory and immediate.
# jitlink-check: decode_operand(cmp_mem_imm8, 1) = 1
# jitlink-check: decode_operand(cmp_mem_imm8, 3) = 0x1234
# jitlink-check: decode_operand(cmp_mem_imm8, 5) = 0
        .globl  cmp_mem_imm8
cmp_mem_imm8:
        cmpq $0, 0x1234(%rip)
        .size   cmp_mem_imm8, .-cmp_mem_imm8

# jitlink-check: decode_operand(test_mem_imm32, 3) = 0x1234
# jitlink-check: decode_operand(test_mem_imm32, 5) = 0x12345
        .globl  test_mem_imm32
test_mem_imm32:
        testl $0x12345, 0x1234(%rip)
        .size   test_mem_imm32, .-test_mem_imm32

# Three operands: no tie.
# jitlink-check: decode_operand(imul_three, 2) = 1
# jitlink-check: decode_operand(imul_three, 4) = 0x1234
# jitlink-check: decode_operand(imul_three, 6) = 1000
        .globl  imul_three
imul_three:
        imulq $1000, 0x1234(%rip), %rax
        .size   imul_three, .-imul_three

# cmov: a tied source, and the condition code last (ne = 5).
# jitlink-check: decode_operand(cmov_load, 3) = 1
# jitlink-check: decode_operand(cmov_load, 5) = 0x1234
# jitlink-check: decode_operand(cmov_load, 7) = 5
        .globl  cmov_load
cmov_load:
        cmovneq 0x1234(%rip), %rax
        .size   cmov_load, .-cmov_load

# jitlink-check: decode_operand(setne_mem, 1) = 1
# jitlink-check: decode_operand(setne_mem, 3) = 0x1234
# jitlink-check: decode_operand(setne_mem, 5) = 5
        .globl  setne_mem
setne_mem:
        setne 0x1234(%rip)
        .size   setne_mem, .-setne_mem

# SSE two-address form ties; the AVX three-address form does not.
# jitlink-check: decode_operand(sse_two_address, 3) = 1
# jitlink-check: decode_operand(sse_two_address, 5) = 0x1234
        .globl  sse_two_address
sse_two_address:
        addss 0x1234(%rip), %xmm0
        .size   sse_two_address, .-sse_two_address

# jitlink-check: decode_operand(avx_three_address, 3) = 1
# jitlink-check: decode_operand(avx_three_address, 5) = 0x1234
        .globl  avx_three_address
avx_three_address:
        vaddss 0x1234(%rip), %xmm1, %xmm0
        .size   avx_three_address, .-avx_three_address

# jitlink-check: decode_operand(pinsrw_imm, 5) = 0x1234
# jitlink-check: decode_operand(pinsrw_imm, 7) = 2
        .globl  pinsrw_imm
pinsrw_imm:
        pinsrw $2, 0x1234(%rip), %xmm0
        .size   pinsrw_imm, .-pinsrw_imm

# jitlink-check: decode_operand(movzx_load, 2) = 1
# jitlink-check: decode_operand(movzx_load, 4) = 0x1234
        .globl  movzx_load
movzx_load:
        movzbl 0x1234(%rip), %eax
        .size   movzx_load, .-movzx_load

# xchg with memory: the register (twice), then the memory operand.
# jitlink-check: decode_operand(xchg_mem, 3) = 1
# jitlink-check: decode_operand(xchg_mem, 5) = 0x1234
        .globl  xchg_mem
xchg_mem:
        xchgq %rax, 0x1234(%rip)
        .size   xchg_mem, .-xchg_mem

# Segment override and SIB addressing.
# jitlink-check: decode_operand(fs_load, 2) = 1
# jitlink-check: decode_operand(fs_load, 4) = 0x10
        .globl  fs_load
fs_load:
        movq %fs:0x10, %rax
        .size   fs_load, .-fs_load

# jitlink-check: decode_operand(sib_load, 2) = 4
# jitlink-check: decode_operand(sib_load, 4) = 0x10
        .globl  sib_load
sib_load:
        movl 0x10(%rax,%rbx,4), %ecx
        .size   sib_load, .-sib_load

# jitlink-check: decode_operand(nop_mem, 1) = 1
# jitlink-check: decode_operand(nop_mem, 3) = 0x100
        .globl  nop_mem
nop_mem:
        nopw 0x100(%rax,%rax)
        .size   nop_mem, .-nop_mem

# 64-bit immediate, and movabs with a 64-bit address (offset, segment).
# jitlink-check: decode_operand(movabs_imm, 1) = 0x1122334455667788
        .globl  movabs_imm
movabs_imm:
        movabsq $0x1122334455667788, %rax
        .size   movabs_imm, .-movabs_imm

# jitlink-check: decode_operand(movabs_moffs, 0) = 0x1122334455667788
        .globl  movabs_moffs
movabs_moffs:
        movabsq 0x1122334455667788, %rax
        .size   movabs_moffs, .-movabs_moffs

# Immediates: imm8 of signed forms sign-extends to 64 bits; imm16/imm32 of 16/32-bit forms do not.
# jitlink-check: decode_operand(add_imm8_neg, 2) = 0xffffffffffffffff
        .globl  add_imm8_neg
add_imm8_neg:
        addq $-1, %rax
        .size   add_imm8_neg, .-add_imm8_neg

# jitlink-check: decode_operand(and_imm8, 2) = 0xfffffffffffffff0
        .globl  and_imm8
and_imm8:
        andl $0xfffffff0, %ecx
        .size   and_imm8, .-and_imm8

# jitlink-check: decode_operand(add_imm8_pos, 2) = 0x7f
        .globl  add_imm8_pos
add_imm8_pos:
        addl $0x7f, %eax
        .size   add_imm8_pos, .-add_imm8_pos

# jitlink-check: decode_operand(mov_imm32, 1) = 0xffffffff
        .globl  mov_imm32
mov_imm32:
        movl $0xffffffff, %eax
        .size   mov_imm32, .-mov_imm32

# jitlink-check: decode_operand(mov_imm32_sext, 1) = 0xffffffffffffffff
        .globl  mov_imm32_sext
mov_imm32_sext:
        movq $-1, %rax
        .size   mov_imm32_sext, .-mov_imm32_sext

# jitlink-check: decode_operand(movb_mem_imm, 5) = 0xfffffffffffffffe
        .globl  movb_mem_imm
movb_mem_imm:
        movb $-2, 0x1234(%rip)
        .size   movb_mem_imm, .-movb_mem_imm

# jitlink-check: decode_operand(movw_mem_imm, 5) = 0xfffe
        .globl  movw_mem_imm
movw_mem_imm:
        movw $0xfffe, 0x1234(%rip)
        .size   movw_mem_imm, .-movw_mem_imm

# Unsigned imm8 forms: shifts, bt, int, out, enter, ret.
# jitlink-check: decode_operand(shl_imm, 2) = 3
        .globl  shl_imm
shl_imm:
        shlq $3, %rax
        .size   shl_imm, .-shl_imm

# jitlink-check: decode_operand(bt_imm, 3) = 0x1234
# jitlink-check: decode_operand(bt_imm, 5) = 5
        .globl  bt_imm
bt_imm:
        btq $5, 0x1234(%rip)
        .size   bt_imm, .-bt_imm

# jitlink-check: decode_operand(int_imm, 0) = 0x80
        .globl  int_imm
int_imm:
        int $0x80
        .size   int_imm, .-int_imm

# jitlink-check: decode_operand(out_imm, 0) = 0x80
        .globl  out_imm
out_imm:
        outb %al, $0x80
        .size   out_imm, .-out_imm

# jitlink-check: decode_operand(enter_imms, 0) = 0x1000
# jitlink-check: decode_operand(enter_imms, 1) = 2
        .globl  enter_imms
enter_imms:
        enter $0x1000, $2
        .size   enter_imms, .-enter_imms

# jitlink-check: decode_operand(ret_imm, 0) = 8
        .globl  ret_imm
ret_imm:
        retq $8
        .size   ret_imm, .-ret_imm

# jitlink-check: decode_operand(push_imm, 0) = 0x10
        .globl  push_imm
push_imm:
        pushq $0x10
        .size   push_imm, .-push_imm

# Accumulator forms leave al/eax/rax implicit.
# jitlink-check: decode_operand(acc_cmp_imm32, 0) = 0x80000000
        .globl  acc_cmp_imm32
acc_cmp_imm32:
        cmpl $0x80000000, %eax
        .size   acc_cmp_imm32, .-acc_cmp_imm32

# jitlink-check: decode_operand(acc_add_imm8, 0) = 0xfffffffffffffff0
        .globl  acc_add_imm8
acc_add_imm8:
        addb $0xf0, %al
        .size   acc_add_imm8, .-acc_add_imm8

# Branches (the 2-byte rel8 forms here): the operand is the displacement from the next
# instruction; jcc adds its condition code. next_pc is the address after the instruction
# (1 byte for a lone lock prefix, which LLVM decodes as an instruction of its own).
# jitlink-check: decode_operand(jne_back, 0) = (jne_back - 0x30) - next_pc(jne_back)
# jitlink-check: decode_operand(jne_back, 1) = 5
# jitlink-check: next_pc(jne_back) = jne_back + 2
# jitlink-check: decode_operand(jmp_short, 0) = (jmp_short - 0x30) - next_pc(jmp_short)
# jitlink-check: next_pc(jmp_short) = jmp_short + 2
# jitlink-check: decode_operand(jrcxz_self, 0) = jrcxz_self - next_pc(jrcxz_self)
# jitlink-check: next_pc(mov_load) = mov_load + 7
# jitlink-check: next_pc(movabs_imm) = movabs_imm + 10
# jitlink-check: next_pc(lock_add) = lock_add + 1
# jitlink-check: decode_operand(lock_add + 1, 1) = 1
# jitlink-check: decode_operand(lock_add + 1, 3) = 0x1234
        .globl  jne_back
jne_back:
        jne     .-0x30
        .size   jne_back, .-jne_back
        .globl  jmp_short
jmp_short:
        jmp     .-0x30
        .size   jmp_short, .-jmp_short
        .globl  jrcxz_self
jrcxz_self:
        jrcxz   .
        .size   jrcxz_self, .-jrcxz_self
        .globl  lock_add
lock_add:
        lock addq %rax, 0x1234(%rip)
        .size   lock_add, .-lock_add
