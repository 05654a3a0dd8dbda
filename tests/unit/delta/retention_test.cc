#include "sluice/delta/retention.h"

#include <gtest/gtest.h>

#include "sluice/delta/checkpointer.h"

namespace sluice::delta {
namespace {

TEST(Retention, ParsesSparkIntervals) {
  EXPECT_EQ(ParseIntervalMs("interval 7 days"), 7LL * 86400 * 1000);
  EXPECT_EQ(ParseIntervalMs("interval 1 week"), 7LL * 86400 * 1000);
  EXPECT_EQ(ParseIntervalMs("INTERVAL 2 HOURS"), 2LL * 3600 * 1000);
  EXPECT_EQ(ParseIntervalMs("168 hours"), 168LL * 3600 * 1000);
  EXPECT_EQ(ParseIntervalMs("interval 0 seconds"), 0);
  EXPECT_EQ(ParseIntervalMs("interval 5 milliseconds"), 5);
  EXPECT_FALSE(ParseIntervalMs("interval 7 fortnights"));
  EXPECT_FALSE(ParseIntervalMs("7d"));
  EXPECT_FALSE(ParseIntervalMs(""));
}

TEST(Retention, TablePropertiesWithDefaults) {
  Metadata m;
  EXPECT_EQ(DeletedFileRetentionMs(m), 7LL * 86400 * 1000);
  EXPECT_EQ(LogRetentionMs(m), 30LL * 86400 * 1000);
  m.configuration["delta.deletedFileRetentionDuration"] = "interval 2 days";
  m.configuration["delta.logRetentionDuration"] = "interval 60 days";
  EXPECT_EQ(DeletedFileRetentionMs(m), 2LL * 86400 * 1000);
  EXPECT_EQ(TombstoneRetentionMs(m), 2LL * 86400 * 1000);  // checkpoints agree
  EXPECT_EQ(LogRetentionMs(m), 60LL * 86400 * 1000);
  m.configuration["delta.deletedFileRetentionDuration"] = "garbage";
  EXPECT_EQ(DeletedFileRetentionMs(m), 7LL * 86400 * 1000);
}

}  // namespace
}  // namespace sluice::delta
