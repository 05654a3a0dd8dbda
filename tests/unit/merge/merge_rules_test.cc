// The merge rules of DESIGN.md §4, each on a real temp table over several
// commits, in both merge modes; after every commit the incrementally updated
// key index must equal one rebuilt from the table.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>

#include "merge_test_util.h"
#include "sluice/merge/key_index.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/merge_writer.h"
#include "sluice/merge/merged_table.h"
#include "sluice/merge/tombstone_store.h"

namespace sluice::merge {
namespace {

using testing::ChangeBatch;
using testing::Event;
using testing::Row;

constexpr const char* kApp = "test/app";
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

class MergeRulesTest : public ::testing::TestWithParam<MergeMode> {
 protected:
  void SetUp() override { Open(testing::TestDir("sluice_merge")); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Open(std::filesystem::path dir) {
    dir_ = std::move(dir);
    auto loc = io::OpenTableLocation(dir_.string());
    ASSERT_TRUE(loc.ok()) << loc.status().ToString();
    location_ = *loc;
  }

  /// Plans and commits one batch as txn version ++version_; returns the plan.
  MergePlan Merge(const std::vector<Event>& events) {
    auto batch = ChangeBatch(events);
    if (!index_) {
      auto encoder = KeyEncoder::Make(*batch->schema(), {"id"});
      EXPECT_TRUE(encoder.ok());
      index_ = std::make_unique<KeyIndex>(*encoder, location_);
    }
    ++version_;
    auto plan = PlanBatch(*index_, *batch, {now_ms_, version_});
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok()) return {};
    auto snapshot = delta::LoadIfExists(location_);
    EXPECT_TRUE(snapshot.ok());
    MergeWriteOptions options;
    options.mode = GetParam();
    options.app_id = kApp;
    options.version = version_;
    options.now_ms = now_ms_;
    auto commit = WriteMerge(location_, *snapshot, *plan, options);
    EXPECT_TRUE(commit.ok()) << commit.status().ToString();
    if (!commit.ok()) return {};
    if (plan->truncate_seq.empty()) {
      EXPECT_TRUE(index_->Apply(*plan, commit->outcome).ok());
      CheckRebuild();
    } else {
      // A truncate is not followed key by key: the index is rebuilt (as
      // MergedTable does).
      EXPECT_FALSE(index_->Apply(*plan, commit->outcome).ok());
      Rebuild();
    }
    return std::move(*plan);
  }

  /// The index rebuilt from the table, as after a restart.
  void Rebuild() {
    auto snapshot = delta::Snapshot::Load(location_.log);
    ASSERT_TRUE(snapshot.ok());
    auto done = (*snapshot)->TxnVersion(kApp).value_or(-1);
    auto tombs = LoadTombstones(location_, done, now_ms_ - kDefaultTombstoneRetentionMs);
    ASSERT_TRUE(tombs.ok()) << tombs.status().ToString();
    auto rebuilt = KeyIndex::Build(**snapshot, location_, index_->encoder(), *tombs);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
    index_ = std::move(*rebuilt);
  }

  /// The index rebuilt from the table equals the incremental one.
  void CheckRebuild() {
    auto snapshot = delta::Snapshot::Load(location_.log);
    ASSERT_TRUE(snapshot.ok());
    auto done = (*snapshot)->TxnVersion(kApp).value_or(-1);
    auto tombs = LoadTombstones(location_, done, now_ms_ - kDefaultTombstoneRetentionMs);
    ASSERT_TRUE(tombs.ok()) << tombs.status().ToString();
    auto rebuilt = KeyIndex::Build(**snapshot, location_, index_->encoder(), *tombs);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
    EXPECT_EQ((*rebuilt)->version(), index_->version());
    EXPECT_EQ((*rebuilt)->Entries(), index_->Entries());
  }

  std::vector<Row> Rows() { return testing::ReadRows(location_); }

  std::filesystem::path dir_;
  io::TableLocation location_;
  std::unique_ptr<KeyIndex> index_;
  int64_t version_ = 0;
  int64_t now_ms_ = 1'700'000'000'000;
};

TEST_P(MergeRulesTest, OnlyTheLatestEventPerKeyInABatchCounts) {
  auto plan = Merge({{"insert", "s1", 1, "a", 1},
                     {"update", "s3", 1, "c", 3},
                     {"update", "s2", 1, "b", 2},
                     {"insert", "s1", 2, "x", 1},
                     {"update", "s1", 2, "replay", 9}});  // equal seq: first wins
  EXPECT_EQ(plan.counts.superseded, 3);
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "c", 3, "s3"}, {2, "x", 1, "s1"}}));
}

TEST_P(MergeRulesTest, OlderOrEqualSequenceIsIgnoredAcrossBatches) {
  Merge({{"insert", "s5", 1, "a", 1}});
  auto older = Merge({{"update", "s3", 1, "older", 2}});
  EXPECT_EQ(older.counts.ignored_stale, 1);
  auto replay = Merge({{"update", "s5", 1, "replay", 3}});
  EXPECT_EQ(replay.counts.ignored_stale, 1);
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "a", 1, "s5"}}));
  auto newer = Merge({{"update", "s6", 1, "newer", 4}});
  EXPECT_EQ(newer.counts.rows_deleted, 1);
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "newer", 4, "s6"}}));
}

TEST_P(MergeRulesTest, DeleteTombstonePreventsALateOlderInsert) {
  Merge({{"insert", "s1", 1, "a", 1}, {"insert", "s1", 2, "b", 2}});
  Merge({{"delete", "s5", 1, "a", 1}, {"delete", "s5", 3, {}, {}}});  // 3 was never seen
  auto late = Merge({{"insert", "s3", 1, "late", 1}, {"insert", "s4", 3, "late", 3}});
  EXPECT_EQ(late.counts.ignored_stale, 2);
  EXPECT_EQ(Rows(), (std::vector<Row>{{2, "b", 2, "s1"}}));
  EXPECT_EQ(index_->tombstone_count(), 2);
}

TEST_P(MergeRulesTest, PrimaryKeyChangeMovesTheRow) {
  Merge({{"insert", "s1", 1, "a", 1}, {"insert", "s1", 5, "e", 5}});
  // Datastream: UPDATE-DELETE (old key) + UPDATE-INSERT (new key).
  Merge({{"delete", "s2a", 1, "a", 1}, {"update", "s2b", 2, "a", 1}});
  // Debezium may order them the other way round within the batch.
  Merge({{"update", "s3b", 6, "e", 5}, {"delete", "s3a", 5, "e", 5}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{2, "a", 1, "s2b"}, {6, "e", 5, "s3b"}}));
  // A late event for an old key stays dead.
  auto late = Merge({{"update", "s2", 1, "stale", 0}});
  EXPECT_EQ(late.counts.ignored_stale, 1);
  EXPECT_EQ(Rows().size(), 2u);
}

TEST_P(MergeRulesTest, AnUpdateThatSetsNullSetsNull) {
  Merge({{"insert", "s1", 1, "a", 10}});
  Merge({{"update", "s2", 1, {}, {}}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, std::nullopt, std::nullopt, "s2"}}));
}

TEST_P(MergeRulesTest, ReinsertAfterDeleteWorksWhenNewer) {
  Merge({{"insert", "s1", 1, "a", 1}});
  Merge({{"delete", "s2", 1, "a", 1}});
  EXPECT_TRUE(Rows().empty());
  Merge({{"insert", "s3", 1, "again", 3}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "again", 3, "s3"}}));
  // Within one batch: delete then re-insert; the later event wins.
  Merge({{"delete", "s4", 1, {}, {}}, {"insert", "s5", 1, "third", 5}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "third", 5, "s5"}}));
  // The old tombstone does not block, an older delete does not either.
  auto old_delete = Merge({{"delete", "s4", 1, {}, {}}});
  EXPECT_EQ(old_delete.counts.ignored_stale, 1);
  EXPECT_EQ(Rows().size(), 1u);
}

TEST_P(MergeRulesTest, NullKeyOrMissingSequenceIsReportedInvalid) {
  auto plan = Merge({{"insert", "s1", {}, "nokey", 1},
                     {"insert", "", 2, "noseq", 2},
                     {"insert", "s1", 3, "ok", 3}});
  ASSERT_EQ(plan.invalid.size(), 2u);
  EXPECT_EQ(plan.invalid[0].row, 0);
  EXPECT_EQ(plan.invalid[0].reason, "primary key column 'id' is null");
  EXPECT_EQ(plan.invalid[1].row, 1);
  EXPECT_NE(plan.invalid[1].reason.find("sequence"), std::string::npos);
  EXPECT_EQ(plan.counts.invalid, 2);
  EXPECT_EQ(Rows(), (std::vector<Row>{{3, "ok", 3, "s1"}}));
}

TEST_P(MergeRulesTest, SnapshotRowsAndTruncate) {
  Merge({{"snapshot", "a0", 1, "backfill", 1}, {"insert", "b1", 1, "cdc", 2}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "cdc", 2, "b1"}}));
  // A truncate's key columns are NULL: it is not a dead letter.
  auto plan = Merge({{"truncate", "c1", {}, {}, {}}});
  EXPECT_EQ(plan.counts.invalid, 0);
  EXPECT_EQ(plan.counts.truncates, 1);
  EXPECT_EQ(Rows(), (std::vector<Row>{}));
}

// Truncate (docs/merge.md "Truncate"): every row older than it goes, events
// of the batch after it stay, and no event at or before it ever comes back,
// also after a restart (the watermark is stored in the table's configuration).
TEST_P(MergeRulesTest, TruncateDeletesOlderRowsAndKeepsLaterEventsOfTheBatch) {
  Merge({{"insert", "s1", 1, "a", 1}, {"insert", "s1", 2, "b", 2}, {"insert", "s2", 3, "c", 3}});
  auto plan = Merge({{"update", "s3", 1, "x", 9},
                     {"truncate", "s4", {}, {}, {}},
                     {"insert", "s5", 4, "d", 4},
                     {"update", "s6", 2, "after", 5}});
  EXPECT_EQ(plan.truncate_seq, "s4");
  EXPECT_EQ(plan.counts.truncates, 1);
  EXPECT_EQ(plan.counts.rows_truncated, 3);
  EXPECT_EQ(plan.counts.rows_deleted, 3);
  EXPECT_EQ(plan.counts.ignored_stale, 1);  // id 1's s3 update is before the truncate
  EXPECT_EQ(Rows(), (std::vector<Row>{{2, "after", 5, "s6"}, {4, "d", 4, "s5"}}));
  EXPECT_EQ(index_->truncate_seq(), "s4");
  auto snapshot = delta::Snapshot::Load(location_.log);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ((*snapshot)->metadata().configuration.at(kTruncateSeqProperty), "7334");

  // Late events older than (or at) the truncate: ignored, also after a restart.
  auto late = Merge({{"insert", "s35", 5, "late", 1}, {"update", "s4", 1, "same seq", 1}});
  EXPECT_EQ(late.counts.ignored_stale, 2);
  Rebuild();
  EXPECT_EQ(index_->truncate_seq(), "s4");
  late = Merge({{"update", "s3", 3, "late", 1}, {"insert", "s7", 6, "new", 6}});
  EXPECT_EQ(late.counts.ignored_stale, 1);
  EXPECT_EQ(Rows(),
            (std::vector<Row>{{2, "after", 5, "s6"}, {4, "d", 4, "s5"}, {6, "new", 6, "s7"}}));
  // A replayed or older truncate changes nothing.
  auto replay = Merge({{"truncate", "s4", {}, {}, {}}, {"truncate", "s2", {}, {}, {}}});
  EXPECT_TRUE(replay.truncate_seq.empty());
  EXPECT_EQ(replay.counts.rows_deleted, 0);
  EXPECT_EQ(Rows().size(), 3u);
}

TEST_P(MergeRulesTest, ALateTruncateSparesNewerRows) {
  // One file holding rows on both sides of the truncate: decided by their
  // exact sequences; a file wholly older goes by its bound.
  Merge({{"insert", "s1", 1, "old", 1}});
  Merge({{"insert", "s3", 2, "older", 2}, {"insert", "s9", 3, "newer", 3}});
  auto plan = Merge({{"truncate", "s5", {}, {}, {}}});
  EXPECT_EQ(plan.counts.rows_truncated, 2);
  EXPECT_GE(plan.counts.exact_seq_reads, 2);
  EXPECT_EQ(Rows(), (std::vector<Row>{{3, "newer", 3, "s9"}}));
  // A delete after the truncate still leaves its tombstone.
  Merge({{"delete", "s95", 3, {}, {}}});
  auto late = Merge({{"insert", "s92", 3, "late", 1}});  // after the truncate, before the delete
  EXPECT_EQ(late.counts.ignored_stale, 1);
  EXPECT_EQ(Rows(), (std::vector<Row>{}));
}

TEST_P(MergeRulesTest, TruncateInTheFirstBatchCreatesTheTableWithItsWatermark) {
  auto plan = Merge({{"insert", "s1", 1, "gone", 1},
                     {"truncate", "s2", {}, {}, {}},
                     {"insert", "s3", 2, "kept", 2}});
  EXPECT_EQ(plan.counts.ignored_stale, 1);
  EXPECT_EQ(Rows(), (std::vector<Row>{{2, "kept", 2, "s3"}}));
  EXPECT_EQ(index_->truncate_seq(), "s2");
}

TEST(TruncateSeqTest, HexRoundTripAndRefusals) {
  EXPECT_EQ(EncodeTruncateSeq(std::string("\x00\xffz", 3)), "00ff7a");
  EXPECT_EQ(*DecodeTruncateSeq("00ff7a"), std::string("\x00\xffz", 3));
  EXPECT_FALSE(DecodeTruncateSeq("0").ok());
  EXPECT_FALSE(DecodeTruncateSeq("zz").ok());
  EXPECT_FALSE(DecodeTruncateSeq("").ok());
}

TEST_P(MergeRulesTest, ARetriedBatchIsNotAppliedTwice) {
  Merge({{"insert", "s1", 1, "a", 1}});
  auto batch = ChangeBatch({{"update", "s2", 1, "b", 2}});
  auto plan = PlanBatch(*index_, *batch, {now_ms_, version_});  // same txn version
  ASSERT_TRUE(plan.ok());
  MergeWriteOptions options;
  options.mode = GetParam();
  options.app_id = kApp;
  options.version = version_;
  auto commit = WriteMerge(location_, *delta::LoadIfExists(location_), *plan, options);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_TRUE(commit->outcome.already_applied);
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "a", 1, "s1"}}));
}

TEST_P(MergeRulesTest, CrashBetweenTombstonesAndMainCommitIsRedone) {
  Merge({{"insert", "s1", 1, "a", 1}, {"insert", "s1", 2, "b", 2}});
  // The batch of version 2 wrote its tombstones, then the process died.
  auto batch = ChangeBatch({{"delete", "s2", 1, {}, {}}});
  auto plan = PlanBatch(*index_, *batch, {now_ms_, version_ + 1});
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(CommitTombstones(location_, plan->tombstones, kApp, version_ + 1, 0).ok());
  // A new process rebuilds the index: the orphan tombstone must not count.
  index_.reset();
  auto snapshot = *delta::Snapshot::Load(location_.log);
  auto tombs = LoadTombstones(location_, snapshot->TxnVersion(kApp).value_or(-1), 0);
  ASSERT_TRUE(tombs.ok());
  EXPECT_TRUE(tombs->empty());
  auto encoder = *KeyEncoder::Make(*batch->schema(), {"id"});
  index_ = std::move(*KeyIndex::Build(*snapshot, location_, encoder, *tombs));
  // Redo the batch: side table skipped, main commit applies the delete.
  Merge({{"delete", "s2", 1, {}, {}}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{2, "b", 2, "s1"}}));
  EXPECT_EQ(index_->tombstone_count(), 1);
}

TEST_P(MergeRulesTest, TombstonesArePurgedAfterTheRetention) {
  Merge({{"insert", "s1", 1, "a", 1}});
  Merge({{"delete", "s5", 1, {}, {}}});
  now_ms_ += 8 * kDayMs;
  index_->PurgeTombstones(now_ms_ - kDefaultTombstoneRetentionMs);
  Merge({{"insert", "s1", 2, "other", 2}});  // commits the purge
  auto all = LoadTombstones(location_, version_, 0);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  // Past the retention a late, older insert brings the row back (documented).
  Merge({{"insert", "s3", 1, "late", 1}});
  EXPECT_EQ(Rows().size(), 2u);
}

// A random workload against the simplest possible model of the rules.
TEST_P(MergeRulesTest, RandomWorkloadMatchesAReplayModel) {
  std::mt19937 rng(42);
  struct State {
    std::string seq;
    bool live = false;
    std::optional<std::string> name;
    std::optional<int64_t> amount;
  };
  std::map<int64_t, State> model;
  int counter = 0;
  for (int b = 0; b < 12; ++b) {
    std::vector<Event> events;
    int n = 1 + static_cast<int>(rng() % 40);
    for (int e = 0; e < n; ++e) {
      // Mostly increasing sequences, sometimes late ones and replays.
      int s = counter + static_cast<int>(rng() % 7) - 4;
      ++counter;
      char seq[16];
      std::snprintf(seq, sizeof(seq), "q%08d", std::max(s, 0));
      const char* ops[] = {"insert", "update", "update", "delete", "snapshot"};
      std::optional<std::string> name;
      if (rng() % 4) name = "n" + std::to_string(rng() % 100);
      events.push_back({ops[rng() % 5], seq, static_cast<int64_t>(rng() % 25), name,
                        static_cast<int64_t>(rng() % 1000)});
    }
    // Model: per key the latest (first among equals), then vs the table.
    std::map<int64_t, size_t> winner;
    for (size_t i = 0; i < events.size(); ++i) {
      auto it = winner.find(*events[i].id);
      if (it == winner.end() || events[i].seq > events[it->second].seq) winner[*events[i].id] = i;
    }
    for (const auto& [id, i] : winner) {
      const Event& e = events[i];
      auto it = model.find(id);
      if (it != model.end() && e.seq <= it->second.seq) continue;
      model[id] = State{e.seq, e.op != "delete", e.name, e.amount};
    }
    Merge(events);
  }
  std::vector<Row> expected;
  for (const auto& [id, s] : model) {
    if (s.live) expected.emplace_back(id, s.name, s.amount, s.seq);
  }
  EXPECT_EQ(Rows(), expected);
}

// A composite (int, double) key, as a MySQL table with a FLOAT in its
// primary key: keys compare by value as Spark's MERGE compares them, -0.0
// equal to 0.0 and NaN equal to NaN.
struct FloatKeyEvent {
  std::string op;
  std::string seq;
  int64_t id;
  double f;
  std::string name;
};

std::shared_ptr<arrow::RecordBatch> FloatKeyBatch(const std::vector<FloatKeyEvent>& events) {
  arrow::Int64Builder id;
  arrow::DoubleBuilder f;
  arrow::StringBuilder name, op;
  arrow::BinaryBuilder seq;
  auto ts_type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  arrow::TimestampBuilder ts(ts_type, arrow::default_memory_pool());
  for (const auto& e : events) {
    EXPECT_TRUE(id.Append(e.id).ok());
    EXPECT_TRUE(f.Append(e.f).ok());
    EXPECT_TRUE(name.Append(e.name).ok());
    EXPECT_TRUE(op.Append(e.op).ok());
    EXPECT_TRUE(seq.Append(e.seq).ok());
    EXPECT_TRUE(ts.Append(1'700'000'000'000'000).ok());
  }
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("float64_field", arrow::float64()),
       arrow::field("name", arrow::utf8()), arrow::field("_cdc_op", arrow::utf8(), false),
       arrow::field("_cdc_seq", arrow::binary(), false), arrow::field("_cdc_ts", ts_type)});
  return arrow::RecordBatch::Make(
      schema, static_cast<int64_t>(events.size()),
      {id.Finish().ValueOrDie(), f.Finish().ValueOrDie(), name.Finish().ValueOrDie(),
       op.Finish().ValueOrDie(), seq.Finish().ValueOrDie(), ts.Finish().ValueOrDie()});
}

/// (id, the double as printed: "nan", "-0", "1.5", ..., name), sorted.
std::vector<std::tuple<int64_t, std::string, std::string>> FloatKeyRows(
    const io::TableLocation& location) {
  auto snapshot = delta::Snapshot::Load(location.log);
  EXPECT_TRUE(snapshot.ok());
  auto table = delta::ReadSnapshot(**snapshot, location).ValueOrDie();
  auto b = table->CombineChunksToBatch().ValueOrDie();
  auto id = std::static_pointer_cast<arrow::Int64Array>(b->GetColumnByName("id"));
  auto f = std::static_pointer_cast<arrow::DoubleArray>(b->GetColumnByName("float64_field"));
  auto name = std::static_pointer_cast<arrow::StringArray>(b->GetColumnByName("name"));
  std::vector<std::tuple<int64_t, std::string, std::string>> rows;
  for (int64_t i = 0; i < b->num_rows(); ++i) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", f->Value(i));
    rows.emplace_back(id->Value(i), std::isnan(f->Value(i)) ? "nan" : text, name->GetString(i));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST_P(MergeRulesTest, ACompositeKeyWithADoubleMatchesByValue) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double other_nan = -std::numeric_limits<double>::quiet_NaN();
  using Rows3 = std::vector<std::tuple<int64_t, std::string, std::string>>;
  MergeSettings settings;
  settings.mode = GetParam();
  auto open = [&] {
    auto t = std::make_unique<MergedTable>(
        dir_.string(), std::vector<std::string>{"id", "float64_field"}, kApp, settings);
    EXPECT_TRUE(t->Open().ok());
    return t;
  };
  auto table = open();
  auto apply = [&](MergedTable& t, const std::vector<FloatKeyEvent>& events, int64_t version) {
    auto applied = t.Apply(*FloatKeyBatch(events), version, now_ms_);
    EXPECT_TRUE(applied.ok()) << applied.status().ToString();
    return applied.ok() ? applied->plan.counts : MergeCounts{};
  };
  apply(*table,
        {{"insert", "s1", 1, 0.0, "a"},
         {"insert", "s2", 1, nan, "n"},
         {"insert", "s3", 2, -0.0, "b"}},
        1);
  EXPECT_EQ(FloatKeyRows(location_), (Rows3{{1, "0", "a"}, {1, "nan", "n"}, {2, "-0", "b"}}));
  // -0.0 updates the 0.0 row, another NaN the NaN row, 0.0 the -0.0 row.
  auto counts = apply(*table,
                      {{"update", "s4", 1, -0.0, "a2"},
                       {"update", "s5", 1, other_nan, "n2"},
                       {"update", "s6", 2, 0.0, "b2"}},
                      2);
  EXPECT_EQ(counts.upserts, 3);
  EXPECT_EQ(counts.rows_deleted, 3);
  EXPECT_EQ(FloatKeyRows(location_), (Rows3{{1, "-0", "a2"}, {1, "nan", "n2"}, {2, "0", "b2"}}));
  // A delete by the other zero, a late (older) NaN event ignored.
  counts = apply(*table, {{"delete", "s7", 1, 0.0, ""}, {"update", "s0", 1, nan, "old"}}, 3);
  EXPECT_EQ(counts.ignored_stale, 1);
  EXPECT_EQ(FloatKeyRows(location_), (Rows3{{1, "nan", "n2"}, {2, "0", "b2"}}));
  // After a restart (index rebuilt from the files and tombstones), the same.
  table = open();
  counts = apply(*table,
                 {{"insert", "s3", 1, -0.0, "late"},  // older than the delete's tombstone
                  {"update", "s8", 2, -0.0, "b3"},
                  {"update", "s8", 1, nan, "n3"}},
                 4);
  EXPECT_EQ(counts.ignored_stale, 1);
  EXPECT_EQ(FloatKeyRows(location_), (Rows3{{1, "nan", "n3"}, {2, "-0", "b3"}}));
}

INSTANTIATE_TEST_SUITE_P(Modes, MergeRulesTest,
                         ::testing::Values(MergeMode::kDeletionVectors, MergeMode::kCopyOnWrite),
                         [](const auto& info) {
                           return info.param == MergeMode::kDeletionVectors
                                      ? std::string("DeletionVectors")
                                      : std::string("CopyOnWrite");
                         });

}  // namespace
}  // namespace sluice::merge
