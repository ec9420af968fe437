# stub_addr's third argument (LLVM 22): a regular expression the stub's kind must match,
# needed on targets with several stub kinds per symbol. Every x86-64 stub has the kind ""
# (LLVM's detectStubKind knows only ARM kinds), so ".*" and "" find the one stub and "thumb"
# finds none. LLVM 14's checker takes two arguments only.
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# RUN-ARGS: -abs far_fn=0x7fff00006000
# LLVM: 22
# LLVM-14-FAILS: expected ')'

# jitlink-check: stub_addr(stub_kind.o, far_fn, .*) = stub_addr(stub_kind.o, far_fn)
# jitlink-check: stub_addr(stub_kind.o, far_fn, ^$) = section_addr(stub_kind.o, $__STUBS)
# jitlink-check: decode_operand(main, 0) = stub_addr(stub_kind.o, far_fn, .*) - next_pc(main)

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        callq   far_fn@PLT
        retq
        .size   main, .-main
