// cxx_threads.cpp - std::thread, mutexes, condition variables, atomics, and thread-safe
// initialisation of a function-local static under contention (__cxa_guard_acquire).
// (std::async and std::call_once need thread-local storage in JIT'd code, which JITLink
// supports only with the ORC runtime, in any executor.)
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

static std::atomic<int> constructions{0};

struct Slow {
  int value;
  Slow() : value(7) {
    ++constructions;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
};

[[gnu::noinline]] static int shared_static() {
  static Slow slow;  // one construction; the other threads wait for it
  return slow.value;
}

int main() {
  std::mutex lock;
  std::condition_variable ready;
  bool go = false;
  long total = 0;
  std::atomic<int> statics_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      {
        std::unique_lock<std::mutex> guard(lock);
        ready.wait(guard, [&] { return go; });
      }
      statics_seen += shared_static();
      for (int i = 1; i <= 1000; ++i) {
        std::lock_guard<std::mutex> guard(lock);
        total += i * (t + 1);
      }
    });
  {
    std::lock_guard<std::mutex> guard(lock);
    go = true;
  }
  ready.notify_all();
  for (auto &thread : threads)
    thread.join();
  std::cout << "total: " << total << ", statics seen: " << statics_seen
            << ", constructions: " << constructions << ", hardware threads > 0: "
            << (std::thread::hardware_concurrency() > 0) << '\n';
  return 0;
}
