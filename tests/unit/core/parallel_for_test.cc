// ParallelFor (core/parallel_for.h): every index exactly once, on several
// threads at once when asked, inline otherwise.
#include "sluice/core/parallel_for.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace sluice {
namespace {

TEST(ParallelFor, EveryIndexOnceOnUpToThatManyThreads) {
  std::vector<std::atomic<int>> seen(100);
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> running{0}, most{0};
  ParallelFor(seen.size(), 4, [&](size_t i) {
    int now = ++running;
    for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a request
    ++seen[i];
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    --running;
  });
  for (const auto& s : seen) EXPECT_EQ(s.load(), 1);
  EXPECT_LE(threads.size(), 4u);
  EXPECT_GT(most.load(), 1) << "the items did not overlap";
  EXPECT_LE(most.load(), 4);
}

TEST(ParallelFor, OneThreadOrOneItemRunsInline) {
  const auto me = std::this_thread::get_id();
  std::vector<size_t> order;
  ParallelFor(5, 1, [&](size_t i) {
    EXPECT_EQ(std::this_thread::get_id(), me);
    order.push_back(i);
  });
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
  ParallelFor(1, 8, [&](size_t) { EXPECT_EQ(std::this_thread::get_id(), me); });
  ParallelFor(0, 8, [&](size_t) { ADD_FAILURE() << "no items"; });
}

}  // namespace
}  // namespace sluice
