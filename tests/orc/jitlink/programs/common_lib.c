/* common_lib.c - see common_main.c. */
int shared_count;
double shared_values[4];

void lib_fill(void) {
  for (int i = 0; i < 4; ++i)
    shared_values[i] = shared_count * 1.5 + i;
  shared_count += 1;
}
