// Run control shared by the kernels (anneal.cpp, pt.cpp; internal, not installed): when a
// run stops early (its wall-clock deadline or the caller's interrupt flag, checked between
// sweeps) and how its workers are run.
#pragma once

#include <atomic>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace qopt::detail {

struct StopRule {
  using Clock = std::chrono::steady_clock;
  bool timed = false;
  Clock::time_point deadline;
  const std::atomic<bool>* interrupt = nullptr;
  std::atomic<bool> stopped{false};
  std::atomic<bool> interrupted{false};

  // time_limit in seconds (<= 0: none), counted from now.
  void arm(double time_limit, const std::atomic<bool>* flag) {
    timed = time_limit > 0.0;
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(time_limit));
    interrupt = flag;
  }
  bool should_stop() {
    if (stopped.load(std::memory_order_relaxed)) return true;
    if (interrupt && interrupt->load(std::memory_order_relaxed)) {
      interrupted.store(true);
      stopped.store(true);
      return true;
    }
    if (timed && Clock::now() >= deadline) {
      stopped.store(true);
      return true;
    }
    return false;
  }
};

// Run worker() on min(num_threads, num_units) threads (at least 1; on this thread when 1)
// and join them all.
template <class Worker>
void run_on_threads(int num_threads, std::int64_t num_units, Worker&& worker) {
  const int threads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(num_threads, num_units)));
  if (threads == 1) {
    worker();
    return;
  }
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (auto& th : pool) th.join();
}

}  // namespace qopt::detail
