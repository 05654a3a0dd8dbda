// How many offsets a Kafka unit spans (sources/debezium/unit_sizer.h).
#include "sluice/sources/debezium/unit_sizer.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace sluice::sources::debezium {
namespace {

TEST(UnitSizer, FirstUnitsAreBoundedByTheProbeCountUntilASizeIsKnown) {
  UnitSizer sizer(200'000, 64 << 20);
  EXPECT_EQ(sizer.BytesPerMessage(), 0);
  EXPECT_EQ(sizer.MessagesPerUnit(), UnitSizer::kFirstUnitMessages);
  // A configured bound below the probe wins.
  EXPECT_EQ(UnitSizer(3, 64 << 20).MessagesPerUnit(), 3);
  // An empty fetch tells nothing.
  sizer.Observe(0, 0);
  EXPECT_EQ(sizer.MessagesPerUnit(), UnitSizer::kFirstUnitMessages);
}

TEST(UnitSizer, UnitsHoldAboutTheByteBudgetBetweenOneAndTheMaximumCount) {
  UnitSizer sizer(200'000, 1'000'000);
  sizer.Observe(1'000, 1'000'000);  // 1 KB records
  EXPECT_EQ(sizer.BytesPerMessage(), 1'000);
  EXPECT_EQ(sizer.MessagesPerUnit(), 1'000);

  UnitSizer small(200'000, 64 << 20);
  small.Observe(10'000, 1'000'000);  // 100-byte records: the count bound
  EXPECT_EQ(small.MessagesPerUnit(), 200'000);

  UnitSizer huge(200'000, 1'000'000);
  huge.Observe(2, 8'000'000);  // 4 MB records: one a unit, never zero
  EXPECT_EQ(huge.MessagesPerUnit(), 1);

  UnitSizer empty(50, 1'000);
  empty.Observe(10, 0);  // tombstones without keys still take an offset each
  EXPECT_EQ(empty.BytesPerMessage(), 1);
  EXPECT_EQ(empty.MessagesPerUnit(), 50);
}

TEST(UnitSizer, FollowsRecordsThatGrowWithinAFewUnits) {
  UnitSizer sizer(200'000, 10'000'000);
  for (int i = 0; i < 20; ++i) sizer.Observe(10'000, 1'000'000);  // 100 B
  EXPECT_EQ(sizer.MessagesPerUnit(), 100'000);
  // The rows grow a hundredfold (a large column added): units shrink at
  // once and reach the new size's count within a few units.
  sizer.Observe(10'000, 100'000'000);
  EXPECT_LT(sizer.MessagesPerUnit(), 2'100);
  for (int i = 0; i < 5; ++i) sizer.Observe(1'000, 10'000'000);
  EXPECT_LE(sizer.MessagesPerUnit(), 1'050);
  EXPECT_GE(sizer.MessagesPerUnit(), 1'000);
}

TEST(UnitSizer, ObservationsFromParallelDecodesAllCount) {
  UnitSizer sizer(1'000'000, 100'000'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1'000; ++i) sizer.Observe(100, 50'000);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sizer.BytesPerMessage(), 500);
  EXPECT_EQ(sizer.MessagesPerUnit(), 200'000);
}

}  // namespace
}  // namespace sluice::sources::debezium
