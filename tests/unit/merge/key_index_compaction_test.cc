// KeyIndex::ApplyCompaction, and maintenance of a merged table and its
// tombstone side table.
#include <gtest/gtest.h>

#include <random>

#include "merge_test_util.h"
#include "sluice/delta/compaction.h"
#include "sluice/delta/vacuum.h"
#include "sluice/merge/key_index.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/merge_writer.h"
#include "sluice/merge/tombstone_store.h"

namespace sluice::merge {
namespace {

using testing::ChangeBatch;
using testing::Event;

std::vector<Event> RandomBatch(std::mt19937& rng, int& counter, int keys, int n) {
  std::vector<Event> events;
  for (int e = 0; e < n; ++e) {
    char seq[16];
    std::snprintf(seq, sizeof(seq), "%08d", counter++);
    const char* ops[] = {"insert", "update", "delete"};
    events.push_back({ops[rng() % 3], seq, static_cast<int64_t>(rng() % keys),
                      "n" + std::to_string(rng() % 50), static_cast<int64_t>(rng() % 9)});
  }
  return events;
}

class KeyIndexCompactionTest : public ::testing::TestWithParam<MergeMode> {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("sluice_index_compact");
    loc_ = *io::OpenTableLocation(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Merges `n` random batches through plan + write + Apply.
  void Merge(int n) {
    for (int b = 0; b < n; ++b) {
      auto batch = ChangeBatch(RandomBatch(rng_, counter_, 3000, 300));
      if (!index_)
        index_ = std::make_unique<KeyIndex>(*KeyEncoder::Make(*batch->schema(), {"id"}), loc_);
      auto plan = PlanBatch(*index_, *batch, {1000, ++version_});
      ASSERT_TRUE(plan.ok()) << plan.status().ToString();
      MergeWriteOptions options;
      options.mode = GetParam();
      options.app_id = "app";
      options.version = version_;
      options.now_ms = 1000;
      options.data.target_file_size = 2048;
      options.data.row_group_rows = 16;
      auto commit = WriteMerge(loc_, *delta::LoadIfExists(loc_), *plan, options);
      ASSERT_TRUE(commit.ok()) << commit.status().ToString();
      ASSERT_TRUE(index_->Apply(*plan, commit->outcome).ok());
    }
  }

  std::vector<IndexEntry> Rebuilt() {
    auto snapshot = *delta::Snapshot::Load(loc_.log);
    auto tombs = *LoadTombstones(loc_, version_, 0);
    auto rebuilt = KeyIndex::Build(*snapshot, loc_, index_->encoder(), tombs);
    EXPECT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
    EXPECT_EQ((*rebuilt)->version(), snapshot->version());
    return rebuilt.ok() ? (*rebuilt)->Entries() : std::vector<IndexEntry>{};
  }

  static delta::CompactionOptions Aggressive() {
    delta::CompactionOptions o;
    o.min_small_files = 2;
    o.small_file_size = 1 << 20;
    o.target_file_size = 20000;  // several new files, inputs split across them
    o.data.compression = "uncompressed";
    o.data.row_group_rows = 16;
    return o;
  }

  std::filesystem::path dir_;
  io::TableLocation loc_;
  std::unique_ptr<KeyIndex> index_;
  std::mt19937 rng_{11};
  int counter_ = 0;
  int64_t version_ = 0;
};

TEST_P(KeyIndexCompactionTest, IndexFollowsTheRowsAndEqualsARebuild) {
  Merge(8);
  auto before = *delta::Snapshot::Load(loc_.log);
  ASSERT_GT(before->files().size(), 5u);
  const auto rows = testing::ReadRows(loc_);
  auto result = delta::CompactTable(loc_, before, Aggressive());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(result->committed);
  ASSERT_GT(result->files.size(), 1u);
  auto old_entries = index_->Entries();
  ASSERT_TRUE(index_->ApplyCompaction(*result).ok());
  EXPECT_EQ(index_->version(), result->version);
  auto entries = index_->Entries();
  EXPECT_EQ(entries, Rebuilt());
  EXPECT_NE(entries, old_entries);  // rows did move
  EXPECT_EQ(testing::ReadRows(loc_), rows);
  // The remapped index keeps working for later batches.
  Merge(4);
  EXPECT_EQ(index_->Entries(), Rebuilt());
}

INSTANTIATE_TEST_SUITE_P(Modes, KeyIndexCompactionTest,
                         ::testing::Values(MergeMode::kDeletionVectors, MergeMode::kCopyOnWrite),
                         [](const auto& info) {
                           return info.param == MergeMode::kDeletionVectors ? "dv" : "cow";
                         });

TEST(KeyIndexApplyCompaction, MovesRowsThroughSplitSegments) {
  // String keys (hash + bytes); the random test above covers integer keys.
  auto encoder = *KeyEncoder::Make(*ChangeBatch({{"insert", "a", 1, {}, {}}})->schema(), {"name"});
  KeyIndex index(encoder, std::nullopt);
  MergePlan plan;
  MergeOutcome outcome;
  outcome.version = 0;
  for (int i = 0; i < 10; ++i) {
    plan.append_keys.push_back("k" + std::to_string(i));
    plan.append_seqs.push_back("s");
  }
  outcome.appended = {{"old1", 6}, {"old2", 4}};  // k0..k5 in old1, k6..k9 in old2
  ASSERT_TRUE(index.Apply(plan, outcome).ok());
  // Rows 1 and 4 of old1 were deleted by DV (their keys are, say, gone).
  plan = MergePlan{};
  plan.base_version = 0;
  plan.tombstones = {{"k1", "t", 5, 1}, {"k4", "t", 5, 1}};
  outcome = MergeOutcome{};
  outcome.version = 1;
  ASSERT_TRUE(index.Apply(plan, outcome).ok());

  delta::CompactionResult r;
  r.committed = true;
  r.read_version = 1;
  r.version = 2;
  r.removed = {"old1", "old2"};
  // new1: old1 rows 0,2,3 ; new2: old1 row 5, old2 rows 0..3
  r.files = {{"new1", 3, {{"old1", {0, 2, 3}}}},
             {"new2", 5, {{"old1", {5}}, {"old2", {0, 1, 2, 3}}}}};
  ASSERT_TRUE(index.ApplyCompaction(r).ok());
  auto where = [&](const std::string& key) {
    auto f = index.Find(key);
    return f.kind == KeyIndex::Found::Kind::kLive ? *f.file + ":" + std::to_string(f.row)
                                                  : std::string("-");
  };
  EXPECT_EQ(where("k0"), "new1:0");
  EXPECT_EQ(where("k1"), "-");
  EXPECT_EQ(where("k2"), "new1:1");
  EXPECT_EQ(where("k3"), "new1:2");
  EXPECT_EQ(where("k5"), "new2:0");
  EXPECT_EQ(where("k6"), "new2:1");
  EXPECT_EQ(where("k9"), "new2:4");
  EXPECT_EQ(index.version(), 2);

  // A result read at another version, or with commits in between, is refused
  // and changes nothing.
  r.read_version = 5;
  r.version = 6;
  EXPECT_FALSE(index.ApplyCompaction(r).ok());
  r.read_version = 2;
  r.version = 4;
  EXPECT_FALSE(index.ApplyCompaction(r).ok());
  EXPECT_EQ(where("k0"), "new1:0");
  // A live row the segments lost means the index and table disagree.
  delta::CompactionResult lossy;
  lossy.committed = true;
  lossy.read_version = 2;
  lossy.version = 3;
  lossy.removed = {"new1"};
  lossy.files = {{"new3", 2, {{"new1", {0, 1}}}}};  // row 2 (k3) missing
  EXPECT_FALSE(index.ApplyCompaction(lossy).ok());
}

TEST(TombstoneSideTable, CompactsAndVacuumsLikeAnyTableAndStillPurges) {
  auto dir = testing::TestDir("sluice_side_maint");
  auto table = *io::OpenTableLocation(dir.string());
  // One tiny file per batch, deleted_at growing.
  std::vector<Tombstone> all;
  for (int b = 1; b <= 6; ++b) {
    std::vector<Tombstone> ts = {{"key" + std::to_string(b), "s", b * 1000, b},
                                 {"other" + std::to_string(b), "s", b * 1000 + 1, b}};
    all.insert(all.end(), ts.begin(), ts.end());
    ASSERT_TRUE(CommitTombstones(table, ts, "app", b, 0).ok());
  }
  auto side = *TombstoneLocation(table);
  auto snapshot = *delta::Snapshot::Load(side.log);
  ASSERT_EQ(snapshot->files().size(), 6u);
  auto result = delta::CompactTable(side, snapshot, TombstoneCompactionOptions());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(result->committed);
  auto after = *delta::Snapshot::Load(side.log);
  ASSERT_EQ(after->files().size(), 1u);
  // The file's tag is the oldest deleted_at of its rows.
  ASSERT_TRUE(after->files()[0].tags);
  EXPECT_EQ(after->files()[0].tags->at("sluice.minDeletedAtMs"), "1000");
  auto sorted = [](std::vector<Tombstone> v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return v;
  };
  EXPECT_EQ(sorted(*LoadTombstones(table, 100, 0)), sorted(all));
  // The side table vacuums on its own (the merged table's vacuum skips _sluice/).
  delta::VacuumOptions now;
  now.retention_ms = 0;
  now.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count() +
               1000;
  auto vac = delta::VacuumTable(side, after, now);
  ASSERT_TRUE(vac.ok()) << vac.status().ToString();
  EXPECT_EQ(vac->deleted.size(), 6u);
  EXPECT_EQ(sorted(*LoadTombstones(table, 100, 0)), sorted(all));
  // The purge still finds the expired rows in the compacted file.
  auto purge = CommitTombstones(table, {}, "app", 8, 3500);
  ASSERT_TRUE(purge.ok()) << purge.status().ToString();
  EXPECT_EQ(purge->purged, 6);
  EXPECT_EQ(LoadTombstones(table, 100, 0)->size(), 6u);
  std::filesystem::remove_all(dir);
}

TEST(TombstoneSideTable, CachedSnapshotFollowsCommitsAndRecoversFromOtherWriters) {
  auto dir = testing::TestDir("sluice_side_cache");
  auto table = *io::OpenTableLocation(dir.string());
  std::shared_ptr<const delta::Snapshot> latest;
  std::vector<Tombstone> all;
  for (int b = 1; b <= 3; ++b) {
    std::vector<Tombstone> ts = {{"key" + std::to_string(b), "s", b * 1000, b}};
    all.insert(all.end(), ts.begin(), ts.end());
    ASSERT_TRUE(CommitTombstones(table, ts, "app", b, 0, &latest).ok());
    // The cache is the side table as committed, without a read of its log.
    ASSERT_TRUE(latest);
    EXPECT_EQ(latest->TxnVersion("app"), b);
  }
  // Another writer (same app) moves the side table behind the cache's back:
  // the cached commit conflicts and is redone on a fresh read, which sees
  // that version 4 is in already.
  std::vector<Tombstone> four = {{"key4", "s", 4000, 4}};
  all.insert(all.end(), four.begin(), four.end());
  ASSERT_TRUE(CommitTombstones(table, four, "app", 4, 0).ok());
  auto again = CommitTombstones(table, four, "app", 4, 0, &latest);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->skipped);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->TxnVersion("app"), 4);
  // And the next batch lands on top of it through the cache.
  std::vector<Tombstone> five = {{"key5", "s", 5000, 5}};
  all.insert(all.end(), five.begin(), five.end());
  ASSERT_TRUE(CommitTombstones(table, five, "app", 5, 0, &latest).ok());
  EXPECT_EQ(latest->version(), (*delta::Snapshot::Load(TombstoneLocation(table)->log))->version());
  auto sorted = [](std::vector<Tombstone> v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return v;
  };
  EXPECT_EQ(sorted(*LoadTombstones(table, 100, 0)), sorted(all));
  std::filesystem::remove_all(dir);
}

TEST(TombstoneSideTable, TagRuleFallsBackToZeroWhenAnInputHasNoTag) {
  delta::Add tagged, untagged;
  tagged.tags = std::map<std::string, std::string>{{"sluice.minDeletedAtMs", "500"}};
  auto rule = TombstoneCompactionOptions().merge_tags;
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule({&tagged})->at("sluice.minDeletedAtMs"), "500");
  EXPECT_EQ(rule({&tagged, &untagged})->at("sluice.minDeletedAtMs"), "0");
}

}  // namespace
}  // namespace sluice::merge
