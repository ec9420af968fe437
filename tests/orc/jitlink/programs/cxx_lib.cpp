// cxx_lib.cpp - see cxx_main.cpp.
#include <stdexcept>
#include <string>
#include "cxx_shared.h"

namespace {
struct Square : Shape {
  int side;
  explicit Square(int s) : side(s) {}
  int area() const override { return side * side; }
  std::string name() const override { return "square"; }
};
struct Circle : Shape {
  int r;
  explicit Circle(int radius) : r(radius) {}
  int area() const override { return 3 * r * r; }
  std::string name() const override { return "circle"; }
};
} // namespace

Shape::~Shape() = default;
Shape *make_square(int side) { return new Square(side); }
Shape *make_circle(int r) { return new Circle(r); }
int lib_tick() { return tick() + twice(0); }
void lib_throw(int code) { throw std::runtime_error("code " + std::to_string(code)); }
void lib_call_back(void (*fn)()) { fn(); }
