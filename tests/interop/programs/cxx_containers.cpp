// cxx_containers.cpp - std::string and the containers, streams to strings, smart pointers.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

int main(int argc, char **argv) {
  std::vector<std::string> words{"pear", "apple", "fig", "banana", "apple"};
  for (int i = 0; i < argc; ++i)
    words.emplace_back(argv[i]);
  std::sort(words.begin(), words.end());
  std::set<std::string> unique(words.begin(), words.end());
  std::map<std::string, int> lengths;
  std::unordered_map<std::string, int> counts;
  for (const auto &word : words) {
    lengths[word] = static_cast<int>(word.size());
    ++counts[word];
  }
  std::ostringstream out;
  for (const auto &[word, length] : lengths)
    out << word << '=' << length << 'x' << counts[word] << ' ';
  std::string text = out.str();
  text.pop_back();
  std::cout << "words: " << words.size() << ", unique: " << unique.size() << '\n';
  std::cout << "map: " << text << '\n';
  std::string joined = std::accumulate(std::next(unique.begin()), unique.end(), *unique.begin(),
                                       [](std::string a, const std::string &b) { return a + "+" + b; });
  std::cout << "joined: " << joined << " (" << joined.size() << " chars, upper: ";
  std::transform(joined.begin(), joined.end(), joined.begin(), ::toupper);
  std::cout << joined.substr(0, 5) << ")\n";
  auto shared = std::make_shared<std::vector<int>>(1000);
  std::iota(shared->begin(), shared->end(), 1);
  std::weak_ptr<std::vector<int>> weak = shared;
  std::unique_ptr<int[]> squares(new int[10]);
  std::function<int(int)> square = [](int x) { return x * x; };
  for (int i = 0; i < 10; ++i)
    squares[i] = square(i);
  std::cout << "sum: " << std::accumulate(shared->begin(), shared->end(), 0L)
            << ", use_count: " << weak.use_count() << ", squares[9]: " << squares[9] << '\n';
  shared.reset();
  std::cout << "expired: " << weak.expired() << '\n';
  return static_cast<int>(unique.size());
}
