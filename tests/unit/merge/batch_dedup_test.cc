#include "sluice/merge/batch_dedup.h"

#include <gtest/gtest.h>

#include "merge_test_util.h"

namespace sluice::merge {
namespace {

using testing::ChangeBatch;

DedupResult Dedup(const std::vector<testing::Event>& events) {
  auto batch = ChangeBatch(events);
  auto encoder = KeyEncoder::Make(*batch->schema(), {"id"});
  EXPECT_TRUE(encoder.ok());
  auto keys = encoder->Encode(*batch);
  EXPECT_TRUE(keys.ok());
  auto result = DedupBatch(*batch, *keys);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return std::move(*result);
}

TEST(BatchDedupTest, LatestSequencePerKeyWins) {
  auto r = Dedup({{"insert", "s1", 1, "a", 1},
                  {"update", "s3", 1, "c", 3},
                  {"update", "s2", 1, "b", 2},
                  {"insert", "s1", 2, "x", 1}});
  EXPECT_EQ(r.winners, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(r.ops, (std::vector<MergeOp>{MergeOp::kUpsert, MergeOp::kUpsert}));
  EXPECT_EQ(r.superseded, 2);
}

TEST(BatchDedupTest, EqualSequenceKeepsTheFirstOccurrence) {
  auto r = Dedup({{"update", "s5", 1, "first", 1}, {"update", "s5", 1, "replay", 2}});
  EXPECT_EQ(r.winners, (std::vector<int64_t>{0}));
  EXPECT_EQ(r.superseded, 1);
}

TEST(BatchDedupTest, SequencesCompareAsBytes) {
  // "\xff" sorts after "a" as unsigned bytes (memcmp), and a prefix sorts first.
  auto r = Dedup({{"update", "\xff", 1, "hi", 1},
                  {"update", "a", 1, "lo", 2},
                  {"update", "ab", 2, "long", 1},
                  {"update", "a", 2, "prefix", 2}});
  EXPECT_EQ(r.winners, (std::vector<int64_t>{0, 2}));
}

TEST(BatchDedupTest, PrimaryKeyMoveIsTwoKeys) {
  auto r = Dedup(
      {{"insert", "s1", 1, "a", 1}, {"delete", "s2", 1, "a", 1}, {"insert", "s3", 2, "a", 1}});
  EXPECT_EQ(r.winners, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r.ops, (std::vector<MergeOp>{MergeOp::kDelete, MergeOp::kUpsert}));
}

TEST(BatchDedupTest, InvalidRowsAreSetAsideWithReasons) {
  auto r = Dedup({{"insert", "s1", {}, "a", 1},
                  {"insert", "", 2, "b", 1},
                  {"truncate", "s9", {}, {}, {}},
                  {"insert", "s1", 3, "c", 1}});
  ASSERT_EQ(r.invalid.size(), 2u);
  EXPECT_EQ(r.invalid[0].row, 0);
  EXPECT_EQ(r.invalid[1].row, 1);
  EXPECT_EQ(r.truncates, (std::vector<int64_t>{2}));
  EXPECT_EQ(r.winners, (std::vector<int64_t>{3}));
}

TEST(BatchDedupTest, ManyKeys) {
  std::vector<testing::Event> events;
  for (int i = 0; i < 5000; ++i) {
    char seq[16];
    std::snprintf(seq, sizeof(seq), "%08d", i);
    events.push_back({"update", seq, i % 1000, "v", i});
  }
  auto r = Dedup(events);
  ASSERT_EQ(r.winners.size(), 1000u);
  EXPECT_EQ(r.winners.front(), 4000);
  EXPECT_EQ(r.superseded, 4000);
}

}  // namespace
}  // namespace sluice::merge
