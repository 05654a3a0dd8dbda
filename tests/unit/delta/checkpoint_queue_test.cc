#include "sluice/delta/checkpoint_queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "sluice/core/bytes_written.h"
#include "sluice/core/clock.h"
#include "sluice/delta/checkpoint.h"
#include "sluice/delta/log_path.h"
#include "sluice/delta/table_features.h"
#include "sluice/delta/transaction.h"
#include "sluice/io/local_log_store.h"

namespace sluice::delta {
namespace {

// A local store whose checkpoint puts (the parquet file, not commits and not
// _last_checkpoint) wait at a gate while it is closed, so a test can keep
// the queue's worker busy, and fail while refused. It records the versions
// of the checkpoints it stored and of each _last_checkpoint written.
class GatedStore : public io::LogStore {
 public:
  explicit GatedStore(const std::string& root) : inner_(root) {}

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = false;
    }
    cv_.notify_all();
  }
  void Refuse(bool refuse) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = refuse;
  }
  /// True once `n` checkpoint puts have reached the gate (within 30 s).
  bool AwaitArrivals(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return arrived_ >= n; });
  }
  std::vector<int64_t> Stored() {
    std::lock_guard<std::mutex> lock(mu_);
    return stored_;
  }
  std::vector<int64_t> Pointed() {
    std::lock_guard<std::mutex> lock(mu_);
    return pointed_;
  }

  Status Put(const std::string& path, std::string_view data) override {
    auto parsed = ParseLogFileName(path.substr(path.rfind('/') + 1));
    if (parsed && parsed->type == LogFileType::kCheckpoint) {
      std::unique_lock<std::mutex> lock(mu_);
      ++arrived_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !closed_; });
      if (refuse_) return Status::IOError("refused by the test: ", path);
      ARROW_RETURN_NOT_OK(inner_.Put(path, data));
      stored_.push_back(parsed->version);
      return Status::OK();
    }
    if (parsed && parsed->type == LogFileType::kLastCheckpoint) {
      ARROW_ASSIGN_OR_RAISE(auto last, LastCheckpointFromJson(data));
      std::lock_guard<std::mutex> lock(mu_);
      pointed_.push_back(last.version);
    }
    return inner_.Put(path, data);
  }
  Result<std::vector<io::FileEntry>> ListFrom(const std::string& dir,
                                              const std::string& start_name) override {
    return inner_.ListFrom(dir, start_name);
  }
  Status PutIfAbsent(const std::string& path, std::string_view data) override {
    return inner_.PutIfAbsent(path, data);
  }
  Result<std::string> Read(const std::string& path) override { return inner_.Read(path); }
  Result<std::optional<io::FileEntry>> Head(const std::string& path) override {
    return inner_.Head(path);
  }
  Status Delete(const std::string& path) override { return inner_.Delete(path); }
  std::string Describe(const std::string& path) const override { return inner_.Describe(path); }

 private:
  io::LocalLogStore inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  bool refuse_ = false;
  int arrived_ = 0;
  std::vector<int64_t> stored_;
  std::vector<int64_t> pointed_;
};

// Opens the gate when a test leaves, before its queue (declared earlier)
// drains: a failed assertion must not leave the worker held forever.
struct OpenAtExit {
  GatedStore& store;
  ~OpenAtExit() { store.Open(); }
};

Metadata TestMetadata() {
  Metadata m;
  m.id = "test-table";
  m.schema_string =
      R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]})";
  return m;
}

Add FakeAdd(const std::string& path) {
  Add a;
  a.path = path;
  a.size = 1;
  a.stats = R"({"numRecords":1})";
  return a;
}

class CheckpointQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice_ckq_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = MakeStore("t");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<GatedStore> MakeStore(const std::string& name) {
    return std::make_shared<GatedStore>((dir_ / name).string());
  }

  /// Creates the table and commits versions 1..`versions` (no checkpoints);
  /// every snapshot by version.
  std::vector<std::shared_ptr<const Snapshot>> Commits(int versions) {
    std::vector<std::shared_ptr<const Snapshot>> out;
    Transaction create(store_, ProtocolForNewTable(true, false), TestMetadata(), "CREATE");
    auto created = create.Commit();
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    out.push_back(created->snapshot);
    CommitOptions none;
    none.checkpoint_interval = 0;
    for (int v = 1; v <= versions; ++v) {
      Transaction t(out.back(), "WRITE");
      t.AddFile(FakeAdd("f" + std::to_string(v) + ".parquet"));
      auto r = t.Commit(none);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      out.push_back(r->snapshot);
    }
    return out;
  }

  std::optional<int64_t> HintVersion() {
    auto text = store_->Read(LastCheckpointPath());
    if (!text.ok()) return std::nullopt;
    auto last = LastCheckpointFromJson(*text);
    return last.ok() ? std::optional<int64_t>(last->version) : std::nullopt;
  }

  std::filesystem::path dir_;
  std::shared_ptr<GatedStore> store_;
};

TEST_F(CheckpointQueueTest, WhileOneIsWrittenOnlyTheNewestWaiting) {
  auto s = Commits(30);
  CheckpointQueue queue;
  OpenAtExit reopen{*store_};
  store_->Close();
  queue.Enqueue(s[10]);
  ASSERT_TRUE(store_->AwaitArrivals(1));  // v10 is being written
  queue.Enqueue(s[20]);
  queue.Enqueue(s[30]);  // v20 is dropped: v30 is newer and still waiting
  store_->Open();
  queue.Drain();
  EXPECT_EQ(store_->Stored(), (std::vector<int64_t>{10, 30}));
  EXPECT_EQ(store_->Pointed(), (std::vector<int64_t>{10, 30}));
  auto stats = queue.stats();
  EXPECT_EQ(stats.requested, 3);
  EXPECT_EQ(stats.written, 2);
  EXPECT_EQ(stats.skipped, 1);
  EXPECT_EQ(stats.failed, 0);
  EXPECT_TRUE(queue.TakeFailures().empty());
  auto loaded = Snapshot::Load(store_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->checkpoint_version(), 30);
  EXPECT_EQ((*loaded)->files().size(), 30u);
}

TEST_F(CheckpointQueueTest, LastCheckpointNeverMovesBackwards) {
  auto s = Commits(30);
  CheckpointQueue queue;
  OpenAtExit reopen{*store_};
  store_->Close();
  queue.Enqueue(s[20]);
  ASSERT_TRUE(store_->AwaitArrivals(1));
  queue.Enqueue(s[10]);  // older than the one being written
  store_->Open();
  queue.Drain();
  queue.Enqueue(s[30]);
  queue.Drain();
  queue.Enqueue(s[20]);  // again, and older than the one written
  queue.Enqueue(s[30]);  // the same as the one written
  queue.Drain();
  EXPECT_EQ(store_->Stored(), (std::vector<int64_t>{20, 30}));
  EXPECT_EQ(store_->Pointed(), (std::vector<int64_t>{20, 30}));
  EXPECT_EQ(HintVersion(), 30);
  auto stats = queue.stats();
  EXPECT_EQ(stats.requested, 5);
  EXPECT_EQ(stats.written, 2);
  EXPECT_EQ(stats.skipped, 3);
}

TEST_F(CheckpointQueueTest, DrainWaitsForTheWriteUnderWay) {
  auto s = Commits(10);
  CheckpointQueue queue;
  OpenAtExit reopen{*store_};
  store_->Close();
  queue.Enqueue(s[10]);
  ASSERT_TRUE(store_->AwaitArrivals(1));
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    queue.Drain();
    drained = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(drained.load());
  store_->Open();
  drainer.join();
  EXPECT_TRUE(drained.load());
  EXPECT_EQ(store_->Stored(), (std::vector<int64_t>{10}));
  EXPECT_EQ(HintVersion(), 10);
}

TEST_F(CheckpointQueueTest, TheDestructorDrains) {
  auto s = Commits(10);
  {
    CheckpointQueue queue;
    queue.Enqueue(s[10]);
  }
  EXPECT_EQ(store_->Stored(), (std::vector<int64_t>{10}));
  EXPECT_EQ(HintVersion(), 10);
}

TEST_F(CheckpointQueueTest, FailuresAreCountedAndReportedOncePerTable) {
  auto s = Commits(30);
  CheckpointQueue queue;
  store_->Refuse(true);
  queue.Enqueue(s[10]);
  queue.Drain();
  queue.Enqueue(s[20]);
  queue.Drain();
  auto stats = queue.stats();
  EXPECT_EQ(stats.failed, 2);
  EXPECT_EQ(stats.written, 0);
  EXPECT_NE(stats.last_error.find("refused by the test"), std::string::npos) << stats.last_error;
  EXPECT_NE(stats.last_error.find("version 20"), std::string::npos) << stats.last_error;
  auto failures = queue.TakeFailures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].table, store_->Describe(""));
  EXPECT_EQ(failures[0].version, 10);
  EXPECT_TRUE(failures[0].status.IsIOError());
  EXPECT_TRUE(queue.TakeFailures().empty());
  EXPECT_FALSE(HintVersion().has_value());
  // The storage recovers: the next one is written.
  store_->Refuse(false);
  queue.Enqueue(s[30]);
  queue.Drain();
  EXPECT_EQ(queue.stats().written, 1);
  EXPECT_EQ(HintVersion(), 30);
  EXPECT_TRUE(queue.TakeFailures().empty());
}

TEST_F(CheckpointQueueTest, ItsBytesCountForWhoeverEnqueued) {
  auto s = Commits(10);
  CheckpointQueue queue;
  int64_t counted = 0;
  auto late = std::make_shared<std::atomic<int64_t>>(0);
  {
    BytesWrittenScope scope(&counted, late);
    queue.Enqueue(s[10]);
  }
  queue.Drain();
  const auto size = std::filesystem::file_size(dir_ / "t" / CheckpointPath(10));
  EXPECT_GT(size, 0u);
  EXPECT_EQ(late->load(), static_cast<int64_t>(size));
  EXPECT_EQ(counted, 0);  // the enqueueing scope had ended: only its late bytes
}

TEST_F(CheckpointQueueTest, ACommitReturnsBeforeItsCheckpointIsWritten) {
  auto s = Commits(0);
  CheckpointQueue queue;
  CommitOptions options;
  options.checkpoint_interval = 5;
  options.checkpoint_queue = &queue;
  OpenAtExit reopen{*store_};
  store_->Close();  // no checkpoint can be stored until the end
  std::shared_ptr<const Snapshot> snap = s[0];
  for (int i = 1; i <= 12; ++i) {
    Transaction t(snap, "WRITE");
    t.AddFile(FakeAdd("f" + std::to_string(i) + ".parquet"));
    auto r = t.Commit(options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->checkpoint_queued, i % 5 == 0) << i;
    EXPECT_FALSE(r->checkpointed) << i;
    EXPECT_FALSE(r->snapshot->checkpoint_version().has_value());
    if (i == 5) {
      ASSERT_TRUE(store_->AwaitArrivals(1));  // the worker is held on v5
    }
    snap = r->snapshot;
  }
  EXPECT_TRUE(store_->Stored().empty());
  EXPECT_FALSE(HintVersion().has_value());
  store_->Open();
  queue.Drain();
  EXPECT_EQ(store_->Stored(), (std::vector<int64_t>{5, 10}));
  EXPECT_EQ(HintVersion(), 10);
}

// The same commits, checkpointed inline on one table and through the queue
// on another: every version reads the same, and the newest checkpoint is the
// same once the queue is drained.
TEST_F(CheckpointQueueTest, ReadersSeeTheSameTableWithAndWithoutTheQueue) {
  auto inline_store = MakeStore("inline");
  auto queued_store = MakeStore("queued");
  CheckpointQueue queue;
  CommitOptions inline_options;
  inline_options.checkpoint_interval = 3;
  CommitOptions queued_options = inline_options;
  queued_options.checkpoint_queue = &queue;
  constexpr int kVersions = 20;
  for (auto [store, options] :
       {std::pair{inline_store, inline_options}, std::pair{queued_store, queued_options}}) {
    Transaction create(store, ProtocolForNewTable(true, false), TestMetadata(), "CREATE");
    auto created = create.Commit(options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    std::shared_ptr<const Snapshot> snap = created->snapshot;
    for (int v = 1; v <= kVersions; ++v) {
      Transaction t(snap, "WRITE");
      t.AddFile(FakeAdd("f" + std::to_string(v) + ".parquet"));
      if (v % 4 == 0) t.RemoveFile(RemoveActionFor(snap->files().front(), WallClockMs()));
      t.SetTxn("app", v);
      auto r = t.Commit(options);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      snap = r->snapshot;
    }
  }
  queue.Drain();
  EXPECT_EQ(queue.stats().failed, 0);
  auto paths = [](const Snapshot& s) {
    std::multiset<std::string> out;
    for (const auto& f : s.files()) out.insert(f.path);
    return out;
  };
  auto removed = [](const Snapshot& s) {
    std::multiset<std::string> out;
    for (const auto& r : s.tombstones()) out.insert(r.path);
    return out;
  };
  for (int v = 0; v <= kVersions; ++v) {
    auto a = Snapshot::Load(inline_store, v);
    auto b = Snapshot::Load(queued_store, v);
    ASSERT_TRUE(a.ok() && b.ok()) << v;
    EXPECT_EQ(paths(**a), paths(**b)) << "version " << v;
    EXPECT_EQ(removed(**a), removed(**b)) << "version " << v;
    EXPECT_EQ((*a)->TxnVersion("app"), (*b)->TxnVersion("app")) << "version " << v;
  }
  auto a = Snapshot::Load(inline_store);
  auto b = Snapshot::Load(queued_store);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->checkpoint_version(), 18);
  EXPECT_EQ((*b)->checkpoint_version(), 18);
  EXPECT_EQ(paths(**a), paths(**b));
}

}  // namespace
}  // namespace sluice::delta
