#include "sluice/server/time_series.h"

#include <gtest/gtest.h>

namespace sluice::server {
namespace {

TEST(TimeSeriesRing, OneSamplePerIntervalWithThroughput) {
  TimeSeriesRing ring(10'000, 6);
  ring.Record(100'000, 1000, 5.0, 0.5);
  ring.Record(110'000, 1500, 4.0, 0.4);  // 500 events in 10 s
  ring.Record(115'000, 2000, 3.0, 0.3);  // same interval: 1000 events in 15 s since 100 s
  auto samples = ring.Samples(120'000);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].t_ms, 100'000);
  EXPECT_EQ(samples[0].throughput_eps, 0);  // no earlier point to compare with
  EXPECT_EQ(samples[1].t_ms, 115'000);
  EXPECT_DOUBLE_EQ(samples[1].throughput_eps, 1000.0 / 15.0);
  EXPECT_EQ(samples[1].lag_seconds, 3.0);
  EXPECT_EQ(samples[1].latency_seconds, 0.3);
}

TEST(TimeSeriesRing, KeepsOnlyTheWindowOldestFirst) {
  TimeSeriesRing ring(1000, 3);
  for (int64_t i = 0; i < 10; ++i) ring.Record(i * 1000, i * 10, static_cast<double>(i), 0);
  auto samples = ring.Samples(9'500);
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].t_ms, 7000);
  EXPECT_EQ(samples[2].t_ms, 9000);
  EXPECT_DOUBLE_EQ(samples[2].throughput_eps, 10.0);
  // Much later, nothing is recent enough.
  EXPECT_TRUE(ring.Samples(60'000).empty());
}

TEST(TimeSeriesRing, ClockSteppingBackIsIgnored) {
  TimeSeriesRing ring(1000, 10);
  ring.Record(5000, 10, 1, 0);
  ring.Record(3000, 20, 2, 0);
  auto samples = ring.Samples(5000);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].lag_seconds, 1);
}

TEST(TimeSeriesRing, CounterResetGivesZeroNotNegative) {
  TimeSeriesRing ring(1000, 10);
  ring.Record(1000, 500, 0, 0);
  ring.Record(2000, 10, 0, 0);  // process restarted its count
  EXPECT_EQ(ring.Samples(2000).back().throughput_eps, 0);
}

}  // namespace
}  // namespace sluice::server
