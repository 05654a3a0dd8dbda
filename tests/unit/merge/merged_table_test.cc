// MergedTable (merged_table.h) with other writers on the merged table: an
// OPTIMIZE (delta/compaction.h) or a DELETE / append committed by "another
// writer" between Plan and Commit. The batch must still land, once, with the
// right rows, and the next batches too; in both merge modes.
#include "sluice/merge/merged_table.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "merge_test_util.h"
#include "sluice/delta/compaction.h"
#include "sluice/delta/table_writer.h"

namespace sluice::merge {
namespace {

using testing::ChangeBatch;
using testing::Event;
using testing::Row;

constexpr const char* kApp = "test/merged";

class MergedTableTest : public ::testing::TestWithParam<MergeMode> {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("sluice_merged_table");
    auto loc = io::OpenTableLocation(dir_.string());
    ASSERT_TRUE(loc.ok());
    location_ = *loc;
    table_ = Make();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<MergedTable> Make() {
    MergeSettings settings;
    settings.mode = GetParam();
    settings.replan_backoff_ms = 1;
    auto t = std::make_unique<MergedTable>(dir_.string(), std::vector<std::string>{"id"}, kApp,
                                           settings);
    EXPECT_TRUE(t->Open().ok());
    return t;
  }

  /// Plans and commits one batch as txn `version`.
  MergeCommit Apply(MergedTable& t, const std::vector<Event>& events, int64_t version) {
    auto applied = t.Apply(*ChangeBatch(events), version, now_ms_);
    EXPECT_TRUE(applied.ok()) << applied.status().ToString();
    return applied.ok() ? applied->commit : MergeCommit{};
  }

  /// One small file per id: inserts ids 1..n as batches 1..n.
  void InsertOneFileEach(int64_t n) {
    for (int64_t id = 1; id <= n; ++id) {
      Apply(*table_, {{"insert", "s0" + std::to_string(id), id, "v" + std::to_string(id), id}}, id);
    }
  }

  std::shared_ptr<const delta::Snapshot> Load() {
    auto s = delta::LoadIfExists(location_);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : nullptr;
  }

  /// Another writer's OPTIMIZE of every small file.
  void CompactAll() {
    delta::CompactionOptions options;
    options.min_small_files = 2;
    auto compacted = delta::CompactTable(location_, Load(), options);
    ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
    ASSERT_TRUE(compacted->committed);
  }

  /// The file and row of the live row of `id`.
  std::pair<std::string, int64_t> WhereIs(int64_t id) {
    auto snapshot = Load();
    for (const auto& f : snapshot->files()) {
      auto rows = delta::ReadDataFile(*snapshot, location_, f);
      EXPECT_TRUE(rows.ok());
      auto b = (*rows)->CombineChunksToBatch().ValueOrDie();
      auto ids = std::static_pointer_cast<arrow::Int64Array>(b->GetColumnByName("id"));
      for (int64_t r = 0; r < b->num_rows(); ++r) {
        if (ids->Value(r) == id && !(f.deletion_vector)) return {f.path, r};
      }
    }
    ADD_FAILURE() << "id " << id << " not found";
    return {};
  }

  std::vector<Row> Rows() { return testing::ReadRows(location_); }
  int64_t TxnVersion() { return Load()->TxnVersion(kApp).value_or(-1); }

  std::filesystem::path dir_;
  io::TableLocation location_;
  std::unique_ptr<MergedTable> table_;
  int64_t now_ms_ = 1'700'000'000'000;
};

TEST_P(MergedTableTest, ACompactionOfThePlannedFilesMakesTheMergePlanAgain) {
  InsertOneFileEach(4);
  auto batch = ChangeBatch({{"update", "s1", 1, "x", 10}, {"delete", "s1", 3, {}, {}}});
  auto plan = table_->Plan(*batch, 5, now_ms_);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->deletes.size(), 2u);
  CompactAll();  // removes both files the plan deletes rows of
  auto commit = table_->Commit(*batch, *plan, 5, now_ms_);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_FALSE(commit->outcome.already_applied);
  EXPECT_EQ(table_->replans(), 1);
  EXPECT_EQ(plan->counts.upserts, 1);  // the plan committed
  EXPECT_EQ(plan->counts.deletes, 1);
  EXPECT_EQ(TxnVersion(), 5);
  EXPECT_EQ(Rows(),
            (std::vector<Row>{{1, "x", 10, "s1"}, {2, "v2", 2, "s02"}, {4, "v4", 4, "s04"}}));
  // The index follows: the next batches touch the compacted rows.
  Apply(*table_, {{"update", "s2", 2, "y", 20}, {"insert", "s2", 3, "back", 3}}, 6);
  EXPECT_EQ(
      Rows(),
      (std::vector<Row>{
          {1, "x", 10, "s1"}, {2, "y", 20, "s2"}, {3, "back", 3, "s2"}, {4, "v4", 4, "s04"}}));
  // A late event older than the delete of 3 in batch 5 stays ignored after a
  // restart (the tombstone of the re-planned batch was kept).
  auto restarted = Make();
  Apply(*restarted, {{"update", "s0", 3, "late", 0}}, 7);
  EXPECT_EQ(Rows().size(), 4u);
  EXPECT_EQ(std::get<1>(Rows()[2]), "back");
}

TEST_P(MergedTableTest, ACompactionOfOtherFilesIsCommittedOverAndTheIndexFollows) {
  InsertOneFileEach(4);
  auto batch = ChangeBatch({{"insert", "s1", 10, "new", 1}});  // deletes nothing
  auto plan = table_->Plan(*batch, 5, now_ms_);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->deletes.empty());
  CompactAll();
  auto commit = table_->Commit(*batch, *plan, 5, now_ms_);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(commit->outcome.version, plan->base_version + 2);  // over the OPTIMIZE
  EXPECT_EQ(table_->replans(), 0);
  // Before: the index still pointed at the compacted files, and this batch
  // failed with "merge plan deletes rows of files that are not in table
  // version 6; re-plan".
  Apply(*table_, {{"update", "s2", 1, "x", 10}, {"delete", "s2", 2, {}, {}}}, 6);
  EXPECT_EQ(table_->replans(), 0);  // the index was rebuilt, not found stale
  EXPECT_EQ(
      Rows(),
      (std::vector<Row>{
          {1, "x", 10, "s2"}, {3, "v3", 3, "s03"}, {4, "v4", 4, "s04"}, {10, "new", 1, "s1"}}));
  EXPECT_EQ(TxnVersion(), 6);
}

TEST_P(MergedTableTest, AConcurrentDeleteAndAppendKeepTheirRowsAndTheMergeLands) {
  Apply(*table_, {{"insert", "s01", 1, "a", 1}, {"insert", "s01", 2, "b", 2}}, 1);
  Apply(*table_, {{"insert", "s02", 3, "c", 3}}, 2);
  auto batch = ChangeBatch({{"update", "s1", 1, "x", 10}, {"update", "s1", 3, "z", 30}});
  auto plan = table_->Plan(*batch, 3, now_ms_);
  ASSERT_TRUE(plan.ok());
  // Another writer deletes id 2 (in the file the plan deletes id 1's row
  // of) and appends id 50.
  auto [file, row] = WhereIs(2);
  delta::DeletionBitmap rows;
  rows.Add(static_cast<uint64_t>(row));
  auto deleted = delta::DeleteRows(location_, Load(), {{file, rows}},
                                   GetParam() == MergeMode::kCopyOnWrite
                                       ? delta::DeleteMode::kCopyOnWrite
                                       : delta::DeleteMode::kDeletionVectors);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  auto schema = Load()->schema();
  auto appended = ChangeBatch({{"insert", "s9", 50, "other", 5}});
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (const auto& f : schema->fields()) columns.push_back(appended->GetColumnByName(f->name()));
  delta::TableWriteOptions append;
  append.deletion_vectors = GetParam() == MergeMode::kDeletionVectors;
  auto written = delta::WriteTable(location_, arrow::Table::Make(schema, columns), append);
  ASSERT_TRUE(written.ok()) << written.status().ToString();

  auto commit = table_->Commit(*batch, *plan, 3, now_ms_);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_FALSE(commit->outcome.already_applied);
  EXPECT_EQ(table_->replans(), 1);
  EXPECT_EQ(TxnVersion(), 3);
  EXPECT_EQ(Rows(),
            (std::vector<Row>{{1, "x", 10, "s1"}, {3, "z", 30, "s1"}, {50, "other", 5, "s9"}}));
  Apply(*table_, {{"delete", "t2", 50, {}, {}}, {"insert", "t2", 2, "b2", 2}}, 4);
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "x", 10, "s1"}, {2, "b2", 2, "t2"}, {3, "z", 30, "s1"}}));
}

TEST_P(MergedTableTest, ABatchAnotherProcessCommittedIsAppliedOnce) {
  InsertOneFileEach(2);
  auto batch = ChangeBatch({{"update", "s1", 1, "x", 10}, {"insert", "s1", 7, "n", 7}});
  auto plan = table_->Plan(*batch, 3, now_ms_);
  ASSERT_TRUE(plan.ok());
  auto zombie = Make();  // a second process on the same table and txn
  Apply(*zombie, {{"update", "s1", 1, "x", 10}, {"insert", "s1", 7, "n", 7}}, 3);
  auto commit = table_->Commit(*batch, *plan, 3, now_ms_);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_TRUE(commit->outcome.already_applied);
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "x", 10, "s1"}, {2, "v2", 2, "s02"}, {7, "n", 7, "s1"}}));
  auto empty = table_->CommitEmpty(3, now_ms_);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->outcome.already_applied);
}

// The entry point rebuilds its index after a truncate (KeyIndex::Apply does
// not follow one) and keeps ignoring older events, also in a new process.
TEST_P(MergedTableTest, TruncateThroughTheEntryPointAndARestart) {
  InsertOneFileEach(3);
  auto commit = Apply(*table_,
                      {{"insert", "s00", 9, "old", 9},
                       {"truncate", "s05", {}, {}, {}},
                       {"update", "s06", 2, "after", 20}},
                      4);
  EXPECT_FALSE(commit.outcome.already_applied);
  EXPECT_EQ(Rows(), (std::vector<Row>{{2, "after", 20, "s06"}}));
  Apply(*table_, {{"update", "s04", 1, "late", 1}, {"insert", "s07", 3, "new", 3}}, 5);
  EXPECT_EQ(Rows(), (std::vector<Row>{{2, "after", 20, "s06"}, {3, "new", 3, "s07"}}));
  auto restarted = Make();
  Apply(*restarted, {{"insert", "s05", 4, "late", 4}, {"delete", "s08", 2, {}, {}}}, 6);
  EXPECT_EQ(Rows(), (std::vector<Row>{{3, "new", 3, "s07"}}));
}

TEST_P(MergedTableTest, AnEmptyCommitOverACompactionRecordsTheVersion) {
  InsertOneFileEach(3);
  CompactAll();  // the held snapshot is now stale
  auto commit = table_->CommitEmpty(4, now_ms_);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(TxnVersion(), 4);
  EXPECT_EQ(Rows().size(), 3u);
}

TEST_P(MergedTableTest, MaintainCompactsTheTableAndItsTombstonesAndFollowsAnotherOptimize) {
  for (int64_t v = 1; v <= 6; ++v) {
    Apply(*table_,
          {{"insert", "s" + std::to_string(v), v + 100, "k", v},
           {"delete", "s" + std::to_string(v), v, {}, {}}},
          v);
  }
  delta::MaintenancePolicy policy;
  policy.compaction.min_small_files = 2;
  int64_t tombstones_vacuum_ms = 0;
  auto report = table_->Maintain(policy, tombstones_vacuum_ms, now_ms_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(tombstones_vacuum_ms, now_ms_);
  auto side = TombstoneLocation(location_);
  ASSERT_TRUE(side.ok());
  auto side_snapshot = delta::LoadIfExists(*side);
  ASSERT_TRUE(side_snapshot.ok() && *side_snapshot);
  EXPECT_EQ((*side_snapshot)->files().size(), 1u);
  // Another writer's OPTIMIZE of what our maintenance would compact: ours
  // then finds nothing of its own to do, or loses and tries later; never fails.
  for (int64_t v = 7; v <= 12; ++v)
    Apply(*table_, {{"insert", "s" + std::to_string(v), v + 100, "k", v}}, v);
  CompactAll();
  report = table_->Maintain(policy, tombstones_vacuum_ms, now_ms_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  Apply(*table_, {{"update", "t", 101, "u", 0}}, 13);
  EXPECT_EQ(Rows().size(), 12u);
}

INSTANTIATE_TEST_SUITE_P(Modes, MergedTableTest,
                         ::testing::Values(MergeMode::kDeletionVectors, MergeMode::kCopyOnWrite));

}  // namespace
}  // namespace sluice::merge
