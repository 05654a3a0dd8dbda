// SCD2 history tables (history_table.h) on real temp tables: chains,
// deletes, re-inserts, replays, late events spliced anywhere in a chain,
// equal timestamps, track-history in-place updates, schema evolution,
// already-applied txns, invalid rows, orphan deletes (kept in their side
// table across restarts, consumed by late older upserts, purged after the
// retention); after every commit the incrementally updated index must equal
// one rebuilt from the table.
#include "sluice/merge/history_table.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <tuple>

#include "merge_test_util.h"
#include "sluice/delta/compaction.h"
#include "sluice/delta/table_reader.h"
#include "sluice/merge/history_index.h"
#include "sluice/merge/history_orphans.h"

namespace sluice::merge {
namespace {

constexpr const char* kApp = "test/history";

struct HEvent {
  HEvent(std::string op, std::string seq, std::optional<int64_t> id, int64_t ts,
         std::optional<std::string> name = {}, std::optional<int64_t> amount = {},
         std::optional<std::string> extra = {})
      : op(std::move(op)),
        seq(std::move(seq)),
        id(id),
        ts(ts),
        name(std::move(name)),
        amount(amount),
        extra(std::move(extra)) {}
  std::string op;
  std::string seq;
  std::optional<int64_t> id;
  int64_t ts = 0;
  std::optional<std::string> name;
  std::optional<int64_t> amount;
  std::optional<std::string> extra;    // only with `with_extra`
  std::vector<std::string> unchanged;  // _cdc_unchanged (a partial image)
};

// `e` as a partial image: `columns` are listed in _cdc_unchanged (their
// values in the event are NULL, as the sources send them).
HEvent Partial(HEvent e, std::vector<std::string> columns) {
  for (const auto& c : columns) {
    if (c == "name") e.name.reset();
    if (c == "amount") e.amount.reset();
  }
  e.unchanged = std::move(columns);
  return e;
}

/// (id, name, amount, start, end, seq, last_seq, end_seq), sorted.
using HRow = std::tuple<int64_t, std::optional<std::string>, std::optional<int64_t>, int64_t,
                        std::optional<int64_t>, std::string, std::string, std::string>;

HRow R(int64_t id, std::optional<std::string> name, std::optional<int64_t> amount, int64_t start,
       std::optional<int64_t> end, std::string seq, std::string last, std::string end_seq) {
  return {id,  std::move(name), amount,          start,
          end, std::move(seq),  std::move(last), std::move(end_seq)};
}

std::shared_ptr<arrow::RecordBatch> Batch(const std::vector<HEvent>& events,
                                          bool with_extra = false) {
  arrow::Int64Builder id, amount;
  arrow::StringBuilder name, extra, op;
  arrow::BinaryBuilder seq;
  auto ts_type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  arrow::TimestampBuilder ts(ts_type, arrow::default_memory_pool());
  for (const auto& e : events) {
    EXPECT_TRUE((e.id ? id.Append(*e.id) : id.AppendNull()).ok());
    EXPECT_TRUE((e.name ? name.Append(*e.name) : name.AppendNull()).ok());
    EXPECT_TRUE((e.amount ? amount.Append(*e.amount) : amount.AppendNull()).ok());
    EXPECT_TRUE((e.extra ? extra.Append(*e.extra) : extra.AppendNull()).ok());
    EXPECT_TRUE(op.Append(e.op).ok());
    EXPECT_TRUE(seq.Append(e.seq).ok());
    EXPECT_TRUE(ts.Append(e.ts).ok());
  }
  arrow::FieldVector fields = {arrow::field("id", arrow::int64()),
                               arrow::field("name", arrow::utf8()),
                               arrow::field("amount", arrow::int64())};
  std::vector<std::shared_ptr<arrow::Array>> columns = {
      id.Finish().ValueOrDie(), name.Finish().ValueOrDie(), amount.Finish().ValueOrDie()};
  if (with_extra) {
    fields.push_back(arrow::field("extra", arrow::utf8()));
    columns.push_back(extra.Finish().ValueOrDie());
  }
  fields.push_back(arrow::field("_cdc_op", arrow::utf8()));
  fields.push_back(arrow::field("_cdc_seq", arrow::binary()));
  fields.push_back(arrow::field("_cdc_ts", ts_type));
  columns.push_back(op.Finish().ValueOrDie());
  columns.push_back(seq.Finish().ValueOrDie());
  columns.push_back(ts.Finish().ValueOrDie());
  if (std::any_of(events.begin(), events.end(),
                  [](const HEvent& e) { return !e.unchanged.empty(); })) {
    arrow::ListBuilder lists(arrow::default_memory_pool(),
                             std::make_shared<arrow::StringBuilder>());
    auto& names = static_cast<arrow::StringBuilder&>(*lists.value_builder());
    for (const auto& e : events) {
      EXPECT_TRUE((e.unchanged.empty() ? lists.AppendNull() : lists.Append()).ok());
      for (const auto& n : e.unchanged) EXPECT_TRUE(names.Append(n).ok());
    }
    fields.push_back(arrow::field("_cdc_unchanged", arrow::list(arrow::utf8())));
    columns.push_back(lists.Finish().ValueOrDie());
  }
  return arrow::RecordBatch::Make(arrow::schema(fields), static_cast<int64_t>(events.size()),
                                  columns);
}

class HistoryTableTest : public ::testing::TestWithParam<MergeMode> {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("sluice_history");
    auto loc = io::OpenTableLocation(dir_.string());
    ASSERT_TRUE(loc.ok());
    location_ = *loc;
    Open({});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Open(std::vector<std::string> track) {
    auto t = HistoryTable::Open(location_, {{"id"}, std::move(track)});
    ASSERT_TRUE(t.ok());
    table_ = std::move(*t);
  }

  HistoryStepResult Apply(const std::vector<HEvent>& events, bool with_extra = false,
                          bool allow_schema_change = false, std::optional<int64_t> version = {}) {
    HistoryWriteOptions w;
    w.mode = GetParam();
    w.app_id = kApp;
    w.version = version ? *version : ++version_;
    w.allow_schema_change = allow_schema_change;
    w.now_ms = now_ms_;
    auto step = table_->Apply(*Batch(events, with_extra), w);
    EXPECT_TRUE(step.ok()) << step.status().ToString();
    if (!step.ok()) return {};
    CheckRebuild();
    return *step;
  }

  void CheckRebuild() {
    const HistoryIndex* held = table_->index();
    if (!held) return;  // an already-applied step builds nothing
    auto snapshot = delta::Snapshot::Load(location_.log);
    ASSERT_TRUE(snapshot.ok());
    auto rebuilt = HistoryIndex::Build(**snapshot, location_, held->encoder());
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
    EXPECT_EQ((*rebuilt)->version(), held->version());
    EXPECT_EQ((*rebuilt)->Entries(), held->Entries());
    EXPECT_EQ((*rebuilt)->Orphans(), held->Orphans());
    EXPECT_EQ((*rebuilt)->truncates(), held->truncates());
  }

  std::vector<HRow> Rows() {
    auto snapshot = delta::Snapshot::Load(location_.log);
    EXPECT_TRUE(snapshot.ok());
    auto t = delta::ReadSnapshot(**snapshot, location_);
    EXPECT_TRUE(t.ok());
    auto b = (*t)->CombineChunksToBatch().ValueOrDie();
    auto col = [&](const char* n) { return b->GetColumnByName(n); };
    auto id = std::static_pointer_cast<arrow::Int64Array>(col("id"));
    auto name = std::static_pointer_cast<arrow::StringArray>(col("name"));
    auto amount = std::static_pointer_cast<arrow::Int64Array>(col("amount"));
    auto start = std::static_pointer_cast<arrow::TimestampArray>(col("__START_AT"));
    auto end = std::static_pointer_cast<arrow::TimestampArray>(col("__END_AT"));
    auto seq = std::static_pointer_cast<arrow::BinaryArray>(col("_cdc_seq"));
    auto last = std::static_pointer_cast<arrow::BinaryArray>(col("_cdc_last_seq"));
    auto end_seq = std::static_pointer_cast<arrow::BinaryArray>(col("_cdc_end_seq"));
    std::vector<HRow> rows;
    for (int64_t i = 0; i < b->num_rows(); ++i) {
      rows.push_back(
          R(id->Value(i), name->IsNull(i) ? std::nullopt : std::optional(name->GetString(i)),
            amount->IsNull(i) ? std::nullopt : std::optional(amount->Value(i)), start->Value(i),
            end->IsNull(i) ? std::nullopt : std::optional(end->Value(i)), seq->GetString(i),
            last->GetString(i), end_seq->IsNull(i) ? "" : end_seq->GetString(i)));
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  std::filesystem::path dir_;
  io::TableLocation location_;
  std::unique_ptr<HistoryTable> table_;
  int64_t version_ = 0;
  int64_t now_ms_ = 0;  // 0: the wall clock
};

TEST_P(HistoryTableTest, InOrderChainDeleteAndReinsert) {
  Apply({{"insert", "s1", 1, 10, "a", 1}, {"insert", "s1", 2, 10, "x", 1}});
  auto step = Apply({{"update", "s2", 1, 20, "b", 2}, {"delete", "s3", 1, 30}});
  EXPECT_EQ(step.counts.versions_opened, 1);
  EXPECT_EQ(step.counts.closed_by_delete, 1);
  Apply({{"insert", "s4", 1, 40, "c", 3}, {"delete", "s5", 9, 50}});
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 1, 10, 20, "s1", "s1", "s2"),
                                       R(1, "b", 2, 20, 30, "s2", "s2", "s3"),
                                       R(1, "c", 3, 40, std::nullopt, "s4", "s4", ""),
                                       R(2, "x", 1, 10, std::nullopt, "s1", "s1", "")}));
}

TEST_P(HistoryTableTest, ReplaysChangeNothing) {
  std::vector<HEvent> events = {
      {"insert", "s1", 1, 10, "a", 1}, {"update", "s2", 1, 20, "b", 2}, {"delete", "s3", 1, 30}};
  Apply(events);
  auto before = Rows();
  events[1].name = "other image, same seq";
  auto step = Apply(events);
  EXPECT_EQ(step.counts.replays, 3);
  EXPECT_EQ(step.counts.rows_appended, 0);
  EXPECT_EQ(step.counts.rows_deleted, 0);
  EXPECT_EQ(Rows(), before);
}

TEST_P(HistoryTableTest, LateEventsAreSplicedAnywhere) {
  Apply({{"insert", "s3", 1, 30, "c", 3}});
  Apply({{"update", "s5", 1, 50, "e", 5}, {"delete", "s7", 1, 70}});
  auto step = Apply({{"insert", "s1", 1, 10, "a", 1}});  // before the first version
  EXPECT_EQ(step.counts.late, 1);
  Apply({{"update", "s4", 1, 40, "d", 4}});  // in the middle
  Apply({{"update", "s6", 1, 60, "f", 6}});  // between the last update and the delete
  Apply({{"insert", "s8", 1, 80, "g", 7}});  // after the delete
  EXPECT_EQ(
      Rows(),
      (std::vector<HRow>{
          R(1, "a", 1, 10, 30, "s1", "s1", "s3"), R(1, "c", 3, 30, 40, "s3", "s3", "s4"),
          R(1, "d", 4, 40, 50, "s4", "s4", "s5"), R(1, "e", 5, 50, 60, "s5", "s5", "s6"),
          R(1, "f", 6, 60, 70, "s6", "s6", "s7"), R(1, "g", 7, 80, std::nullopt, "s8", "s8", "")}));
  // A late delete inside the chain ends a version early; the next version
  // then starts after a gap.
  Apply({{"delete", "s35", 1, 35}});
  EXPECT_EQ(Rows()[1], R(1, "c", 3, 30, 35, "s3", "s3", "s35"));
  EXPECT_EQ(Rows()[2], R(1, "d", 4, 40, 50, "s4", "s4", "s5"));
}

TEST_P(HistoryTableTest, EqualTimestampsAreOrderedBySeq) {
  Apply({{"update", "s2", 1, 10, "b", 2}, {"insert", "s1", 1, 10, "a", 1}});
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 1, 10, 10, "s1", "s1", "s2"),
                                       R(1, "b", 2, 10, std::nullopt, "s2", "s2", "")}));
}

TEST_P(HistoryTableTest, UntrackedChangesUpdateInPlace) {
  Open({"name"});
  Apply({{"insert", "s1", 1, 10, "a", 1}});
  auto step = Apply({{"update", "s2", 1, 20, "a", 2}});
  EXPECT_EQ(step.counts.in_place, 1);
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 2, 10, std::nullopt, "s1", "s2", "")}));
  Apply({{"update", "s3", 1, 30, "b", 3}});
  // A late untracked change older than the absorbed one keeps the newer image.
  step = Apply({{"update", "s15", 1, 15, "a", 99}});
  EXPECT_EQ(step.counts.in_place, 1);
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 2, 10, 30, "s1", "s2", "s3"),
                                       R(1, "b", 3, 30, std::nullopt, "s3", "s3", "")}));
  // With every column tracked, an identical upsert is absorbed too.
  Open({});
  step = Apply({{"update", "s4", 1, 40, "b", 3}});
  EXPECT_EQ(step.counts.in_place, 1);
  EXPECT_EQ(Rows().back(), R(1, "b", 3, 30, std::nullopt, "s3", "s4", ""));
}

TEST_P(HistoryTableTest, LateTrackedChangeInsideAbsorbedRunIsCountedAndSplits) {
  Open({"name"});
  Apply({{"insert", "s1", 1, 10, "a", 1}, {"update", "s3", 1, 30, "a", 3}});
  auto step = Apply({{"update", "s2", 1, 20, "z", 2}});
  EXPECT_EQ(step.counts.split_absorbed, 1);
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 3, 10, 20, "s1", "s1", "s2"),
                                       R(1, "z", 2, 20, std::nullopt, "s2", "s2", "")}));
}

// Partial images (_cdc_unchanged, partial_image.h): an unchanged column of a
// version carries the value the row had just before the event: the previous
// version's (stored, or opened earlier in the same batch), NULL after a
// delete or for a key never seen; the column is not kept in the table.
TEST_P(HistoryTableTest, PartialImageCarriesThePreviousVersionsValue) {
  Apply({{"insert", "s1", 1, 10, "a", 1}});
  // Across batches: the stored current version gives the value.
  Apply({Partial({"update", "s2", 1, 20, "x", 2}, {"name"})});
  // Within one batch: each event carries from the one before it, chained.
  Apply({Partial({"update", "s3", 1, 30, "x", 3}, {"name"}),
         Partial({"update", "s4", 1, 40, "b", 9}, {"amount"}),
         {"delete", "s5", 1, 50},
         Partial({"insert", "s6", 1, 60, "x", 6}, {"name"}),    // after a delete: NULL
         Partial({"insert", "s1", 2, 10, "x", 7}, {"name"})});  // a new key: NULL
  EXPECT_EQ(Rows(),                                             // sorted: a NULL name first
            (std::vector<HRow>{
                R(1, std::nullopt, 6, 60, std::nullopt, "s6", "s6", ""),
                R(1, "a", 1, 10, 20, "s1", "s1", "s2"), R(1, "a", 2, 20, 30, "s2", "s2", "s3"),
                R(1, "a", 3, 30, 40, "s3", "s3", "s4"), R(1, "b", 3, 40, 50, "s4", "s4", "s5"),
                R(2, std::nullopt, 7, 10, std::nullopt, "s1", "s1", "")}));
  auto snapshot = delta::Snapshot::Load(location_.log);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ((*snapshot)->schema()->GetFieldByName("_cdc_unchanged"), nullptr);
}

TEST_P(HistoryTableTest, PartialImageOfALateEventCarriesFromItsPredecessor) {
  Apply({{"insert", "s1", 1, 10, "a", 1}, {"update", "s3", 1, 30, "c", 3}});
  // s2 lands between s1 and s3: it carries s1's name, not the current one.
  Apply({Partial({"update", "s2", 1, 20, "x", 2}, {"name"})});
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 1, 10, 20, "s1", "s1", "s2"),
                                       R(1, "a", 2, 20, 30, "s2", "s2", "s3"),
                                       R(1, "c", 3, 30, std::nullopt, "s3", "s3", "")}));
}

TEST_P(HistoryTableTest, PartialImageWithOnlyUntrackedChangesIsAbsorbed) {
  Open({"name"});
  Apply({{"insert", "s1", 1, 10, "a", 1}});
  // The carried name equals the version's: no new version (the NULL the
  // event holds in its place must not count as a change).
  auto step = Apply({Partial({"update", "s2", 1, 20, "x", 2}, {"name"})});
  EXPECT_EQ(step.counts.in_place, 1);
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 2, 10, std::nullopt, "s1", "s2", "")}));
}

// Truncate (docs/merge.md "Truncate"): every version open at its seq ends
// there, in any arrival order and across restarts; no orphan delete per key.
TEST_P(HistoryTableTest, TruncateEndsEveryOpenVersion) {
  Apply({{"insert", "s1", 1, 10, "a", 1},
         {"insert", "s1", 2, 10, "b", 2},
         {"update", "s2", 1, 20, "c", 3},
         {"delete", "s3", 2, 30}});
  Apply({{"insert", "s4", 3, 40, "d", 4}});
  auto step = Apply({{"truncate", "s5", std::nullopt, 50}, {"insert", "s6", 1, 60, "e", 5}});
  EXPECT_EQ(step.counts.truncates, 1);
  EXPECT_EQ(step.counts.closed_by_truncate, 2);
  EXPECT_EQ(step.counts.invalid, 0);
  EXPECT_EQ(step.counts.orphans_recorded, 0);
  EXPECT_EQ(Rows(),
            (std::vector<HRow>{
                R(1, "a", 1, 10, 20, "s1", "s1", "s2"), R(1, "c", 3, 20, 50, "s2", "s2", "s5"),
                R(1, "e", 5, 60, std::nullopt, "s6", "s6", ""),
                R(2, "b", 2, 10, 30, "s1", "s1", "s3"), R(3, "d", 4, 40, 50, "s4", "s4", "s5")}));
  // Late events older than the truncate end at it: a known key, a new one.
  Apply({{"update", "s45", 3, 45, "late", 9}, {"insert", "s44", 4, 44, "x", 1}});
  // After a restart the truncate is read back from the table.
  Open({});
  step = Apply({{"insert", "s43", 5, 43, "y", 1}});
  EXPECT_EQ(step.counts.orphans_recorded, 0);
  EXPECT_EQ(
      Rows(),
      (std::vector<HRow>{
          R(1, "a", 1, 10, 20, "s1", "s1", "s2"), R(1, "c", 3, 20, 50, "s2", "s2", "s5"),
          R(1, "e", 5, 60, std::nullopt, "s6", "s6", ""), R(2, "b", 2, 10, 30, "s1", "s1", "s3"),
          R(3, "d", 4, 40, 45, "s4", "s4", "s45"), R(3, "late", 9, 45, 50, "s45", "s45", "s5"),
          R(4, "x", 1, 44, 50, "s44", "s44", "s5"), R(5, "y", 1, 43, 50, "s43", "s43", "s5")}));
  ASSERT_NE(table_->index(), nullptr);
  EXPECT_EQ(table_->index()->truncates(), (std::vector<HistoryTruncate>{{"s5", 50}}));
  // A replayed truncate changes nothing.
  auto before = Rows();
  step = Apply({{"truncate", "s5", std::nullopt, 50}});
  EXPECT_EQ(step.counts.truncates, 0);
  EXPECT_EQ(step.counts.rows_appended, 0);
  EXPECT_EQ(Rows(), before);
}

TEST_P(HistoryTableTest, ALateTruncateSplitsTheVersionsItFallsIn) {
  Apply({{"insert", "s1", 1, 10, "a", 1}, {"update", "s3", 1, 30, "b", 2}});
  Apply({{"truncate", "s2", std::nullopt, 20}});
  // Truncated at s2: the first version ends there; the update re-opens.
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 1, 10, 20, "s1", "s1", "s2"),
                                       R(1, "b", 2, 30, std::nullopt, "s3", "s3", "")}));
}

TEST(HistoryTruncatesTest, PropertyRoundTripAndRefusals) {
  std::vector<HistoryTruncate> list = {{std::string("\x01", 1), -5}, {"s9", 1700000000000000}};
  auto text = EncodeHistoryTruncates(list);
  EXPECT_EQ(text, "01:-5,7339:1700000000000000");
  EXPECT_EQ(*DecodeHistoryTruncates(text), list);
  EXPECT_TRUE(DecodeHistoryTruncates("")->empty());
  EXPECT_FALSE(DecodeHistoryTruncates("7339").ok());
  EXPECT_FALSE(DecodeHistoryTruncates("7339:x").ok());
  EXPECT_FALSE(DecodeHistoryTruncates("7339:1,01:2").ok());  // not sorted
}

TEST_P(HistoryTableTest, ColumnAddedMidStream) {
  Apply({{"insert", "s1", 1, 10, "a", 1}});
  HistoryWriteOptions w;
  w.mode = GetParam();
  w.app_id = kApp;
  w.version = ++version_;
  auto refused = table_->Apply(*Batch({{"update", "s2", 1, 20, "b", 2, "p"}}, true), w);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(table_->index(), nullptr);  // dropped after the error
  Apply({{"update", "s2", 1, 20, "b", 2, "p"}}, true, true, version_);
  auto snapshot = delta::Snapshot::Load(location_.log);
  ASSERT_TRUE(snapshot.ok());
  auto t = delta::ReadSnapshot(**snapshot, location_).ValueOrDie();
  auto extra = t->GetColumnByName("extra");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(extra->null_count(), 1);  // the closed older version reads NULL
  EXPECT_EQ(Rows().size(), 2u);
}

TEST_P(HistoryTableTest, AlreadyAppliedTxnWritesNothing) {
  Apply({{"insert", "s1", 1, 10, "a", 1}});
  auto v = delta::Snapshot::Load(location_.log).ValueOrDie()->version();
  table_->Reset();  // a restarted process
  auto step = Apply({{"update", "s2", 1, 20, "b", 2}}, false, false, version_);
  EXPECT_TRUE(step.already_applied);
  EXPECT_EQ(delta::Snapshot::Load(location_.log).ValueOrDie()->version(), v);
  EXPECT_EQ(Rows().size(), 1u);
}

TEST_P(HistoryTableTest, InvalidRowsAreSkippedAndCounted) {
  auto step = Apply({{"insert", "s1", std::nullopt, 10, "a"},
                     {"insert", "", 2, 10, "a"},
                     {"upsert?", "s1", 3, 10, "a"},
                     {"insert", "s1", 4, 10, "ok"}});
  EXPECT_EQ(step.counts.invalid, 3);
  ASSERT_EQ(step.invalid.size(), 3u);
  EXPECT_EQ(step.invalid[0].row, 0);
  EXPECT_EQ(Rows().size(), 1u);
}

TEST_P(HistoryTableTest, IndexRebuiltAfterRestartPlansTheSame) {
  Apply({{"insert", "s1", 1, 10, "a", 1}, {"insert", "s1", 2, 10, "x", 1}});
  Apply({{"update", "s3", 1, 30, "c", 3}});
  table_->Reset();
  auto step = Apply({{"update", "s2", 1, 20, "b", 2}});
  EXPECT_TRUE(step.index_built);
  EXPECT_EQ(step.counts.late, 1);
  EXPECT_EQ(table_->index()->version_count(), 4);
  EXPECT_GT(table_->index()->MemoryBytes(), 0);
}

TEST_P(HistoryTableTest, OrphanDeleteEndsAnOlderUpsertOfALaterBatch) {
  auto step = Apply({{"delete", "s5", 1, 50}});
  EXPECT_EQ(step.counts.deletes_ignored, 1);
  EXPECT_EQ(step.counts.orphans_recorded, 1);
  EXPECT_EQ(table_->index()->orphan_count(), 1);
  table_->Reset();  // a restart: the orphan comes back from the side table
  step = Apply({{"insert", "s1", 1, 10, "a", 1}});
  EXPECT_TRUE(step.index_built);
  EXPECT_EQ(step.counts.orphans_consumed, 1);
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 1, 10, 50, "s1", "s1", "s5")}));
  // A late delete before it orphans it again (its row is still there).
  step = Apply({{"delete", "s3", 1, 30}});
  EXPECT_EQ(step.counts.orphans_recorded, 0);
  table_->Reset();
  Apply({{"update", "s4", 1, 40, "d", 4}});
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 1, 10, 30, "s1", "s1", "s3"),
                                       R(1, "d", 4, 40, 50, "s4", "s4", "s5")}));
  // An upsert with the orphan's seq is a replay of it.
  step = Apply({{"delete", "s9", 2, 90}});
  step = Apply({{"insert", "s9", 2, 90, "x", 1}});
  EXPECT_EQ(step.counts.replays, 1);
  EXPECT_EQ(Rows().size(), 2u);
}

TEST_P(HistoryTableTest, StoredDeleteLeftWithoutVersionBecomesAnOrphan) {
  Apply({{"insert", "s1", 1, 10, "a", 1}, {"delete", "s5", 1, 50}});
  EXPECT_EQ(table_->index()->orphan_count(), 0);
  auto step = Apply({{"delete", "s3", 1, 30}});  // s5 now ends nothing
  EXPECT_EQ(step.counts.orphans_recorded, 1);
  table_->Reset();
  Apply({{"insert", "s4", 1, 40, "d", 4}});
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "a", 1, 10, 30, "s1", "s1", "s3"),
                                       R(1, "d", 4, 40, 50, "s4", "s4", "s5")}));
}

TEST_P(HistoryTableTest, OrphansOfABatchWhoseCommitNeverLandedAreIgnored) {
  now_ms_ = 1000;
  Apply({{"insert", "s1", 2, 10, "x", 1}});
  // Step 1 of batch 2 landed (its orphan delete), its history commit did not.
  std::vector<HEvent> batch2 = {{"delete", "s5", 1, 50}};
  auto batch = Batch(batch2);
  auto key = table_->index()->encoder().Encode(*batch).ValueOrDie();
  std::vector<HistoryOrphan> orphans = {{std::string(key.key(0)), "s5", 50, now_ms_, 2}};
  ASSERT_TRUE(CommitOrphanDeletes(location_, orphans, kApp, 2, now_ms_, 0).ok());
  auto snapshot = delta::Snapshot::Load(location_.log).ValueOrDie();
  auto rebuilt = HistoryIndex::Build(*snapshot, location_, table_->index()->encoder());
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ((*rebuilt)->orphan_count(), 0);
  // The retried batch (same version, same events) skips step 1 and commits;
  // the row is then live, as the incremental index has it.
  table_->Reset();
  auto step = Apply(batch2);
  EXPECT_EQ(step.counts.orphans_recorded, 1);
  EXPECT_EQ(table_->index()->orphan_count(), 1);
  Apply({{"insert", "s1", 1, 10, "a", 1}});
  EXPECT_EQ(Rows()[0], R(1, "a", 1, 10, 50, "s1", "s1", "s5"));
}

TEST_P(HistoryTableTest, OrphansArePurgedAfterTheRetention) {
  const int64_t day = 24LL * 3600 * 1000;
  now_ms_ = 100 * day;
  Apply({{"delete", "s5", 1, 50}});
  now_ms_ += 8 * day;  // past the default 7 days: purged when the side table next grows
  auto step = Apply({{"delete", "s7", 2, 70}});
  EXPECT_EQ(step.counts.orphans_recorded, 1);
  EXPECT_EQ(table_->index()->orphan_count(), 1);
  auto loaded = LoadOrphanDeletes(location_, version_, 0).ValueOrDie();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].seq, "s7");
  // As for a purged tombstone, an older upsert arriving now is not ended by it.
  Apply({{"insert", "s1", 1, 10, "a", 1}});
  EXPECT_EQ(Rows()[0], R(1, "a", 1, 10, std::nullopt, "s1", "s1", ""));
}

TEST_P(HistoryTableTest, AnotherWritersCompactionMakesTheBatchPlanAgain) {
  for (int64_t id = 1; id <= 4; ++id) {
    Apply({{"insert", "s0" + std::to_string(id), id, 10, "v", id}});  // one file each
  }
  // An OPTIMIZE by another writer while the table holds its index: the
  // next batch is planned on the old files, so its commit conflicts.
  delta::CompactionOptions options;
  options.min_small_files = 2;
  auto compacted = delta::CompactTable(location_, *delta::Snapshot::Load(location_.log), options);
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  ASSERT_TRUE(compacted->committed);
  auto step = Apply({{"update", "s1", 1, 20, "w", 10}, {"delete", "s1", 3, 20}});
  EXPECT_EQ(step.replans, 1);
  EXPECT_FALSE(step.already_applied);
  EXPECT_EQ(step.counts.versions_opened, 1);
  EXPECT_EQ(Rows(), (std::vector<HRow>{R(1, "v", 1, 10, 20, "s01", "s01", "s1"),
                                       R(1, "w", 10, 20, std::nullopt, "s1", "s1", ""),
                                       R(2, "v", 2, 10, std::nullopt, "s02", "s02", ""),
                                       R(3, "v", 3, 10, 20, "s03", "s03", "s1"),
                                       R(4, "v", 4, 10, std::nullopt, "s04", "s04", "")}));
  // A batch the table already holds (another process applied it) is not
  // applied twice.
  step = Apply({{"update", "s1", 1, 20, "w", 10}, {"delete", "s1", 3, 20}}, false, false, 5);
  EXPECT_TRUE(step.already_applied);
  EXPECT_EQ(Rows().size(), 5u);
}

TEST_P(HistoryTableTest, MaintainCompactsAndVacuumsTheOrphanDeletes) {
  now_ms_ = 1'700'000'000'000;
  for (int64_t v = 1; v <= 6; ++v) {
    // Each batch: a version, and a delete of a key with none (an orphan).
    Apply({{"insert", "s" + std::to_string(v), v, 10 * v, "v", v},
           {"delete", "s" + std::to_string(v), 100 + v, 10 * v}});
    now_ms_ += 1000;
  }
  auto side = OrphanDeleteLocation(location_);
  ASSERT_TRUE(side.ok());
  auto before = delta::Snapshot::Load(side->log);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ((*before)->files().size(), 6u);
  auto orphans = LoadOrphanDeletes(location_, 6, 0);
  ASSERT_TRUE(orphans.ok());
  ASSERT_EQ(orphans->size(), 6u);

  delta::MaintenancePolicy policy;
  policy.compaction.min_small_files = 2;
  int64_t orphans_vacuum_ms = 0;
  auto report = table_->Maintain(policy, orphans_vacuum_ms, now_ms_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->compaction && report->compaction->committed);  // the history table
  EXPECT_EQ(report->last_vacuum_ms, now_ms_);
  EXPECT_EQ(orphans_vacuum_ms, now_ms_);  // the side table was vacuumed too
  auto after = delta::Snapshot::Load(side->log);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ((*after)->files().size(), 1u);  // and compacted
  // The compacted file keeps its oldest recorded_at, so the purge finds it.
  const auto& tags = (*after)->files()[0].tags;
  ASSERT_TRUE(tags && tags->count("sluice.minRecordedAtMs"));
  EXPECT_EQ(tags->at("sluice.minRecordedAtMs"), std::to_string(1'700'000'000'000));
  auto kept = LoadOrphanDeletes(location_, 6, 0);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, *orphans);
  // The index was dropped with the compaction; the next batch rebuilds it,
  // and a late upsert of an orphaned key still ends at its delete.
  auto step = Apply({{"insert", "s0", 101, 5, "late", 0}});
  EXPECT_TRUE(step.index_built);
  EXPECT_EQ(std::get<4>(Rows()[6]), std::optional<int64_t>(10));
}

INSTANTIATE_TEST_SUITE_P(Modes, HistoryTableTest,
                         ::testing::Values(MergeMode::kDeletionVectors, MergeMode::kCopyOnWrite),
                         [](const auto& info) {
                           return info.param == MergeMode::kDeletionVectors ? "DeletionVectors"
                                                                            : "CopyOnWrite";
                         });

}  // namespace
}  // namespace sluice::merge
