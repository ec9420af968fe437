/* sections.c - a table built with a section attribute and walked through __start_/__stop_. */
#include <stdio.h>

struct item { const char *name; int value; };
#define ITEM(n, v) \
  static const struct item item_##n __attribute__((used, section("mytable"))) = {#n, v}
ITEM(alpha, 1);
ITEM(beta, 2);
ITEM(gamma, 4);
extern const struct item __start_mytable[], __stop_mytable[];

int main(void) {
  int total = 0;
  for (const struct item *it = __start_mytable; it < __stop_mytable; ++it)
    total += it->value;
  printf("items=%d total=%d\n", (int)(__stop_mytable - __start_mytable), total);
  return total; /* 7 */
}
