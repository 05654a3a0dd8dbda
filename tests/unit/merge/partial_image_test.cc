// Partial images (`_cdc_unchanged`): an unchanged column keeps the value of
// the key's newest older event in the batch that carries it, else of the
// table's row, else NULL; in both merge modes, with the index rebuilt from
// the table equal to the one updated in place.
#include "sluice/merge/partial_image.h"

#include <gtest/gtest.h>

#include "merge_test_util.h"
#include "sluice/merge/key_index.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/merge_writer.h"
#include "sluice/merge/tombstone_store.h"

namespace sluice::merge {
namespace {

using testing::Event;
using testing::Row;

constexpr const char* kApp = "test/partial";
const std::string kPlaceholder = "__debezium_unavailable_value";

struct PartialEvent {
  Event event;
  std::vector<std::string> unchanged;
};

std::shared_ptr<arrow::RecordBatch> PartialBatch(const std::vector<PartialEvent>& events) {
  std::vector<Event> plain;
  for (const auto& e : events) plain.push_back(e.event);
  auto batch = testing::ChangeBatch(plain);
  arrow::ListBuilder lists(arrow::default_memory_pool(), std::make_shared<arrow::StringBuilder>());
  auto& names = static_cast<arrow::StringBuilder&>(*lists.value_builder());
  for (const auto& e : events) {
    if (e.unchanged.empty()) {
      EXPECT_TRUE(lists.AppendNull().ok());
      continue;
    }
    EXPECT_TRUE(lists.Append().ok());
    for (const auto& n : e.unchanged) EXPECT_TRUE(names.Append(n).ok());
  }
  auto column = lists.Finish().ValueOrDie();
  return batch
      ->AddColumn(batch->num_columns(), arrow::field("_cdc_unchanged", column->type()), column)
      .ValueOrDie();
}

class PartialImageTest : public ::testing::TestWithParam<MergeMode> {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("sluice_partial");
    location_ = io::OpenTableLocation(dir_.string()).ValueOrDie();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  MergePlan Merge(const std::vector<PartialEvent>& events) {
    auto batch = PartialBatch(events);
    if (!index_)
      index_ = std::make_unique<KeyIndex>(KeyEncoder::Make(*batch->schema(), {"id"}).ValueOrDie(),
                                          location_);
    ++version_;
    auto plan = PlanBatch(*index_, *batch, {now_ms_, version_});
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok()) return {};
    auto snapshot = delta::LoadIfExists(location_).ValueOrDie();
    MergeWriteOptions options;
    options.mode = GetParam();
    options.app_id = kApp;
    options.version = version_;
    options.now_ms = now_ms_;
    auto commit = WriteMerge(location_, snapshot, *plan, options);
    EXPECT_TRUE(commit.ok()) << commit.status().ToString();
    if (!commit.ok()) return {};
    EXPECT_TRUE(index_->Apply(*plan, commit->outcome).ok());
    auto now = delta::Snapshot::Load(location_.log).ValueOrDie();
    auto tombs = LoadTombstones(location_, version_, 0).ValueOrDie();
    auto rebuilt = KeyIndex::Build(*now, location_, index_->encoder(), tombs).ValueOrDie();
    EXPECT_EQ(rebuilt->Entries(), index_->Entries());
    return std::move(*plan);
  }

  std::vector<Row> Rows() { return testing::ReadRows(location_); }

  std::filesystem::path dir_;
  io::TableLocation location_;
  std::unique_ptr<KeyIndex> index_;
  int64_t version_ = 0;
  int64_t now_ms_ = 1'700'000'000'000;
};

TEST_P(PartialImageTest, UnchangedColumnKeepsTheTablesValue) {
  Merge({{{"insert", "s1", 1, "alice", 10}, {}}, {{"insert", "s1", 2, "bob", 20}, {}}});
  auto plan = Merge({{{"update", "s2", 1, kPlaceholder, 11}, {"name"}}});
  EXPECT_EQ(plan.counts.partial, 1);
  ASSERT_EQ(plan.carried.size(), 1u);
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "alice", 11, "s2"}, {2, "bob", 20, "s1"}}));
  // The merged table does not keep the _cdc_unchanged column.
  auto snapshot = delta::Snapshot::Load(location_.log).ValueOrDie();
  EXPECT_EQ(snapshot->schema()->GetFieldByName("_cdc_unchanged"), nullptr);
}

TEST_P(PartialImageTest, UnchangedColumnTakesTheNewestOlderEventOfTheBatch) {
  auto plan = Merge({{{"update", "s3", 1, kPlaceholder, 12}, {"name"}},
                     {{"insert", "s1", 1, "first", 10}, {}},
                     {{"update", "s2", 1, "second", 11}, {}}});
  EXPECT_TRUE(plan.carried.empty());
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "second", 12, "s3"}}));
}

TEST_P(PartialImageTest, ChainsOfPartialImagesResolveColumnByColumn) {
  Merge({{{"insert", "s1", 1, "alice", 10}, {}}});
  Merge({{{"update", "s2", 1, kPlaceholder, 11}, {"name"}},
         {{"update", "s3", 1, kPlaceholder, std::nullopt}, {"name", "amount"}}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "alice", 11, "s3"}}));
}

TEST_P(PartialImageTest, NothingToKeepReadsNull) {
  Merge({{{"insert", "s1", 1, "alice", 10}, {}}});
  // A delete in between: the row did not exist, so nothing is kept.
  Merge({{{"delete", "s2", 1, std::nullopt, std::nullopt}, {}},
         {{"insert", "s3", 1, kPlaceholder, 12}, {"name"}}});
  // A key never seen.
  Merge({{{"update", "s4", 2, kPlaceholder, 5}, {"name"}}});
  // A tombstone: the row is gone.
  Merge({{{"insert", "s5", 3, "carol", 1}, {}}});
  Merge({{{"delete", "s6", 3, std::nullopt, std::nullopt}, {}}});
  Merge({{{"update", "s7", 3, kPlaceholder, 2}, {"name"}}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, std::nullopt, 12, "s3"},
                                      {2, std::nullopt, 5, "s4"},
                                      {3, std::nullopt, 2, "s7"}}));
}

TEST_P(PartialImageTest, StaleEventsAreNeverConsulted) {
  Merge({{{"insert", "s5", 1, "current", 10}, {}}});
  Merge({{{"update", "s3", 1, "stale", 1}, {}}, {{"update", "s6", 1, kPlaceholder, 7}, {"name"}}});
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, "current", 7, "s6"}}));
}

TEST_P(PartialImageTest, FullImagesAndUnknownNamesChangeNothing) {
  // A NULL the source sends is a NULL; unknown and _cdc_ names are ignored.
  Merge({{{"insert", "s1", 1, "alice", 10}, {}}});
  auto plan = Merge({{{"update", "s2", 1, std::nullopt, 11}, {"no_such_column", "_cdc_seq"}}});
  EXPECT_TRUE(plan.carried.empty());
  EXPECT_EQ(Rows(), (std::vector<Row>{{1, std::nullopt, 11, "s2"}}));
}

INSTANTIATE_TEST_SUITE_P(Modes, PartialImageTest,
                         ::testing::Values(MergeMode::kDeletionVectors, MergeMode::kCopyOnWrite),
                         [](const auto& info) {
                           return info.param == MergeMode::kDeletionVectors
                                      ? std::string("DeletionVectors")
                                      : std::string("CopyOnWrite");
                         });

TEST(ReadUnchangedTest, RefusesAColumnOfAnotherType) {
  auto batch = testing::ChangeBatch({{"insert", "s1", 1, "a", 1}});
  auto bad = arrow::MakeArrayOfNull(arrow::utf8(), 1).ValueOrDie();
  batch = batch->AddColumn(batch->num_columns(), arrow::field("_cdc_unchanged", arrow::utf8()), bad)
              .ValueOrDie();
  auto r = ReadUnchanged(*batch);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("list<string>"), std::string::npos);
}

}  // namespace
}  // namespace sluice::merge
