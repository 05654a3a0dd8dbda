// BytesWrittenScope (core/bytes_written.h): bytes count into the innermost
// scope of their thread only, nested scopes restore the outer one, and work
// outside any scope (or on another thread) is not counted.
#include "sluice/core/bytes_written.h"

#include <gtest/gtest.h>

#include <thread>

namespace sluice {
namespace {

TEST(BytesWritten, CountsIntoTheInnermostScopeOfItsThread) {
  CountBytesWritten(5);  // no scope: nowhere, and no crash
  int64_t outer = 0, inner = 0;
  {
    BytesWrittenScope a(&outer);
    CountBytesWritten(10);
    {
      BytesWrittenScope b(&inner);
      CountBytesWritten(7);
      CountBytesWritten(1);
    }
    CountBytesWritten(3);  // the outer scope again
  }
  CountBytesWritten(100);  // after every scope ended
  EXPECT_EQ(outer, 13);
  EXPECT_EQ(inner, 8);
}

TEST(BytesWritten, AnotherThreadCountsOnlyInItsOwnScope) {
  int64_t mine = 0, theirs = 0;
  BytesWrittenScope scope(&mine);
  std::thread([&] {
    CountBytesWritten(50);  // this thread has no scope
    BytesWrittenScope own(&theirs);
    CountBytesWritten(4);
  }).join();
  CountBytesWritten(2);
  EXPECT_EQ(mine, 2);
  EXPECT_EQ(theirs, 4);
}

TEST(BytesWritten, LateBytesFollowTheInnermostScope) {
  EXPECT_EQ(CurrentLateBytes(), nullptr);
  int64_t counted = 0;
  auto late = std::make_shared<std::atomic<int64_t>>(0);
  {
    BytesWrittenScope scope(&counted, late);
    EXPECT_EQ(CurrentLateBytes(), late);
    {
      BytesWrittenScope inner(&counted);  // its own, without late bytes
      EXPECT_EQ(CurrentLateBytes(), nullptr);
    }
    LateBytes handed = CurrentLateBytes();
    std::thread([handed] { *handed += 40; }).join();  // written after the fact
  }
  EXPECT_EQ(CurrentLateBytes(), nullptr);
  EXPECT_EQ(late->load(), 40);
  EXPECT_EQ(counted, 0);
}

}  // namespace
}  // namespace sluice
