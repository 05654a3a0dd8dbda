#include "sluice/pipeline/table_snapshot.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <fstream>

#include "../merge/merge_test_util.h"
#include "sluice/merge/merged_table.h"
#include "sluice/merge/primary_keys.h"

namespace sluice::pipeline {
namespace {

using merge::testing::Event;
using merge::testing::Row;

constexpr int64_t kDayUs = 86'400'000'000LL;
constexpr int32_t kDay0 = 20'089;  // 2025-01-01

TEST(SnapshotDateTest, ParsesOnlyCalendarDates) {
  EXPECT_EQ(*ParseSnapshotDate("1970-01-01"), 0);
  EXPECT_EQ(*ParseSnapshotDate("2025-01-01"), kDay0);
  EXPECT_EQ(*ParseSnapshotDate("2024-02-29"), kDay0 - 307);
  for (const char* bad : {"2023-02-29", "2025-13-01", "2025-00-10", "2025-1-01", "2025-01-01x",
                          "20250101", "", "1969-12-31", "2025/01/01"}) {
    EXPECT_FALSE(ParseSnapshotDate(bad).ok()) << bad;
  }
  for (int32_t d = 0; d < 80'000; d += 37) {
    auto back = ParseSnapshotDate(FormatSnapshotDate(d));
    ASSERT_TRUE(back.ok()) << FormatSnapshotDate(d);
    EXPECT_EQ(*back, d);
  }
}

TEST(SnapshotStateMarkTest, LaterStatesHaveLargerVersions) {
  StateMark done{kDay0, true, 1234};
  StateMark back = StateMark::Decode(done.Encode());
  EXPECT_EQ(back.date, kDay0);
  EXPECT_TRUE(back.complete);
  EXPECT_EQ(back.counter, 1234);
  StateMark partial{kDay0, false, 99};
  EXPECT_FALSE(StateMark::Decode(partial.Encode()).complete);
  // complete after the batches of the same date; the next date after both;
  // a later log version of the same date after the earlier one
  EXPECT_LT(partial.Encode(), done.Encode());
  EXPECT_LT(done.Encode(), (StateMark{kDay0 + 1, false, 1}.Encode()));
  EXPECT_LT(done.Encode(), (StateMark{kDay0, true, 1235}.Encode()));
}

// A change batch whose _cdc_ts are the given microseconds.
std::shared_ptr<arrow::Table> Changes(const std::vector<Event>& events,
                                      const std::vector<int64_t>& ts_us) {
  auto batch = merge::testing::ChangeBatch(events);
  auto type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  arrow::TimestampBuilder ts(type, arrow::default_memory_pool());
  for (auto t : ts_us) EXPECT_TRUE(ts.Append(t).ok());
  int i = batch->schema()->GetFieldIndex("_cdc_ts");
  batch = batch->SetColumn(i, batch->schema()->field(i), ts.Finish().ValueOrDie()).ValueOrDie();
  // The log table stores _cdc_op as a plain string.
  int op = batch->schema()->GetFieldIndex("_cdc_op");
  auto plain = arrow::compute::Cast(*batch->column(op), arrow::utf8()).ValueOrDie();
  batch = batch->SetColumn(op, arrow::field("_cdc_op", arrow::utf8(), false), plain).ValueOrDie();
  return arrow::Table::FromRecordBatches({batch}).ValueOrDie();
}

int64_t At(int32_t day, int64_t hour) { return day * kDayUs + hour * 3'600'000'000LL; }

class TableSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = merge::testing::TestDir("snapshot");
    log_ = (dir_ / "shop" / "orders_log").string();
    root_ = (dir_ / "shop" / "orders_snapshot").string();
  }
  void Append(const std::vector<Event>& events, const std::vector<int64_t>& ts, bool stats = true) {
    auto loc = io::OpenTableLocation(log_).ValueOrDie();
    delta::TableWriteOptions o;
    if (!stats) o.data.stats.num_indexed_cols = 0;
    o.configuration[merge::kPrimaryKeysProperty] = merge::EncodePrimaryKeys({"id"});
    auto r = delta::WriteTable(loc, Changes(events, ts), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  SnapshotOptions Options(int32_t date) {
    SnapshotOptions o;
    o.log_table = log_;
    o.root = root_;
    o.date = date;
    return o;
  }
  std::vector<Row> Rows(const std::string& table) {
    return merge::testing::ReadRows(io::OpenTableLocation(table).ValueOrDie());
  }
  std::string Version(int32_t date) { return root_ + "/version=" + FormatSnapshotDate(date); }

  std::filesystem::path dir_;
  std::string log_, root_;
};

TEST_F(TableSnapshotTest, EachDateHoldsTheTableAtItsEndIncrementallyAndLateChangesCount) {
  // day 0: 1, 2, 3 inserted; day 1: 1 updated, 2 deleted, 4 inserted; day 2:
  // 4 deleted, 2 inserted again.
  Append({{"insert", "a1", 1, "one", 10},
          {"insert", "a2", 2, "two", 20},
          {"insert", "a3", 3, "three", 30}},
         {At(kDay0, 1), At(kDay0, 2), At(kDay0, 23)});
  Append({{"update", "b1", 1, "one", 11},
          {"delete", "b2", 2, {}, {}},
          {"insert", "b4", 4, "four", 40}},
         {At(kDay0 + 1, 0), At(kDay0 + 1, 5), At(kDay0 + 1, 6)});
  Append({{"delete", "c4", 4, {}, {}}, {"insert", "c2", 2, "two again", 21}},
         {At(kDay0 + 2, 1), At(kDay0 + 2, 2)});

  auto s0 = TakeSnapshot(Options(kDay0));
  ASSERT_TRUE(s0.ok()) << s0.status().ToString();
  EXPECT_FALSE(s0->incremental);
  EXPECT_EQ(s0->why_full, "no snapshot state yet");
  // the later days' files are skipped on their statistics (day 1's starts
  // at midnight exactly)
  EXPECT_EQ(s0->log_files_skipped, 2);
  EXPECT_EQ(Rows(Version(kDay0)),
            (std::vector<Row>{{1, "one", 10, "a1"}, {2, "two", 20, "a2"}, {3, "three", 30, "a3"}}));
  auto s1 = TakeSnapshot(Options(kDay0 + 1));
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  EXPECT_TRUE(s1->incremental);
  EXPECT_EQ(s1->changes_applied, 3);  // only day 1's changes
  const std::vector<Row> day1{{1, "one", 11, "b1"}, {3, "three", 30, "a3"}, {4, "four", 40, "b4"}};
  EXPECT_EQ(Rows(Version(kDay0 + 1)), day1);
  auto s2 = TakeSnapshot(Options(kDay0 + 2));
  ASSERT_TRUE(s2.ok()) << s2.status().ToString();
  EXPECT_TRUE(s2->incremental);
  // the files of days 0 and 1 are skipped on their _cdc_ts statistics
  EXPECT_EQ(s2->log_files_skipped, 2);
  EXPECT_EQ(s2->log_files_read, 1);
  EXPECT_EQ(
      Rows(Version(kDay0 + 2)),
      (std::vector<Row>{{1, "one", 11, "b1"}, {2, "two again", 21, "c2"}, {3, "three", 30, "a3"}}));
  // earlier dates are untouched
  EXPECT_EQ(Rows(Version(kDay0 + 1)), day1);

  // Late changes of day 1 reach the log: an update of 3, and an update of 2
  // older than its delete (must not bring it back).
  Append({{"update", "b3", 3, "three", 31}, {"update", "b0", 2, "stale", 0}},
         {At(kDay0 + 1, 9), At(kDay0 + 1, 4)});
  // an older date is refused without --rebuild, nothing written
  auto refused = TakeSnapshot(Options(kDay0 + 1));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("older than the latest snapshot 2025-01-03"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(Rows(Version(kDay0 + 1)), day1);

  // a re-run of the latest date takes them in, incrementally, in one commit
  auto again = TakeSnapshot(Options(kDay0 + 2));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->incremental);
  EXPECT_EQ(again->changes_applied, 2);
  EXPECT_EQ(again->version, 1);
  EXPECT_EQ(
      Rows(Version(kDay0 + 2)),
      (std::vector<Row>{{1, "one", 11, "b1"}, {2, "two again", 21, "c2"}, {3, "three", 31, "b3"}}));
  // --rebuild replays the log up to day 1, aside from the state
  auto rebuild_opts = Options(kDay0 + 1);
  rebuild_opts.rebuild = true;
  auto rebuilt = TakeSnapshot(rebuild_opts);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_FALSE(rebuilt->incremental);
  // the replay built aside is gone; the state stays
  for (const auto& entry : std::filesystem::directory_iterator(root_ + "/_sluice")) {
    EXPECT_EQ(entry.path().filename().string().rfind("rebuild-", 0), std::string::npos)
        << entry.path();
  }
  EXPECT_EQ(
      Rows(Version(kDay0 + 1)),
      (std::vector<Row>{{1, "one", 11, "b1"}, {3, "three", 31, "b3"}, {4, "four", 40, "b4"}}));
  // the next date still starts from the state at day 2
  Append({{"update", "d1", 1, "one", 12}}, {At(kDay0 + 3, 1)});
  auto s3 = TakeSnapshot(Options(kDay0 + 3));
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  EXPECT_TRUE(s3->incremental);
  EXPECT_EQ(s3->changes_applied, 1);
  EXPECT_EQ(
      Rows(Version(kDay0 + 3)),
      (std::vector<Row>{{1, "one", 12, "d1"}, {2, "two again", 21, "c2"}, {3, "three", 31, "b3"}}));
}

TEST_F(TableSnapshotTest, StartDateAndEmptyDays) {
  Append({{"insert", "a1", 1, "one", 10}}, {At(kDay0 + 1, 3)});
  auto early = Options(kDay0);
  early.start_date = kDay0 + 1;
  auto refused = TakeSnapshot(early);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("before the CDC start date 2025-01-02"),
            std::string::npos)
      << refused.status().message();
  // a day before any change: an empty table
  auto empty = TakeSnapshot(Options(kDay0));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->rows, 0);
  EXPECT_TRUE(Rows(Version(kDay0)).empty());
  auto next = TakeSnapshot(Options(kDay0 + 1));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(Rows(Version(kDay0 + 1)), (std::vector<Row>{{1, "one", 10, "a1"}}));
}

TEST_F(TableSnapshotTest, PartitionedDatesAreReplacedOnePartitionAtATime) {
  Append({{"insert", "a1", 1, "one", 10}, {"insert", "a2", 2, "two", 20}},
         {At(kDay0, 1), At(kDay0, 2)});
  Append({{"delete", "b1", 1, {}, {}}}, {At(kDay0 + 1, 1)});
  for (int32_t d : {kDay0, kDay0 + 1, kDay0 + 1}) {
    auto o = Options(d);
    o.partitioned = true;
    auto s = TakeSnapshot(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
  auto loc = io::OpenTableLocation(root_).ValueOrDie();
  auto snap = delta::Snapshot::Load(loc.log).ValueOrDie();
  EXPECT_EQ(snap->version(), 2);
  EXPECT_EQ(snap->metadata().partition_columns, std::vector<std::string>{"snapshot_date"});
  std::map<std::string, int64_t> rows_by_date;
  auto table = delta::ReadSnapshot(*snap, loc).ValueOrDie();
  auto dates = table->GetColumnByName("snapshot_date");
  ASSERT_NE(dates, nullptr);
  for (const auto& chunk : dates->chunks()) {
    const auto& a = static_cast<const arrow::Date32Array&>(*chunk);
    for (int64_t i = 0; i < a.length(); ++i) ++rows_by_date[FormatSnapshotDate(a.Value(i))];
  }
  EXPECT_EQ(rows_by_date, (std::map<std::string, int64_t>{{"2025-01-01", 2}, {"2025-01-02", 1}}));
  auto latest = LatestSnapshotDate(root_, true);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, kDay0 + 1);
  // the versioned layout is refused under a partitioned root
  auto mixed = TakeSnapshot(Options(kDay0 + 1));
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("partitioned snapshot table"), std::string::npos);
}

TEST_F(TableSnapshotTest, IncrementalRunsInSeveralCommitsAndNewKeysReplayInFull) {
  Append({{"insert", "a1", 1, "one", 10}, {"insert", "a2", 2, "two", 20}},
         {At(kDay0, 1), At(kDay0, 2)});
  ASSERT_TRUE(TakeSnapshot(Options(kDay0)).ok());
  Append({{"update", "b1", 1, "one", 11}}, {At(kDay0 + 1, 1)});
  Append({{"delete", "b2", 2, {}, {}}}, {At(kDay0 + 1, 2)});
  Append({{"insert", "b3", 3, "three", 30}}, {At(kDay0 + 1, 3)});
  auto o = Options(kDay0 + 1);
  o.batch_rows = 1;  // a merge commit per log file
  auto s = TakeSnapshot(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->incremental);
  EXPECT_EQ(s->changes_applied, 3);
  const std::vector<Row> day1{{1, "one", 11, "b1"}, {3, "three", 30, "b3"}};
  EXPECT_EQ(Rows(Version(kDay0 + 1)), day1);
  // the state's mark is complete again: the next run is incremental
  auto again = TakeSnapshot(Options(kDay0 + 1));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->incremental);
  EXPECT_EQ(again->changes_applied, 0);
  EXPECT_EQ(Rows(Version(kDay0 + 1)), day1);
  // other primary keys: the state (keyed by id) is replayed, not reused
  auto other = Options(kDay0 + 1);
  other.primary_keys = {"id", "name"};
  auto keyed = TakeSnapshot(other);
  ASSERT_TRUE(keyed.ok()) << keyed.status().ToString();
  EXPECT_FALSE(keyed->incremental);
  EXPECT_EQ(keyed->why_full, "the primary keys changed");
  EXPECT_EQ(keyed->invalid, 1);  // the delete of 2 has no name: no usable key
}

TEST_F(TableSnapshotTest, LogFilesWithoutStatisticsAreSkippedOnTheirTimeColumn) {
  Append({{"insert", "a1", 1, "one", 10}}, {At(kDay0, 1)}, /*stats=*/false);
  Append({{"update", "b1", 1, "one", 11}}, {At(kDay0 + 1, 1)}, /*stats=*/false);
  auto s0 = TakeSnapshot(Options(kDay0));
  ASSERT_TRUE(s0.ok()) << s0.status().ToString();
  EXPECT_EQ(s0->log_files_skipped, 1);
  EXPECT_EQ(Rows(Version(kDay0)), (std::vector<Row>{{1, "one", 10, "a1"}}));
  auto s1 = TakeSnapshot(Options(kDay0 + 1));
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  EXPECT_EQ(s1->log_files_skipped, 1);
  EXPECT_EQ(s1->log_files_read, 1);
  EXPECT_EQ(Rows(Version(kDay0 + 1)), (std::vector<Row>{{1, "one", 11, "b1"}}));
}

TEST_F(TableSnapshotTest, AnInterruptedFullReplayIsDiscarded) {
  Append({{"insert", "a1", 1, "one", 10}, {"insert", "a2", 2, "two", 20}},
         {At(kDay0, 1), At(kDay0, 2)});
  auto o = Options(kDay0);
  o.batch_rows = 1;  // one merge commit per log file: intermediate states
  ASSERT_TRUE(TakeSnapshot(o).ok());
  // Pretend the run stopped after its first batch: the state's last commit
  // carries an incomplete mark.
  {
    merge::MergedTable state(root_ + "/_sluice/state", {"id"}, "sluice-snapshot-state", {});
    ASSERT_TRUE(state.Open().ok());
    auto r = state.CommitEmpty(StateMark{kDay0 + 5, false, 1}.Encode(), 0);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // and a replay built aside was left behind by a run that stopped
  auto stale = std::filesystem::path(root_) / "_sluice" / "rebuild-stale" / "_delta_log";
  std::filesystem::create_directories(stale);
  std::ofstream(stale / "00000000000000000000.json") << "{}\n";
  auto s = TakeSnapshot(Options(kDay0 + 1));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->incremental);
  EXPECT_NE(s->why_full.find("interrupted"), std::string::npos) << s->why_full;
  EXPECT_FALSE(std::filesystem::exists(stale.parent_path()));
  EXPECT_EQ(Rows(Version(kDay0 + 1)),
            (std::vector<Row>{{1, "one", 10, "a1"}, {2, "two", 20, "a2"}}));
}

}  // namespace
}  // namespace sluice::pipeline
