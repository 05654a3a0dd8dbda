#include "sluice/delta/compaction.h"

#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <fstream>

#include "maintenance_test_util.h"
#include "sluice/delta/log_path.h"
#include "sluice/delta/stats.h"

namespace sluice::delta {
namespace {

using testing::Append;
using testing::DeleteIds;
using testing::Ids;
using testing::Range;

class CompactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("sluice_compact");
    loc_ = *io::OpenTableLocation(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<const Snapshot> Latest() { return *Snapshot::Load(loc_.log); }

  Result<CompactionResult> Compact(const CompactionOptions& options = {}) {
    return CompactTable(loc_, Latest(), options);
  }

  std::vector<Action> Commit(int64_t version) {
    std::ifstream in(dir_ / CommitPath(version));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return *CommitFromJson(text, "test");
  }

  // Each new file's rows must be exactly its segments' rows, taken from the
  // old files as they were before the compaction (DVs not applied).
  void ExpectSegmentsMatchData(const Snapshot& before, const CompactionResult& result) {
    std::map<std::string, std::shared_ptr<arrow::Table>> old_rows;
    for (const auto& f : before.files()) {
      Add raw = f;
      raw.deletion_vector.reset();
      old_rows[f.path] = *ReadDataFile(before, loc_, raw);
    }
    std::map<std::string, const Add*> new_adds;
    for (const auto& f : result.snapshot->files()) new_adds[f.path] = &f;
    for (const auto& file : result.files) {
      ASSERT_TRUE(new_adds.count(file.path)) << file.path;
      auto actual = *ReadDataFile(*result.snapshot, loc_, *new_adds[file.path]);
      EXPECT_EQ(actual->num_rows(), file.rows);
      std::vector<std::shared_ptr<arrow::Table>> pieces;
      for (const auto& seg : file.segments) {
        ASSERT_TRUE(std::is_sorted(seg.rows.begin(), seg.rows.end()));
        arrow::Int64Builder idx;
        for (auto r : seg.rows) ASSERT_TRUE(idx.Append(static_cast<int64_t>(r)).ok());
        auto taken = arrow::compute::Take(old_rows.at(seg.old_path), *idx.Finish());
        ASSERT_TRUE(taken.ok()) << taken.status().ToString();
        pieces.push_back(taken->table());
      }
      auto expected = *arrow::ConcatenateTables(pieces);
      EXPECT_TRUE(expected->Equals(*actual))
          << "file " << file.path << "\nexpected " << expected->ToString() << "\nactual "
          << actual->ToString();
    }
  }

  std::filesystem::path dir_;
  io::TableLocation loc_;
};

TEST_F(CompactionTest, SmallFilesAreBinPackedInOrderWithStats) {
  for (int i = 0; i < 6; ++i) Append(loc_, i * 10, 10);
  auto before = Latest();
  auto r = CompactTable(loc_, before, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->committed);
  EXPECT_EQ(r->read_version, 5);
  EXPECT_EQ(r->version, 6);
  EXPECT_EQ(r->files_removed, 6);
  EXPECT_EQ(r->files_added, 1);
  EXPECT_EQ(r->rows, 60);
  EXPECT_GT(r->bytes_before, 0);
  EXPECT_GT(r->bytes_after, 0);
  EXPECT_EQ(Ids(loc_), Range(0, 60));  // file order kept
  ExpectSegmentsMatchData(*before, *r);
  // One commit: OPTIMIZE, 6 removes (dataChange=false, extended metadata),
  // 1 add with dataChange=false and full stats.
  int removes = 0, adds = 0;
  for (const auto& a : Commit(6)) {
    if (auto* rm = std::get_if<Remove>(&a)) {
      ++removes;
      EXPECT_FALSE(rm->data_change);
      EXPECT_EQ(rm->extended_file_metadata, std::optional<bool>(true));
      EXPECT_TRUE(rm->size.has_value() && rm->stats.has_value());
    }
    if (auto* add = std::get_if<Add>(&a)) {
      ++adds;
      EXPECT_FALSE(add->data_change);
      ASSERT_TRUE(add->stats);
      EXPECT_EQ(*NumRecordsFromStats(*add->stats), std::optional<int64_t>(60));
      EXPECT_NE(add->stats->find("\"minValues\":{\"id\":0"), std::string::npos) << *add->stats;
      EXPECT_NE(add->stats->find("\"maxValues\":{\"id\":59"), std::string::npos) << *add->stats;
    }
    if (auto* info = std::get_if<CommitInfo>(&a)) {
      EXPECT_NE(info->json.find("\"operation\":\"OPTIMIZE\""), std::string::npos);
    }
  }
  EXPECT_EQ(removes, 6);
  EXPECT_EQ(adds, 1);
  // Idempotent: the result is one file, nothing qualifies any more.
  auto again = Compact();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->committed);
  EXPECT_EQ(Latest()->version(), 6);
}

TEST_F(CompactionTest, DeletionVectorsAreAppliedAndRemovesCarryThem) {
  for (int i = 0; i < 5; ++i) Append(loc_, i * 10, 10);
  DeleteIds(loc_, {0, 3, 17, 44, 49});
  auto before = Latest();
  std::map<std::string, DeletionVectorDescriptor> dvs;
  for (const auto& f : before->files()) {
    if (f.deletion_vector) dvs[f.path] = *f.deletion_vector;
  }
  ASSERT_EQ(dvs.size(), 3u);
  // A DV update re-adds its file at the end of the snapshot: the order
  // readers see is not the id order, and compaction must keep it.
  const auto order = Ids(loc_);
  ASSERT_NE(order.front(), 1);
  auto r = CompactTable(loc_, before, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->committed);
  EXPECT_EQ(r->rows, 45);
  EXPECT_EQ(r->rows_purged, 5);
  EXPECT_EQ(Ids(loc_), order);  // same rows, same order: deleted ones not resurrected
  EXPECT_EQ(order.size(), 45u);
  auto compacted = Latest();
  for (const auto& f : compacted->files()) EXPECT_FALSE(f.deletion_vector) << f.path;
  ExpectSegmentsMatchData(*before, *r);
  // Each remove names the DV of the add it retires, so readers dedup by (path, dv).
  int with_dv = 0;
  for (const auto& a : Commit(r->version)) {
    if (auto* rm = std::get_if<Remove>(&a)) {
      auto it = dvs.find(rm->path);
      if (it == dvs.end()) {
        EXPECT_FALSE(rm->deletion_vector) << rm->path;
      } else {
        ASSERT_TRUE(rm->deletion_vector) << rm->path;
        EXPECT_EQ(*rm->deletion_vector, it->second);
        ++with_dv;
      }
    }
  }
  EXPECT_EQ(with_dv, 3);
}

TEST_F(CompactionTest, FileWithManyDeletedRowsIsRewrittenAloneAboveTheRatioOnly) {
  Append(loc_, 0, 100);
  Append(loc_, 100, 100);
  CompactionOptions options;
  options.small_file_size = 1;    // nothing is "small": only the DV ratio counts
  DeleteIds(loc_, Range(0, 15));  // 15% of file 1
  auto below = Compact(options);
  ASSERT_TRUE(below.ok());
  EXPECT_FALSE(below->committed);
  DeleteIds(loc_, Range(15, 10));  // 25% of file 1
  auto before = Latest();
  auto r = CompactTable(loc_, before, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->committed);
  EXPECT_EQ(r->files_removed, 1);  // file 2 (no DV) untouched
  EXPECT_EQ(r->files_added, 1);
  EXPECT_EQ(r->rows, 75);
  EXPECT_EQ(r->rows_purged, 25);
  // The rewritten file's rows now come after file 2's: the snapshot lists the
  // untouched file first, then the new one.
  auto ids = Ids(loc_);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, Range(25, 175));
  ExpectSegmentsMatchData(*before, *r);
  // A ratio of 0.3 leaves a 25% file alone.
  DeleteIds(loc_, Range(100, 25));
  options.max_deleted_ratio = 0.3;
  auto high = Compact(options);
  ASSERT_TRUE(high.ok());
  EXPECT_FALSE(high->committed);
}

TEST_F(CompactionTest, FileFullyDeletedIsRemovedWithoutReplacement) {
  Append(loc_, 0, 10);
  Append(loc_, 10, 10);
  DeleteIds(loc_, Range(0, 10));
  CompactionOptions options;
  options.small_file_size = 1;
  auto r = Compact(options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->committed);
  EXPECT_EQ(r->files_removed, 1);
  EXPECT_EQ(r->files_added, 0);
  EXPECT_EQ(Ids(loc_), Range(10, 10));
}

TEST_F(CompactionTest, SplitsAtTheTargetSizeAndSegmentsFollowTheRows) {
  for (int i = 0; i < 6; ++i) Append(loc_, i * 2000, 2000);
  DeleteIds(loc_, {5, 1999, 2000, 7000, 11999});
  auto before = Latest();
  const auto order = Ids(loc_);
  CompactionOptions options;
  options.target_file_size = 20000;  // several outputs, an input split across two
  options.small_file_size = 1 << 20;
  options.min_small_files = 2;
  options.data.row_group_rows = 500;
  options.data.compression = "uncompressed";
  auto r = CompactTable(loc_, before, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->committed);
  EXPECT_GT(r->files_added, 1);
  bool some_input_split = false;
  std::map<std::string, int> pieces;
  for (const auto& f : r->files) {
    for (const auto& s : f.segments) {
      if (++pieces[s.old_path] > 1) some_input_split = true;
    }
  }
  EXPECT_TRUE(some_input_split);
  ExpectSegmentsMatchData(*before, *r);
  // Every input is in a bin, so the reading order is kept overall.
  EXPECT_EQ(Ids(loc_), order);
  EXPECT_EQ(order.size(), 12000u - 5);
}

TEST_F(CompactionTest, PartitionsAreCompactedSeparately) {
  for (int i = 0; i < 5; ++i) {
    Append(loc_, i * 10, 5, "a");
    Append(loc_, i * 10 + 5, 5, "b=c/d");  // a value that needs escaping
  }
  Append(loc_, 100, 3, "z");  // alone in its partition: nothing to merge with
  auto before = Latest();
  auto r = CompactTable(loc_, before, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->committed);
  EXPECT_EQ(r->files_removed, 10);
  EXPECT_EQ(r->files_added, 2);
  ExpectSegmentsMatchData(*before, *r);
  std::map<std::string, std::vector<int64_t>> by_partition;
  auto after = Latest();
  for (const auto& f : after->files()) {
    auto rows = *ReadDataFile(*after, loc_, f);
    auto id = std::static_pointer_cast<arrow::Int64Array>(rows->GetColumnByName("id")->chunk(0));
    auto p = std::static_pointer_cast<arrow::StringArray>(rows->GetColumnByName("p")->chunk(0));
    for (int64_t i = 0; i < rows->num_rows(); ++i) {
      // Every row of a file has the file's partition value.
      EXPECT_EQ(std::string(p->GetView(i)), *f.partition_values.at("p"));
      by_partition[*f.partition_values.at("p")].push_back(id->Value(i));
    }
    // The file sits in its partition's directory.
    EXPECT_TRUE(std::filesystem::exists(*ResolveDataPath(loc_, f.path))) << f.path;
    if (*f.partition_values.at("p") == "b=c/d") {
      EXPECT_EQ(DecodeAddPath(f.path).rfind("p=b%3Dc%2Fd/", 0), 0u) << f.path;
    }
  }
  std::vector<int64_t> a, b;
  for (int i = 0; i < 5; ++i) {
    for (auto id : Range(i * 10, 5)) a.push_back(id);
    for (auto id : Range(i * 10 + 5, 5)) b.push_back(id);
  }
  EXPECT_EQ(by_partition["a"], a);
  EXPECT_EQ(by_partition["b=c/d"], b);
  EXPECT_EQ(by_partition["z"], Range(100, 3));
}

TEST_F(CompactionTest, NothingQualifiesMeansNoCommit) {
  for (int i = 0; i < 4; ++i) Append(loc_, i * 10, 10);  // 4 < min_small_files
  auto r = Compact();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->committed);
  EXPECT_EQ(r->version, 3);
  EXPECT_EQ(r->files_deferred, 4);
  EXPECT_FALSE(std::filesystem::exists(dir_ / CommitPath(4)));
  EXPECT_EQ(testing::FilesUnder(dir_, ".parquet").size(), 4u);  // nothing written
  // With a lower threshold the same table compacts.
  CompactionOptions two;
  two.min_small_files = 2;
  auto c = Compact(two);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->committed);
}

TEST_F(CompactionTest, MaxBytesBoundsOneRunAndTheRestIsDeferred) {
  for (int i = 0; i < 4; ++i) Append(loc_, i * 10, 10, "a");
  for (int i = 0; i < 4; ++i) Append(loc_, 100 + i * 10, 10, "b");
  CompactionOptions options;
  options.min_small_files = 2;
  options.max_bytes = 1;  // the first bin always runs
  auto r = Compact(options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->committed);
  EXPECT_EQ(r->files_removed, 4);
  EXPECT_EQ(r->files_deferred, 4);
  auto next = Compact(options);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->committed);
  EXPECT_EQ(next->files_removed, 4);
  // Left: partition a's compacted file, small and alone in its partition.
  EXPECT_EQ(next->files_deferred, 1);
}

TEST_F(CompactionTest, ConcurrentRemoveOfAnInputConflictsAndLeavesNoTrace) {
  for (int i = 0; i < 5; ++i) Append(loc_, i * 10, 10);
  auto base = Latest();
  // Another writer deletes a row (a DV update = remove + add of that file)
  // after the compaction read the table.
  DeleteIds(loc_, {12});
  const auto order = Ids(loc_);
  auto parquet_before = testing::FilesUnder(dir_, ".parquet");
  auto r = CompactTable(loc_, base, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsCommitConflict(r.status())) << r.status().ToString();
  EXPECT_NE(r.status().message().find(dir_.string()), std::string::npos) << r.status().ToString();
  // The deleted row stays deleted, and the files written were cleaned up.
  EXPECT_EQ(Ids(loc_), order);
  EXPECT_EQ(std::count(order.begin(), order.end(), 12), 0);
  EXPECT_EQ(testing::FilesUnder(dir_, ".parquet"), parquet_before);
  EXPECT_EQ(Latest()->version(), 5);
}

TEST_F(CompactionTest, ConcurrentAppendDoesNotConflict) {
  for (int i = 0; i < 5; ++i) Append(loc_, i * 10, 10);
  auto base = Latest();
  Append(loc_, 500, 3);
  auto r = CompactTable(loc_, base, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 6);
  auto ids = Ids(loc_);
  std::sort(ids.begin(), ids.end());
  auto expected = Range(0, 50);
  for (auto id : Range(500, 3)) expected.push_back(id);
  EXPECT_EQ(ids, expected);
}

TEST_F(CompactionTest, TagsKeptOnlyWhereInputsAgreeUnlessARuleIsGiven) {
  for (int i = 0; i < 5; ++i) Append(loc_, i * 10, 10);
  // Tag the files through a rewrite of the log state: a commit re-adding
  // each file with tags (dataChange=false, same path replaces the add).
  auto s = Latest();
  Transaction t(s, "TAG");
  int n = 0;
  for (auto f : s->files()) {
    f.tags = std::map<std::string, std::string>{{"same", "x"}, {"n", std::to_string(n++)}};
    f.data_change = false;
    t.AddFile(f);
  }
  ASSERT_TRUE(t.Commit().ok());
  auto r = Compact();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(Latest()->files().size(), 1u);
  auto tags = Latest()->files()[0].tags;
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, (std::map<std::string, std::string>{{"same", "x"}}));
}

TEST(CompactionPlanTest, PlanningNeedsNoDataAndRespectsThresholds) {
  auto dir = testing::TestDir("sluice_compact_plan");
  auto loc = *io::OpenTableLocation(dir.string());
  for (int i = 0; i < 7; ++i) Append(loc, i * 10, 10);
  auto snapshot = *Snapshot::Load(loc.log);
  // Planning works from the log alone: remove every data file first.
  for (const auto& f : testing::FilesUnder(dir, ".parquet")) std::filesystem::remove(f);
  CompactionOptions options;
  auto plan = PlanCompaction(*snapshot, options);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->bins.size(), 1u);
  EXPECT_EQ(plan->bins[0].inputs.size(), 7u);
  // A target smaller than two files splits the candidates into bins of two,
  // each below min_small_files: all deferred.
  options.target_file_size = snapshot->files()[0].size * 2;
  options.small_file_size = options.target_file_size;
  plan = PlanCompaction(*snapshot, options);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->Empty());
  EXPECT_EQ(plan->files_deferred, 7);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::delta
