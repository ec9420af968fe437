/* example.c - the worked example of jitlink-elf-x86-64.md §10 (clang -c -fPIC -O1; clang 14 and
   22 emit the same code). Its linked bytes at a fixed address are known from llvm-jitlink 22. */
#include <stdio.h>
int counter = 41;                            /* .data */
static int twice(int x) { return 2 * x; }    /* .text, local */
static int inc(int x) { return x + 1; }
int (*const table[])(int) = { twice, inc };  /* .data.rel.ro */
int main(int argc, char **argv) {
  (void)argv;
  counter = table[argc & 1](counter);
  printf("counter=%d\n", counter);
  return counter;
}
