#include "sluice/delta/vacuum.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "maintenance_test_util.h"
#include "sluice/delta/compaction.h"
#include "sluice/delta/log_path.h"

namespace sluice::delta {
namespace {

namespace fs = std::filesystem;
using testing::Append;
using testing::DeleteIds;
using testing::FilesUnder;
using testing::Ids;
using testing::Range;

constexpr int64_t kHour = 3600LL * 1000;
constexpr int64_t kDay = 24 * kHour;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sets a file's modification time to `ms` since the epoch.
void SetMtime(const fs::path& p, int64_t ms) {
  auto sys = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  fs::last_write_time(p, std::chrono::file_clock::from_sys(sys));
}

void Touch(const fs::path& p, int64_t mtime_ms) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
  SetMtime(p, mtime_ms);
}

VacuumOptions Opts(int64_t now_ms, std::optional<int64_t> retention_ms = std::nullopt,
                   bool dry_run = false, std::optional<int64_t> log_retention_ms = std::nullopt) {
  VacuumOptions o;
  o.now_ms = now_ms;
  o.retention_ms = retention_ms;
  o.dry_run = dry_run;
  o.log_retention_ms = log_retention_ms;
  return o;
}

class VacuumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir("sluice_vacuum");
    loc_ = *io::OpenTableLocation(dir_.string());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<const Snapshot> Latest() { return *Snapshot::Load(loc_.log); }

  VacuumResult Vacuum(VacuumOptions options) {
    auto r = VacuumTable(loc_, Latest(), options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : VacuumResult{};
  }

  // 5 small files, a DV on one of them, then compacted: 5 data files and
  // one DV file become unreferenced. Returns the relative paths of those.
  std::vector<std::string> MakeGarbage() {
    for (int i = 0; i < 5; ++i) Append(loc_, i * 10, 10);
    DeleteIds(loc_, {3});
    std::vector<std::string> garbage;
    for (const auto& p : FilesUnder(dir_, "")) {
      auto rel = fs::relative(p, dir_).string();
      if (rel.rfind("_delta_log", 0) != 0) garbage.push_back(rel);
    }
    auto r = CompactTable(loc_, Latest(), {});
    EXPECT_TRUE(r.ok() && r->committed);
    std::sort(garbage.begin(), garbage.end());
    EXPECT_EQ(garbage.size(), 6u);
    return garbage;
  }

  fs::path dir_;
  io::TableLocation loc_;
};

TEST_F(VacuumTest, DeletesOnlyUnreferencedFilesPastTheRetention) {
  auto garbage = MakeGarbage();
  const auto rows = Ids(loc_);
  const int64_t now = NowMs();
  // Just removed: the removes' timestamps protect the files for a week.
  auto fresh = Vacuum(Opts(now));
  EXPECT_TRUE(fresh.deleted.empty());
  EXPECT_EQ(fresh.retention_ms, 7 * kDay);
  EXPECT_EQ(fresh.files_referenced, 7);  // 1 live file + 6 recently removed
  auto six_days = Vacuum(Opts(now + 6 * kDay));
  EXPECT_TRUE(six_days.deleted.empty());
  // An orphan written (by an in-flight writer) an hour before "now".
  const int64_t later = now + 8 * kDay;
  Touch(dir_ / "part-inflight.parquet", later - kHour);
  auto r = Vacuum(Opts(later));
  EXPECT_EQ(r.deleted, garbage);
  EXPECT_GT(r.bytes_deleted, 0);
  EXPECT_EQ(r.files_referenced, 1);
  EXPECT_EQ(r.files_too_young, 1);
  for (const auto& g : garbage) EXPECT_FALSE(fs::exists(dir_ / g)) << g;
  EXPECT_TRUE(fs::exists(dir_ / "part-inflight.parquet"));
  EXPECT_EQ(Ids(loc_), rows);  // the table is intact
}

TEST_F(VacuumTest, DryRunListsAndDeletesNothing) {
  auto garbage = MakeGarbage();
  auto files_before = FilesUnder(dir_, "");
  VacuumOptions options = Opts(NowMs() + 1000, 0, true, std::nullopt);
  auto dry = Vacuum(options);
  EXPECT_TRUE(dry.dry_run);
  EXPECT_EQ(dry.deleted, garbage);
  EXPECT_EQ(FilesUnder(dir_, ""), files_before);
  options.dry_run = false;
  auto real = Vacuum(options);
  EXPECT_EQ(real.deleted, garbage);
  EXPECT_EQ(FilesUnder(dir_, "").size(), files_before.size() - garbage.size());
}

TEST_F(VacuumTest, RemoveTimestampProtectsFilesWithOldModificationTimes) {
  for (int i = 0; i < 5; ++i) Append(loc_, i * 10, 10);
  const int64_t now = NowMs();
  for (const auto& p : FilesUnder(dir_, ".parquet")) SetMtime(p, now - 30 * kDay);
  ASSERT_TRUE(CompactTable(loc_, Latest(), {}).ok());
  // Files written a month ago but removed just now: a reader of the version
  // before the compaction still needs them.
  auto r = Vacuum(Opts(now + 1000));
  EXPECT_TRUE(r.deleted.empty());
  EXPECT_EQ(Ids(loc_, 4), Range(0, 50));
  auto zero = Vacuum(Opts(now + 1000, 0));
  EXPECT_EQ(zero.deleted.size(), 5u);
}

TEST_F(VacuumTest, NeverEntersUnderscoreOrDotDirectoriesExceptPartitions) {
  Append(loc_, 0, 10);
  const int64_t old = NowMs() - 30 * kDay;
  const std::vector<std::string> protected_files = {
      "_sluice/tombstones/part-0-x.parquet",
      "_sluice/tombstones/deletion_vector_x.bin",
      "_sluice/cursor.parquet",
      ".hidden/part-0-y.parquet",
      "_tmp/part-0-z.parquet",
      ".part-0-crc.parquet",
      "_part-0-u.parquet",
      "notes.txt",
      "part-0-v.parquet.crc",
  };
  for (const auto& f : protected_files) Touch(dir_ / f, old);
  const std::vector<std::string> garbage = {
      "_p=1/part-0-w.parquet",
      "ab/deletion_vector_0123.bin",
      "p=x/q=y/part-0-w.parquet",
  };
  for (const auto& f : garbage) Touch(dir_ / f, old);
  auto log_before = FilesUnder(dir_ / "_delta_log", "");
  auto r = Vacuum(Opts(NowMs(), 0));
  EXPECT_EQ(r.deleted, garbage);
  for (const auto& f : protected_files) EXPECT_TRUE(fs::exists(dir_ / f)) << f;
  EXPECT_EQ(FilesUnder(dir_ / "_delta_log", ""), log_before);
  EXPECT_EQ(Ids(loc_), Range(0, 10));
}

TEST_F(VacuumTest, HonoursTheTableRetentionPropertyUnlessOverridden) {
  TableWriteOptions options;
  options.configuration["delta.deletedFileRetentionDuration"] = "interval 1 hours";
  for (int i = 0; i < 5; ++i) {
    auto w = WriteTable(loc_, testing::Rows(i * 10, 10), options);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
  }
  ASSERT_TRUE(CompactTable(loc_, Latest(), {}).ok());
  const int64_t now = NowMs();
  auto r = Vacuum(Opts(now + 2 * kHour));
  EXPECT_EQ(r.retention_ms, kHour);
  EXPECT_EQ(r.deleted.size(), 5u);
  // Default (7 days) on a table without the property, and an override.
  auto other = testing::TestDir("sluice_vacuum_other");
  auto loc = *io::OpenTableLocation(other.string());
  for (int i = 0; i < 5; ++i) Append(loc, i * 10, 10);
  ASSERT_TRUE(CompactTable(loc, *Snapshot::Load(loc.log), {}).ok());
  auto kept = VacuumTable(loc, *Snapshot::Load(loc.log), Opts(now + 2 * kHour));
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->deleted.empty());
  auto overridden = VacuumTable(loc, *Snapshot::Load(loc.log), Opts(now + 2 * kHour, kHour));
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->deleted.size(), 5u);
  fs::remove_all(other);
}

TEST_F(VacuumTest, TimeTravelFailsOnlyWhereFilesWereDeleted) {
  Append(loc_, 0, 200);                                    // v0: a file compaction leaves alone
  for (int i = 1; i <= 5; ++i) Append(loc_, i * 1000, 5);  // v1..v5: small files
  CompactionOptions options;
  options.small_file_size = Latest()->files()[0].size;  // v0's file is not small
  auto c = CompactTable(loc_, Latest(), options);
  ASSERT_TRUE(c.ok() && c->committed);
  ASSERT_EQ(c->files_removed, 5);
  auto r = Vacuum(Opts(NowMs() + 1000, 0));
  ASSERT_EQ(r.deleted.size(), 5u);
  EXPECT_EQ(Ids(loc_, 0), Range(0, 200));  // its file was kept
  auto v3 = *Snapshot::Load(loc_.log, 3);
  auto rows = ReadSnapshot(*v3, loc_);
  ASSERT_FALSE(rows.ok());
  const std::string msg = rows.status().message();
  EXPECT_NE(msg.find("deleted by vacuum"), std::string::npos) << msg;
  EXPECT_NE(msg.find("version 3"), std::string::npos) << msg;
  bool names_a_deleted_file = false;
  for (const auto& d : r.deleted) names_a_deleted_file |= msg.find(d) != std::string::npos;
  EXPECT_TRUE(names_a_deleted_file) << msg;
  EXPECT_EQ(Ids(loc_).size(), 225u);  // latest intact
}

TEST_F(VacuumTest, ExpiresLogBeforeTheNewestCheckpointOlderThanTheRetention) {
  for (int i = 0; i < 8; ++i) Append(loc_, i * 10, 10, {}, /*checkpoint_interval=*/3);
  ASSERT_TRUE(fs::exists(dir_ / CheckpointPath(3)));
  ASSERT_TRUE(fs::exists(dir_ / CheckpointPath(6)));
  const auto rows = Ids(loc_);
  const int64_t now = NowMs();
  // Young log: nothing expires.
  auto young = Vacuum(Opts(now));
  EXPECT_TRUE(young.log_deleted.empty());
  // Age everything but version 7 past the 30 days.
  for (const auto& p : FilesUnder(dir_ / "_delta_log", "")) {
    if (p.filename().string().rfind("00000000000000000007", 0) != 0) SetMtime(p, now - 40 * kDay);
  }
  auto dry = Vacuum(Opts(now, std::nullopt, true, std::nullopt));
  std::vector<std::string> expected;
  for (int v = 0; v < 6; ++v) expected.push_back(CommitPath(v));
  expected.push_back(CheckpointPath(3));
  std::sort(expected.begin(), expected.end());
  auto listed = dry.log_deleted;
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, expected);
  EXPECT_TRUE(fs::exists(dir_ / CommitPath(0)));
  auto r = Vacuum(Opts(now));
  EXPECT_EQ(r.log_deleted.size(), expected.size());
  EXPECT_FALSE(fs::exists(dir_ / CommitPath(5)));
  EXPECT_TRUE(fs::exists(dir_ / CommitPath(6)));
  EXPECT_TRUE(fs::exists(dir_ / CheckpointPath(6)));
  EXPECT_EQ(Ids(loc_), rows);  // readable from the kept checkpoint
  EXPECT_EQ(Ids(loc_, 6).size(), 70u);
  EXPECT_FALSE(Snapshot::Load(loc_.log, 2).ok());
}

TEST_F(VacuumTest, LogCleanupKeepsEverythingWithoutAnOldCheckpointOrWhenDisabled) {
  for (int i = 0; i < 4; ++i) Append(loc_, i * 10, 10, {}, /*checkpoint_interval=*/3);
  const int64_t now = NowMs();
  // Old commits but a young checkpoint: nothing may go (the checkpoint is
  // what would make them unnecessary, and it is within the retention).
  for (const auto& p : FilesUnder(dir_ / "_delta_log", ".json")) SetMtime(p, now - 40 * kDay);
  EXPECT_TRUE(Vacuum(Opts(now)).log_deleted.empty());
  EXPECT_EQ(Vacuum(Opts(now + 1000, std::nullopt, false, 0)).log_deleted.size(), 3u);
  // delta.enableExpiredLogCleanup=false turns it off.
  auto other = testing::TestDir("sluice_vacuum_nolog");
  auto loc = *io::OpenTableLocation(other.string());
  TableWriteOptions options;
  options.configuration["delta.enableExpiredLogCleanup"] = "false";
  options.commit.checkpoint_interval = 3;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(WriteTable(loc, testing::Rows(i, 1), options).ok());
  auto r = VacuumTable(loc, *Snapshot::Load(loc.log), Opts(now + 1000, std::nullopt, false, 0));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->log_deleted.empty());
  fs::remove_all(other);
}

}  // namespace
}  // namespace sluice::delta
