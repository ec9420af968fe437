/* initorder.c - constructors with priorities, a plain one, a .ctors.N entry, and destructors:
   the order a static linker and glibc would run them in (see _initializers.py). */
#include <stdio.h>

static char trace[16];
static int length;
static void mark(char c) { trace[length++] = c; }

__attribute__((constructor(200))) static void c200(void) { mark('b'); }
__attribute__((constructor(101))) static void c101(void) { mark('a'); }
__attribute__((constructor)) static void plain(void) { mark('c'); }
static void legacy(void) { mark('d'); }
/* .ctors.N runs with priority 65535 - N: 535, after 200 and before the plain constructor. */
__attribute__((used, section(".ctors.65000"))) static void (*const legacy_ptr)(void) = legacy;
__attribute__((destructor(101))) static void d101(void) { puts("d101"); }
__attribute__((destructor)) static void dplain(void) { puts("dplain"); }

int main(void) {
  printf("%s\n", trace);
  return length;
}
