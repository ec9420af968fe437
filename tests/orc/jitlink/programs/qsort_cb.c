/* qsort_cb.c - libc calls back into JIT'd code: qsort and bsearch with JIT'd comparators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}
static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void) {
  int values[] = {42, 7, 19, 3, 25, 11};
  const char *words[] = {"pear", "apple", "fig", "banana"};
  qsort(values, 6, sizeof values[0], by_value);
  qsort(words, 4, sizeof words[0], by_name);
  for (int i = 0; i < 6; ++i)
    printf("%d ", values[i]);
  printf("| %s %s %s %s\n", words[0], words[1], words[2], words[3]);
  int key = 19;
  int *found = bsearch(&key, values, 6, sizeof values[0], by_value);
  return found ? (int)(found - values) : 99; /* index 3 */
}
