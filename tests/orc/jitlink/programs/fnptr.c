/* fnptr.c - function-pointer tables, static locals, a pointer to a pointer table. */
#include <stdio.h>

static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b; }
int (*const ops[])(int, int) = {add, sub, mul};
const char *const names[] = {"add", "sub", "mul"};
struct entry { const char *name; int (*fn)(int, int); };
static struct entry table[] = {{"mul", mul}, {"add", add}};
struct entry *table_ptr = table;

static int next_id(void) {
  static int id = 40; /* static local in .data */
  return ++id;
}

int main(int argc, char **argv) {
  (void)argv;
  for (int i = 0; i < 3; ++i)
    printf("%s(6,3)=%d\n", names[i], ops[i](6, 3));
  printf("%s via table=%d\n", table_ptr[argc - 1].name, table_ptr[argc - 1].fn(4, 5));
  next_id();
  return next_id(); /* 42 */
}
