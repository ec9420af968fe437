/* exit_code.c - JIT'd code calls exit(): stdio is flushed and the status is exit's. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("before exit");
  exit(3);
}
