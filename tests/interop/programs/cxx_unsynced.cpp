// cxx_unsynced.cpp - std::cout with its own buffer (sync_with_stdio(false)) and C stdio: at exit
// a C++ host flushes the standard streams (~ios_base::Init) before C stdio, so the cout line
// comes first although it was written last.
#include <cstdio>
#include <iostream>

int main() {
  std::ios::sync_with_stdio(false);
  std::printf("printf, written first\n");
  std::cout << "unsynced cout, written last\n";
  return 4;
}
