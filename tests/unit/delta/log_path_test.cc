#include "sluice/delta/log_path.h"

#include <gtest/gtest.h>

namespace sluice::delta {
namespace {

TEST(LogPathTest, ParsesEveryKind) {
  auto c = ParseLogFileName("00000000000000000012.json");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type, LogFileType::kCommit);
  EXPECT_EQ(c->version, 12);
  auto k = ParseLogFileName("00000000000000000010.checkpoint.parquet");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type, LogFileType::kCheckpoint);
  auto m = ParseLogFileName("00000000000000000010.checkpoint.0000000002.0000000003.parquet");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, LogFileType::kMultiPartCheckpoint);
  EXPECT_EQ(m->part, 2);
  EXPECT_EQ(m->parts, 3);
  auto v2 =
      ParseLogFileName("00000000000000000010.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json");
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->type, LogFileType::kV2Checkpoint);
  auto crc = ParseLogFileName("00000000000000000001.crc");
  ASSERT_TRUE(crc);
  EXPECT_EQ(crc->type, LogFileType::kChecksum);
  auto comp = ParseLogFileName("00000000000000000004.00000000000000000006.compacted.json");
  ASSERT_TRUE(comp);
  EXPECT_EQ(comp->type, LogFileType::kCompaction);
  EXPECT_EQ(ParseLogFileName("_last_checkpoint")->type, LogFileType::kLastCheckpoint);
}

TEST(LogPathTest, IgnoresForeignNames) {
  EXPECT_FALSE(ParseLogFileName(".tmp.123"));
  EXPECT_FALSE(ParseLogFileName("0000000000000000001.json"));  // 19 digits
  EXPECT_FALSE(ParseLogFileName("00000000000000000001.json.tmp"));
  EXPECT_FALSE(ParseLogFileName("00000000000000000010.checkpoint.0000000004.0000000003.parquet"));
}

TEST(LogPathTest, BuildsNames) {
  EXPECT_EQ(CommitPath(5), "_delta_log/00000000000000000005.json");
  EXPECT_EQ(CheckpointPath(10), "_delta_log/00000000000000000010.checkpoint.parquet");
  EXPECT_EQ(MultiPartCheckpointPath(10, 1, 2),
            "_delta_log/00000000000000000010.checkpoint.0000000001.0000000002.parquet");
}

}  // namespace
}  // namespace sluice::delta
