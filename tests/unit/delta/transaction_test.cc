#include "sluice/delta/transaction.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "sluice/core/clock.h"
#include "sluice/delta/log_path.h"
#include "sluice/delta/table_features.h"
#include "sluice/io/local_log_store.h"

namespace sluice::delta {
namespace {

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice_txn_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::make_shared<io::LocalLogStore>(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Metadata TestMetadata() {
    Metadata m;
    m.id = "test-table";
    m.schema_string =
        R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]})";
    return m;
  }

  void Create() {
    Transaction create(store_, ProtocolForNewTable(true, false), TestMetadata(), "CREATE");
    auto r = create.Commit();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->version, 0);
  }

  static CommitOptions Every(int64_t checkpoint_interval) {
    CommitOptions options;
    options.checkpoint_interval = checkpoint_interval;
    return options;
  }

  static Add FakeAdd(const std::string& path) {
    Add a;
    a.path = path;
    a.size = 1;
    a.stats = R"({"numRecords":1})";
    return a;
  }

  std::filesystem::path dir_;
  std::shared_ptr<io::LocalLogStore> store_;
};

TEST_F(TransactionTest, BlindAppendsFromTheSameSnapshotBothLand) {
  Create();
  auto base = Snapshot::Load(store_);
  ASSERT_TRUE(base.ok());
  Transaction t1(*base, "WRITE"), t2(*base, "WRITE");
  t1.AddFile(FakeAdd("a.parquet"));
  t2.AddFile(FakeAdd("b.parquet"));
  auto r1 = t1.Commit();
  auto r2 = t2.Commit();
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r1->version, 1);
  EXPECT_EQ(r2->version, 2);
  EXPECT_EQ(r2->attempts, 2);
  // The snapshot returned after a retry includes the winner's file.
  EXPECT_EQ(r2->snapshot->files().size(), 2u);
  auto latest = Snapshot::Load(store_);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ((*latest)->files().size(), 2u);
}

TEST_F(TransactionTest, RemovingTheSameFileConflicts) {
  Create();
  {
    auto s = Snapshot::Load(store_);
    Transaction t(*s, "WRITE");
    t.AddFile(FakeAdd("a.parquet"));
    ASSERT_TRUE(t.Commit().ok());
  }
  auto base = Snapshot::Load(store_);
  Transaction t1(*base, "DELETE"), t2(*base, "DELETE");
  Remove r;
  r.path = "a.parquet";
  t1.RemoveFile(r);
  t2.RemoveFile(r);
  ASSERT_TRUE(t1.Commit().ok());
  auto second = t2.Commit();
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(IsCommitConflict(second.status())) << second.status().ToString();
  EXPECT_NE(second.status().message().find("a.parquet"), std::string::npos);
}

TEST_F(TransactionTest, SameAppIdAdvancedConcurrentlyConflicts) {
  Create();
  auto base = Snapshot::Load(store_);
  Transaction t1(*base, "WRITE"), t2(*base, "WRITE");
  t1.SetTxn("pipeline/orders", 5);
  t2.SetTxn("pipeline/orders", 5);
  t1.AddFile(FakeAdd("a.parquet"));
  t2.AddFile(FakeAdd("b.parquet"));
  ASSERT_TRUE(t1.Commit().ok());
  auto second = t2.Commit();
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(IsCommitConflict(second.status()));
  EXPECT_NE(second.status().message().find("pipeline/orders"), std::string::npos);
  // A different app id does not conflict.
  auto now = Snapshot::Load(store_);
  EXPECT_EQ((*now)->TxnVersion("pipeline/orders"), 5);
}

TEST_F(TransactionTest, MetadataChangeConflicts) {
  Create();
  auto base = Snapshot::Load(store_);
  Transaction t1(*base, "SET TBLPROPERTIES"), t2(*base, "WRITE");
  Metadata m = TestMetadata();
  m.configuration["x"] = "y";
  t1.UpdateMetadata(m);
  t2.AddFile(FakeAdd("a.parquet"));
  ASSERT_TRUE(t1.Commit().ok());
  auto second = t2.Commit();
  EXPECT_TRUE(IsCommitConflict(second.status()));
}

TEST_F(TransactionTest, CreatingTwiceConflicts) {
  Create();
  Transaction again(store_, ProtocolForNewTable(true, false), TestMetadata(), "CREATE");
  auto r = again.Commit();
  EXPECT_TRUE(IsCommitConflict(r.status()));
}

TEST_F(TransactionTest, RefusesToWriteUnsupportedFeatures) {
  Protocol p{3, 7, std::vector<std::string>{"columnMapping"},
             std::vector<std::string>{"columnMapping"}};
  Transaction t(store_, p, TestMetadata(), "CREATE");
  auto r = t.Commit();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("columnMapping"), std::string::npos);
}

TEST_F(TransactionTest, CheckpointEveryNCommitsIsReadBack) {
  Create();
  std::shared_ptr<const Snapshot> snap = *Snapshot::Load(store_);
  for (int i = 1; i <= 12; ++i) {
    Transaction t(snap, "WRITE");
    t.AddFile(FakeAdd("f" + std::to_string(i) + ".parquet"));
    if (i == 3) {
      Remove r;
      r.path = "f1.parquet";
      t.RemoveFile(r);
    }
    CommitOptions opts;
    opts.checkpoint_interval = 5;
    auto r = t.Commit(opts);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->checkpointed, i % 5 == 0) << i;
    snap = r->snapshot;
  }
  auto loaded = Snapshot::Load(store_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->checkpoint_version(), 10);
  EXPECT_EQ((*loaded)->files().size(), 11u);
  // Time travel before the checkpoint still works from the commits.
  auto v2 = Snapshot::Load(store_, 2);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)->files().size(), 2u);
  EXPECT_FALSE((*v2)->checkpoint_version().has_value());
}

// Two processes commit to one table as fast as they can. Every commit must
// land exactly once and no version may be overwritten.
TEST_F(TransactionTest, TwoProcessesRacingCommitEachChangeExactlyOnce) {
  Create();
  constexpr int kCommitsPerProcess = 200;
  pid_t children[2];
  for (int p = 0; p < 2; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto store = std::make_shared<io::LocalLogStore>(dir_.string());
      for (int i = 0; i < kCommitsPerProcess; ++i) {
        auto snap = Snapshot::Load(store);
        if (!snap.ok()) {
          fprintf(stderr, "child %d load %d: %s\n", p, i, snap.status().ToString().c_str());
          _exit(10);
        }
        Transaction t(*snap, "WRITE");
        t.AddFile(FakeAdd("p" + std::to_string(p) + "-" + std::to_string(i) + ".parquet"));
        t.SetTxn("writer-" + std::to_string(p), i);
        CommitOptions opts;
        opts.checkpoint_interval = 0;
        auto r = t.Commit(opts);
        if (!r.ok()) {
          fprintf(stderr, "child %d commit %d: %s\n", p, i, r.status().ToString().c_str());
          _exit(11);
        }
      }
      _exit(0);
    }
    children[p] = pid;
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed " << status;
  }
  auto snap = Snapshot::Load(store_);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->version(), 2 * kCommitsPerProcess);
  std::set<std::string> paths;
  for (const auto& f : (*snap)->files()) paths.insert(f.path);
  EXPECT_EQ(paths.size(), static_cast<size_t>(2 * kCommitsPerProcess));
  EXPECT_EQ((*snap)->TxnVersion("writer-0"), kCommitsPerProcess - 1);
  EXPECT_EQ((*snap)->TxnVersion("writer-1"), kCommitsPerProcess - 1);
  // Each commit file holds exactly one add: nothing was merged or overwritten.
  for (int v = 1; v <= 2 * kCommitsPerProcess; ++v) {
    auto text = store_->Read(CommitPath(v));
    ASSERT_TRUE(text.ok());
    auto actions = CommitFromJson(*text, "v");
    ASSERT_TRUE(actions.ok());
    int adds = 0;
    for (const auto& a : *actions) adds += std::holds_alternative<Add>(a);
    EXPECT_EQ(adds, 1) << "version " << v;
  }
}

// A commit carries the row count forward from the files it adds and removes
// instead of re-reading every file's stats; it must equal a full count.
TEST_F(TransactionTest, RowCountFollowsCommitsExactly) {
  Create();
  auto with_rows = [](const std::string& path, int64_t rows) {
    Add a = FakeAdd(path);
    a.stats = R"({"numRecords":)" + std::to_string(rows) + "}";
    return a;
  };
  auto snap = Snapshot::Load(store_);
  ASSERT_TRUE(snap.ok());
  std::shared_ptr<const Snapshot> s = *snap;
  EXPECT_EQ(s->NumRecords(), 0);
  {
    Transaction t(s, "WRITE");
    t.AddFile(with_rows("a.parquet", 10));
    t.AddFile(with_rows("b.parquet", 7));
    auto r = t.Commit();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    s = r->snapshot;
  }
  // Known without counting: carried from the read snapshot's count.
  EXPECT_EQ(s->KnownNumRecords(), 17);
  {
    // A deletion vector on a (3 rows gone), b removed, c added.
    Transaction t(s, "MERGE");
    Add a = s->files()[0];
    t.RemoveFile(RemoveActionFor(a, 1));
    DeletionVectorDescriptor dv;
    dv.storage_type = 'i';
    dv.path_or_inline_dv = "xyz";
    dv.cardinality = 3;
    a.deletion_vector = dv;
    t.AddFile(a);
    t.RemoveFile(RemoveActionFor(s->files()[1], 1));
    t.AddFile(with_rows("c.parquet", 5));
    auto r = t.Commit();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    s = r->snapshot;
  }
  EXPECT_EQ(s->KnownNumRecords(), 12);
  auto reloaded = Snapshot::Load(store_);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_FALSE((*reloaded)->KnownNumRecords().has_value());  // not counted yet
  EXPECT_EQ((*reloaded)->NumRecords(), 12);
  EXPECT_EQ((*reloaded)->KnownNumRecords(), 12);
  {
    // A file without numRecords: the count is unknown, as a full count says.
    Transaction t(s, "WRITE");
    Add bare = FakeAdd("d.parquet");
    bare.stats.reset();
    t.AddFile(bare);
    auto r = t.Commit();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->snapshot->NumRecords().has_value());
  }
}

// The state a commit builds in memory (read state + the commit's actions,
// indexing only the files it names) is the state a fresh Load replays.
TEST_F(TransactionTest, StateAfterCommitsEqualsAFreshLoad) {
  Create();
  std::shared_ptr<const Snapshot> snap = *Snapshot::Load(store_);
  auto identity = [](const Add& a) {
    return a.path + "|" + (a.deletion_vector ? a.deletion_vector->UniqueId() : "");
  };
  for (int i = 1; i <= 25; ++i) {
    Transaction t(snap, "WRITE");
    t.AddFile(FakeAdd("f" + std::to_string(i) + ".parquet"));
    if (i % 4 == 0) {  // a DV update: remove + add of the same path
      Add a = snap->files()[snap->files().size() / 2];
      t.RemoveFile(RemoveActionFor(a, WallClockMs()));
      DeletionVectorDescriptor dv;
      dv.storage_type = 'i';
      dv.path_or_inline_dv = "dv" + std::to_string(i);
      dv.cardinality = 0;
      a.deletion_vector = dv;
      t.AddFile(a);
    }
    if (i % 5 == 0) t.RemoveFile(RemoveActionFor(snap->files()[1], WallClockMs()));
    if (i == 12) t.AddFile(FakeAdd("f5.parquet"));  // re-adds a removed path
    t.SetTxn("app", i);
    auto r = t.Commit(Every(7));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    snap = r->snapshot;

    auto loaded = Snapshot::Load(store_);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    const auto& fresh = **loaded;
    ASSERT_EQ(snap->version(), fresh.version());
    std::multiset<std::string> ours, theirs;
    for (const auto& f : snap->files()) ours.insert(identity(f));
    for (const auto& f : fresh.files()) theirs.insert(identity(f));
    EXPECT_EQ(ours, theirs) << "version " << i;
    std::multiset<std::string> our_tombs, their_tombs;
    for (const auto& r : snap->tombstones()) our_tombs.insert(r.path);
    for (const auto& r : fresh.tombstones()) their_tombs.insert(r.path);
    EXPECT_EQ(our_tombs, their_tombs) << "version " << i;
    EXPECT_EQ(snap->TxnVersion("app"), fresh.TxnVersion("app"));
    EXPECT_EQ(snap->NumRecords(), fresh.NumRecords()) << "version " << i;
  }
}

}  // namespace
}  // namespace sluice::delta
