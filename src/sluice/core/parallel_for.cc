#include "sluice/core/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace sluice {

void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& body) {
  if (count < 2 || threads < 2) {
    for (size_t i = 0; i < count; ++i) body(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) body(i);
  };
  std::vector<std::thread> pool;
  const size_t n = std::min(count, static_cast<size_t>(threads));
  for (size_t t = 1; t < n; ++t) pool.emplace_back(work);
  work();  // this thread is one of them
  for (auto& t : pool) t.join();
}

}  // namespace sluice
