// cxx_locale.cpp - the locale a C++ host starts with ("C", whatever the environment says until
// the program asks for it), and locale-dependent formatting through a custom facet.
#include <cctype>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cwchar>
#include <iostream>
#include <locale>
#include <sstream>
#include <string>

struct Grouped : std::numpunct<char> {
  char do_thousands_sep() const override { return '\''; }
  char do_decimal_point() const override { return ','; }
  std::string do_grouping() const override { return "\3"; }
};

int main() {
  std::printf("C locale: %s, MB_CUR_MAX: %d, isalpha(0xE9): %d, printf: %.2f\n",
              std::setlocale(LC_ALL, nullptr), static_cast<int>(MB_CUR_MAX),
              std::isalpha(0xE9) != 0, 1234.5);
  const char *ctype = std::getenv("LC_CTYPE");
  std::printf("LC_CTYPE in the environment: %s\n", ctype ? ctype : "(unset)");
  std::cout << "global C++ locale: " << std::locale().name() << ", classic: " << 1234567.25
            << '\n';
  std::ostringstream grouped;
  grouped.imbue(std::locale(std::locale::classic(), new Grouped));
  grouped << std::fixed;
  grouped.precision(2);
  grouped << 1234567.25 << ' ' << 9876543210LL;
  std::cout << "custom numpunct: " << grouped.str() << '\n';
  wchar_t wide[8];
  std::size_t converted = std::mbstowcs(wide, "caf\xc3\xa9", 8);
  std::cout << "mbstowcs of UTF-8 in the C locale: "
            << (converted == static_cast<std::size_t>(-1) ? "refused" : "converted") << '\n';
  std::cout.flush();
  std::wcout << L"wide ascii ok" << std::endl;
  std::printf("wcout good: %d\n", static_cast<int>(std::wcout.good()));
  const char *chosen = std::setlocale(LC_ALL, "");
  std::printf("setlocale(LC_ALL, \"\"): %s\n", chosen ? chosen : "(failed)");
  return 0;
}
