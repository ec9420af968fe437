// cxx_iostreams.cpp - the standard streams before any initializer of the program ran: without
// the ORC runtime JIT'd code's own std::ios_base::Init never runs, so cout/cin/cerr/clog and the
// wide streams must already be constructed by the host, and flushed by it at exit.
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <string>

int main() {
  std::cout << "cout: " << 42 << ' ' << std::hex << 255 << std::dec << ' ' << std::fixed
            << std::setprecision(3) << 3.14159 << std::endl;
  std::printf("printf between cout lines\n");  // synced with stdio: stays in order
  std::cout << std::setw(8) << std::left << "left" << '|' << std::setw(8) << std::right
            << "right" << "|\n";
  std::wcout << L"wcout: " << 7 << L" wide" << std::endl;
  std::cerr << "cerr line" << std::endl;
  std::clog << "clog line\n";
  std::string line;
  int lines = 0;
  while (std::getline(std::cin, line))
    std::cout << "cin[" << lines++ << "]: " << line << '\n';
  std::cout << "cin lines: " << lines << ", eof: " << std::cin.eof() << '\n';
  std::cout << "no newline at the end, flushed at exit";
  return 3;
}
