#include "sluice/delta/maintenance.h"

#include <gtest/gtest.h>

#include <chrono>

#include "maintenance_test_util.h"

namespace sluice::delta {
namespace {

namespace fs = std::filesystem;
using testing::Append;
using testing::DeleteIds;
using testing::Ids;

constexpr int64_t kDay = 24LL * 3600 * 1000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class MaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("sluice_maint");
    loc_ = *io::OpenTableLocation(dir_.string());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::shared_ptr<const Snapshot> Latest() { return *Snapshot::Load(loc_.log); }

  fs::path dir_;
  io::TableLocation loc_;
};

TEST_F(MaintenanceTest, DecidesFromTheLogWithoutReadingData) {
  for (int i = 0; i < 4; ++i) Append(loc_, i * 10, 10);  // below min_small_files
  auto snapshot = Latest();
  // With the data files gone, any read would fail: nothing may be read.
  for (const auto& f : testing::FilesUnder(dir_, ".parquet")) fs::remove(f);
  MaintenancePolicy policy;
  policy.vacuum = false;
  auto r = MaintainTable(loc_, snapshot, policy, NowMs());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->compaction);
  EXPECT_EQ(r->compaction_deferred, 4);
  EXPECT_EQ(r->snapshot->version(), snapshot->version());
  // Once a bin qualifies it does read (and fails here, naming the file).
  policy.compaction.min_small_files = 2;
  auto qualifies = MaintainTable(loc_, snapshot, policy, NowMs());
  ASSERT_FALSE(qualifies.ok());
  EXPECT_NE(qualifies.status().message().find("cannot be opened"), std::string::npos)
      << qualifies.status().ToString();
}

TEST_F(MaintenanceTest, CompactsAndReturnsTheResultForTheIndex) {
  for (int i = 0; i < 6; ++i) Append(loc_, i * 10, 10);
  const auto rows = Ids(loc_);
  MaintenancePolicy policy;
  policy.vacuum = false;
  auto r = MaintainTable(loc_, Latest(), policy, NowMs());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->compaction);
  EXPECT_EQ(r->compaction->files_removed, 6);
  EXPECT_EQ(r->compaction->files.size(), 1u);
  EXPECT_EQ(r->snapshot->version(), 6);
  EXPECT_EQ(Ids(loc_), rows);
  // Run again: nothing to do.
  auto again = MaintainTable(loc_, r->snapshot, policy, NowMs());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->compaction);
}

TEST_F(MaintenanceTest, RewritesAFileWhoseDeletionVectorHidesTooManyRows) {
  Append(loc_, 0, 100);
  MaintenancePolicy policy;
  policy.vacuum = false;
  policy.compaction.small_file_size = 1;
  DeleteIds(loc_, testing::Range(0, 20));  // exactly 20%: not more than the ratio
  auto r = MaintainTable(loc_, Latest(), policy, NowMs());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->compaction);
  DeleteIds(loc_, {50});
  r = MaintainTable(loc_, Latest(), policy, NowMs());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->compaction);
  EXPECT_EQ(r->compaction->rows, 79);
  EXPECT_FALSE(Latest()->files()[0].deletion_vector);
}

TEST_F(MaintenanceTest, VacuumRunsAtMostOncePerInterval) {
  for (int i = 0; i < 6; ++i) Append(loc_, i * 10, 10);
  MaintenancePolicy policy;
  policy.vacuum_options.retention_ms = 0;
  const int64_t now = NowMs() + 1000;
  // First call: never vacuumed, so it runs, after the compaction, and
  // deletes the files the compaction just removed (retention 0).
  auto first = MaintainTable(loc_, Latest(), policy, now);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->compaction);
  ASSERT_TRUE(first->vacuum);
  EXPECT_EQ(first->vacuum->deleted.size(), 6u);
  EXPECT_EQ(first->vacuum->version, first->snapshot->version());
  EXPECT_EQ(first->last_vacuum_ms, now);
  // Within the interval: no vacuum, even with garbage present.
  for (int i = 0; i < 6; ++i) Append(loc_, 100 + i * 10, 10);
  policy.last_vacuum_ms = first->last_vacuum_ms;
  auto second = MaintainTable(loc_, Latest(), policy, now + kDay / 2);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->compaction);
  EXPECT_FALSE(second->vacuum);
  EXPECT_EQ(second->last_vacuum_ms, now);
  // Past it: runs again.
  policy.last_vacuum_ms = second->last_vacuum_ms;
  auto third = MaintainTable(loc_, Latest(), policy, now + kDay + 1000);
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(third->vacuum);
  // The second compaction merged the first one's (small) file with the 6 new ones.
  EXPECT_EQ(second->compaction->files_removed, 7);
  EXPECT_EQ(third->vacuum->deleted.size(), 7u);
  EXPECT_EQ(third->last_vacuum_ms, now + kDay + 1000);
  EXPECT_EQ(Ids(loc_).size(), 120u);
}

}  // namespace
}  // namespace sluice::delta
