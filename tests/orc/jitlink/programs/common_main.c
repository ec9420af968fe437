/* common_main.c + common_lib.c, built with -fcommon: tentative definitions of the same names in
   both objects become one zero-initialised variable each. */
#include <stdio.h>

int shared_count;   /* common */
double shared_values[4]; /* common */
extern void lib_fill(void);

int main(void) {
  shared_count = 3;
  lib_fill();
  printf("count=%d values=%g,%g,%g,%g\n", shared_count, shared_values[0], shared_values[1],
         shared_values[2], shared_values[3]);
  return shared_count; /* 4 */
}
