// cxx_shared.h - declarations shared by cxx_main.cpp and cxx_lib.cpp.
#include <string>

struct Shape {
  virtual ~Shape();
  virtual int area() const = 0;
  virtual std::string name() const = 0;
};
struct Oops { int code; };

Shape *make_square(int side);
Shape *make_circle(int r);
int lib_tick();
void lib_throw(int code);
void lib_call_back(void (*fn)());

template <class T> T twice(T x) { return x + x; }
inline int tick() { static int n = 0; return ++n; }
