// cxx_exceptions.cpp - throwing through JIT'd frames: a hierarchy caught by base class, rethrow,
// std::exception_ptr, an exception thrown inside libstdc++, and the terminate handler a C++
// host starts with. (Without the ORC runtime, JITLink mishandles what lives in COMDAT groups -
// type_info of classes without a key function, clang's __clang_call_terminate that guards
// iostream calls inside try blocks - in any executor, so the program keeps out of them.)
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

struct AppError : std::runtime_error {
  int code;
  AppError(const char *what, int code);
  ~AppError() override;
};

AppError::AppError(const char *what, int code) : std::runtime_error(what), code(code) {}
AppError::~AppError() = default;  // the key function: AppError's type_info is no COMDAT

[[gnu::noinline]] static int parse(const char *text) {
  if (text[0] == '\0')
    throw std::invalid_argument("empty input");
  if (text[0] == '!')
    throw AppError("application error", 17);
  return text[0] - '0';
}

[[gnu::noinline]] static int layered(const char *text) {
  try {
    return parse(text);
  } catch (const AppError &e) {
    std::printf("  layered saw code %d, rethrowing\n", e.code);
    throw;
  }
}

[[gnu::noinline]] static char at(const std::string &text, std::size_t index) {
  return text.at(index);  // throws std::out_of_range from inside libstdc++
}

int main() {
  std::printf("terminate handler installed: %d\n", std::get_terminate() != nullptr);
  int caught = 0;
  const char *inputs[] = {"7", "", "!", "3"};
  for (const char *input : inputs) {
    try {
      std::printf("parsed %d\n", layered(input));
    } catch (const std::logic_error &e) {
      ++caught;
      std::printf("logic_error: %s\n", e.what());
    } catch (const std::exception &e) {
      ++caught;
      std::printf("exception: %s\n", e.what());
    }
  }
  std::exception_ptr saved;
  try {
    at("abc", 5);
  } catch (...) {
    saved = std::current_exception();
  }
  try {
    std::rethrow_exception(saved);
  } catch (const std::out_of_range &) {
    ++caught;
    std::printf("out_of_range from libstdc++, through an exception_ptr\n");
  }
  return caught;
}
