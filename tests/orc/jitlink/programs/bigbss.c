/* bigbss.c - a large zero-filled .bss (64 MiB) next to initialised data. */
#include <stdio.h>

static char big[64 << 20];
int initialised = 9;

int main(void) {
  unsigned long sum = 0;
  for (unsigned long i = 0; i < sizeof big; i += 4096)
    sum += (unsigned char)big[i];
  big[0] = 1;
  big[sizeof big - 1] = 2;
  printf("sum=%lu first=%d last=%d\n", sum, big[0], big[sizeof big - 1]);
  return initialised + big[0] + big[sizeof big - 1]; /* 12 */
}
