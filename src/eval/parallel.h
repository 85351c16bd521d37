#pragma once
// A minimal fork-join loop over tasks on std::threads (the evaluation layer has no torch and no OpenMP).
// Tasks are taken dynamically; the first exception thrown by any task is rethrown to the caller.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace raddiag::eval {

inline int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Calls fn(task, worker) for task in [0, n_tasks) on up to `threads` workers (worker in [0, threads)).
template <typename Fn>
void parallel_for(int64_t n_tasks, int threads, Fn&& fn) {
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(resolve_threads(threads), n_tasks)));
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto body = [&](int worker) {
    for (;;) {
      const int64_t t = next.fetch_add(1);
      if (t >= n_tasks) return;
      try {
        fn(t, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next.store(n_tasks);
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(body, w);
  body(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace raddiag::eval
