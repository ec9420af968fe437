/* varargs.c - a JIT'd variadic function, va_list passed on to libc (vsnprintf), and a call to
   printf with many arguments of mixed types (floating point in vector registers). */
#include <stdarg.h>
#include <stdio.h>

static int sum_ints(int count, ...) {
  va_list ap;
  va_start(ap, count);
  int total = 0;
  for (int i = 0; i < count; ++i)
    total += va_arg(ap, int);
  va_end(ap);
  return total;
}

static void say(const char *fmt, ...) {
  char buffer[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buffer, sizeof buffer, fmt, ap);
  va_end(ap);
  puts(buffer);
}

int main(void) {
  say("%s-%d-%.2f-%c", "mixed", 7, 2.5, 'x');
  printf("%d %d %d %d %d %d %d %.1f %.1f\n", 1, 2, 3, 4, 5, 6, 7, 8.5, 9.5);
  return sum_ints(5, 2, 4, 6, 8, 10); /* 30 */
}
