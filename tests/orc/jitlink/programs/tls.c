/* tls.c - thread-local variables: refused without a TLS runtime (TLSGD/TLSLD/TPOFF32). */
__thread int tvar = 3;
static __thread int svar;
int main(void) { return tvar + svar; }
