# relocs.s - one of every relocation type the linker supports, for reading and fixed-address
# checks (tests/orc/jitlink/test_relocations.py). Assembled with llvm-mc 14 and 22.
        .text
        .globl  main
        .type   main,@function
        .p2align 4
main:
        callq   ext_fn                            # R_X86_64_PLT32 ext_fn-4 (external: stub)
        callq   local_fn                          # R_X86_64_PLT32 local_fn-4 (defined: direct)
        movq    ext_var@GOTPCREL(%rip), %rax      # R_X86_64_REX_GOTPCRELX ext_var-4
        movl    ext_var@GOTPCREL(%rip), %eax      # R_X86_64_GOTPCRELX ext_var-4
        callq   *ext_fn@GOTPCREL(%rip)            # R_X86_64_GOTPCRELX ext_fn-4
        cmpq    $0, weak_ref@GOTPCREL(%rip)       # R_X86_64_GOTPCREL weak_ref-5 (weak, undefined: 0)
        leaq    data_obj(%rip), %rax              # R_X86_64_PC32 data_obj-4
        addq    local_fn@GOTPCREL(%rip), %rax     # R_X86_64_REX_GOTPCRELX (add: never relaxed)
        leaq    _GLOBAL_OFFSET_TABLE_(%rip), %rbx # R_X86_64_GOTPC32 _GLOBAL_OFFSET_TABLE_-4
        movabsq $data_obj@GOTOFF, %rcx            # R_X86_64_GOTOFF64 data_obj
        movabsq $ext_var@GOT, %rdx                # R_X86_64_GOT64 ext_var
        retq
        .size   main, .-main

        .type   local_fn,@function
local_fn:
        jmp     *ext_fn@GOTPCREL(%rip)            # R_X86_64_GOTPCRELX ext_fn-4 (jmp form)
        .size   local_fn, .-local_fn

        .data
        .p2align 3
        .globl  data_obj
        .type   data_obj,@object
data_obj:
        .quad   0x1122334455667788
        .size   data_obj, 8
fields:
        .reloc  fields+0, R_X86_64_64, ext_var+16
        .quad   0
        .reloc  fields+8, R_X86_64_PC64, data_obj-8
        .quad   0
        .reloc  fields+16, R_X86_64_GOTPCREL64, ext_var+2
        .quad   0
        .reloc  fields+24, R_X86_64_GOTPC64, _GLOBAL_OFFSET_TABLE_+24
        .quad   0
        .reloc  fields+32, R_X86_64_SIZE64, data_obj+1
        .quad   0
        .reloc  fields+40, R_X86_64_SIZE32, data_obj+16
        .long   0
        .reloc  fields+44, R_X86_64_PC32, data_obj+44
        .long   0
        .reloc  fields+48, R_X86_64_PC16, fields+48
        .short  0
        .reloc  fields+50, R_X86_64_PC8, fields+50
        .byte   0
        .reloc  fields+51, R_X86_64_NONE, data_obj
        .byte   0
        .reloc  fields+52, R_X86_64_32, low_abs+4
        .long   0
        .reloc  fields+56, R_X86_64_32S, low_abs-4
        .long   0
        .reloc  fields+60, R_X86_64_16, low_abs+2
        .short  0
        .reloc  fields+62, R_X86_64_8, low_abs-0x1200
        .byte   0
        .byte   0
        .globl  low_abs
        .set    low_abs, 0x1234
        .weak   weak_ref
        .section .note.GNU-stack,"",@progbits
