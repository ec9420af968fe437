// cxx_main.cpp + cxx_lib.cpp - virtual dispatch across objects, templates and inline functions
// instantiated in both objects (COMDAT: one copy wins), an inline function's static local
// shared by both, and exceptions thrown in one object and caught in the other.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>
#include "cxx_shared.h"

int main() {
  std::vector<Shape *> shapes = {make_square(3), make_circle(2)};
  int total = 0;
  for (Shape *shape : shapes) {
    std::printf("%s area=%d\n", shape->name().c_str(), shape->area());
    total += shape->area();
    delete shape;
  }
  std::printf("twice<int>=%d twice<double>=%.1f\n", twice(21), twice(1.25));
  int first = tick();
  int second = lib_tick();
  int third = tick();
  std::printf("ticks=%d,%d,%d\n", first, second, third);
  try {
    lib_throw(7);
  } catch (const std::runtime_error &e) {
    std::printf("caught from lib: %s\n", e.what());
    total += 1;
  }
  try {
    lib_call_back([] { throw Oops{5}; });
  } catch (const Oops &o) {
    std::printf("caught through lib: %d\n", o.code);
    total += o.code;
  }
  return total; /* 9 + 12 + 1 + 5 = 27 */
}
