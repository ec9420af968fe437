// cxx_terminate.cpp - an exception nobody catches: std::terminate's default (verbose) handler
// prints it on stderr and aborts the executor, as in a C++ host.
#include <cstdio>
#include <stdexcept>

int main() {
  std::printf("before the throw\n");
  std::fflush(stdout);
  throw std::logic_error("nobody catches this");
}
