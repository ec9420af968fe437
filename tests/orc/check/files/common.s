# Common symbols (-fcommon tentative definitions, SHN_COMMON): each becomes a zero-filled,
# weak definition of its size and alignment; GOT entries to it work; between two commons the
# first object's wins, and an initialized (strong) definition beats a common one.
# (The first rules follow LLVM's own ELF_common_var.s.)
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-WITH: common_b.s
# LLVM: 14 22

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        callq   from_common_b@PLT
        retq
        .size   main, .-main

# A plain GOTPCREL load (not relaxable) of a common symbol.
# jitlink-check: decode_operand(load_common, 4) = \
# jitlink-check:   got_addr(common.o, common_data) - next_pc(load_common)
# jitlink-check: *{8}(got_addr(common.o, common_data)) = common_data
        .globl  load_common
        .type   load_common,@function
load_common:
        .reloc  . + 2, R_X86_64_GOTPCREL, common_data - 4
        movl    0(%rip), %eax
        .size   load_common, .-load_common

# The common symbol is zero-filled and aligned as declared.
# jitlink-check: *{4}common_data = 0
# jitlink-check: common_data[4:0] = 0
        .comm   common_data, 16, 32

# shared_common: common here and in common_b.o; both objects use this one.
# jitlink-check: decode_operand(lea_shared_b, 4) = shared_common - next_pc(lea_shared_b)
        .comm   shared_common, 8, 8

# beaten_common: common here, initialized (strong) in common_b.o, which wins.
# jitlink-check: *{4}beaten_common = 0x5a5a
        .comm   beaten_common, 4, 4
