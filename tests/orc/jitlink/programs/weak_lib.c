/* weak_lib.c - see weak_main.c. */
int overridden(void) { return 2; }
__attribute__((weak)) int both_weak(void) { return 20; }
int weak_value = 6;
int lib_both_weak(void) { return both_weak(); }
