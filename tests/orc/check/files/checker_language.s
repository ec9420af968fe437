# The expression language itself, on known data: numbers (decimal, hex, octal), +, -, &, |,
# <<, >> evaluated left to right without precedence, parentheses, bit slices, 1/2/4/8-byte
# little-endian loads (whose address is everything to their right), 64-bit wrap-around,
# rules continued over several lines, and symbol names with '.' and '$'. (LLVM's quirk: a
# number swallows no blank after it, so "1 - 2" does not parse; "1-2" does.)
#
# RUN-ARGS: -slab-allocate 100Kb -slab-address 0x10000000 -slab-page-size 4096
# LLVM: 14 22

# Numbers and arithmetic (left to right: 2+3<<4 is (2+3)<<4).
# jitlink-check: 0x10 = 16
# jitlink-check: 010 = 8
# jitlink-check: 2+3<<4 = 80
# jitlink-check: 0xff00&0x0ff0 = 0x0f00
# jitlink-check: 0xf0|0x0f = 0xff
# jitlink-check: 0x100>>4 = 0x10
# jitlink-check: 1-2 = 0xffffffffffffffff
# jitlink-check: 0xffffffffffffffff+2 = 1
# jitlink-check: (1<<63)>>63 = 1
# jitlink-check: 5-(1+1) = 3
# Loads: sizes, byte order, and the address running to the end of the side.
# jitlink-check: *{1}bytes = 0x01
# jitlink-check: *{2}bytes = 0x0201
# jitlink-check: *{4}bytes = 0x04030201
# jitlink-check: *{8}bytes = 0x0807060504030201
# jitlink-check: *{1}bytes+3 = 4
# jitlink-check: (*{1}bytes)+3 = 4
# jitlink-check: *{2}(bytes + 6) = 0x0807
# jitlink-check: *{8}pointer = bytes
# Bit slices.
# jitlink-check: 0x12345678[15:8] = 0x56
# jitlink-check: (*{4}bytes)[31:24] = 4
# jitlink-check: *{4}bytes = (0x04030201)[31:0]
# Symbols and addresses.
# jitlink-check: pointer - bytes = 8
# jitlink-check: bytes + 8 = pointer
# jitlink-check: dotted.name = bytes + 16
# jitlink-check: dollar$name = bytes + 24
# jitlink-check: *{8}dotted.name = 0x1111
# A rule continued over three lines:
# jitlink-check: (*{8}dollar$name) - \
# jitlink-check:     (*{8}dotted.name) = \
# jitlink-check:     0x1111
  # jitlink-check: 1 = 1
	# jitlink-check: 2 = 2

        .text
        .globl  main
        .p2align 4, 0x90
        .type   main,@function
main:
        xorl    %eax, %eax
        retq
        .size   main, .-main

        .data
        .p2align 3
        .globl  bytes, pointer, dotted.name, dollar$name
bytes:
        .byte   1, 2, 3, 4, 5, 6, 7, 8
pointer:
        .quad   bytes
dotted.name:
        .quad   0x1111
dollar$name:
        .quad   0x2222
