// cxx_host_state.cpp - the process state a C++ host gives its code: signal dispositions and
// mask, the C locale and the environment's LC_CTYPE, and C stdio buffering.
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <stdio_ext.h>

int main() {
  for (int number = 1; number < 32; ++number) {
    struct sigaction action;
    sigaction(number, nullptr, &action);
    if (action.sa_handler != SIG_DFL)
      std::printf("signal %d: %s\n", number, action.sa_handler == SIG_IGN ? "ignored" : "caught");
  }
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  for (int number = 1; number < 65; ++number)
    if (sigismember(&mask, number))
      std::printf("signal %d: blocked\n", number);
  std::printf("locale: %s\n", std::setlocale(LC_ALL, nullptr));
  const char *ctype = std::getenv("LC_CTYPE");
  std::printf("LC_CTYPE: %s\n", ctype ? ctype : "(unset)");
  int c = std::getchar();
  std::printf("stdin: read %d, line buffered %d, buffer %zu\n", c, __flbf(stdin), __fbufsize(stdin));
  std::printf("stdout: line buffered %d, buffer %zu\n", __flbf(stdout), __fbufsize(stdout));
  return 0;
}
