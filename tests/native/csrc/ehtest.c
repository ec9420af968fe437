/* A small library whose .eh_frame the eh-frame registration test copies. */
int eh_scaled(int x) { return x * 3 + 1; }
int eh_caller(int x) { return eh_scaled(x) + 2; }
