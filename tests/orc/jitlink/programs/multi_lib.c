/* multi_lib.c - see multi_main.c. */
extern int is_even(unsigned n);
extern int main_counter;
int lib_counter = 7;

static int helper(void) { return 2; }
int lib_helper(void) { return helper(); }
__attribute__((visibility("hidden"))) int hidden_twice(int x) { return 2 * x + main_counter - 100; }

int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }
