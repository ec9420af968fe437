/* multi_main.c + multi_lib.c - objects calling each other: mutual recursion across objects,
   shared globals both ways, a hidden function, and a static function of the same name in each. */
#include <stdio.h>

extern int is_odd(unsigned n);
extern int lib_counter;
int main_counter = 100;
__attribute__((visibility("hidden"))) int hidden_twice(int x);

static int helper(void) { return 1; } /* multi_lib.c has its own helper() returning 2 */
int main_helper(void) { return helper(); }
extern int lib_helper(void);

int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }

int main(void) {
  lib_counter += 5;
  printf("even(10)=%d odd(7)=%d\n", is_even(10), is_odd(7));
  printf("lib_counter=%d main_counter=%d\n", lib_counter, main_counter);
  printf("helpers=%d,%d hidden=%d\n", main_helper(), lib_helper(), hidden_twice(21));
  return is_even(4) + lib_counter; /* 1 + 12 = 13 */
}
