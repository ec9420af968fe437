/* weak_main.c + weak_lib.c - weak vs strong definitions, weak in both objects (first wins),
   and weak undefined references that nobody defines (they are NULL). */
#include <stdio.h>

__attribute__((weak)) int overridden(void) { return 1; } /* weak_lib.c has a strong one: 2 */
__attribute__((weak)) int both_weak(void) { return 10; } /* weak_lib.c: 20; first object wins */
__attribute__((weak)) int weak_value = 5;                 /* weak_lib.c: strong 6 */
extern int missing_fn(void) __attribute__((weak));
extern int missing_var __attribute__((weak));
extern int lib_both_weak(void);

int main(void) {
  printf("overridden=%d both_weak=%d lib_sees=%d weak_value=%d\n", overridden(), both_weak(),
         lib_both_weak(), weak_value);
  printf("missing_fn=%s missing_var=%s\n", missing_fn ? "present" : "null",
         &missing_var ? "present" : "null");
  return overridden() + both_weak() + weak_value; /* 2 + 10 + 6 = 18 */
}
