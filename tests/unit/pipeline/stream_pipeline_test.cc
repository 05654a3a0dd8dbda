// The pipeline against an in-memory source (not Datastream): exactly once
// under injected failures at every step boundary and restarts, a unit routed
// to several tables, a position of several partition offsets, a table and a
// stream appearing mid-run.
#include "sluice/pipeline/stream_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "memory_source.h"
#include "sluice/delta/checkpoint.h"
#include "sluice/delta/log_path.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/io/local_log_store.h"
#include "sluice/pipeline/fault_points.h"
#include "sluice/pipeline/runner.h"

namespace sluice::pipeline {
namespace {

using testing::MemRow;
using testing::MemUnit;
using testing::World;

class StreamPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice_stream_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    world_ = std::make_shared<World>();
    testing::CurrentWorld() = world_;
    testing::RegisterMemorySource();
    config_.source_kind = "memory";
    config_.source_path = "memory";
    config_.sink_path = (dir_ / "lake").string();
    config_.merge_interval_ms = 0;
    config_.max_files_per_batch = 3;
    config_.history_tables = true;
    config_.maintenance_interval_ms = 0;  // maintenance at every step
    config_.checkpoint_interval = 4;
  }
  void TearDown() override {
    SetFaultHook({});
    std::filesystem::remove_all(dir_);
  }

  // A stream of `n` units on tables `tables`, keys 0..9 of each, every event
  // an insert, update or delete in `seq` order.
  void AddUnits(const std::string& stream, const std::vector<std::string>& tables, int n,
                int partitions, uint64_t& seq, std::mt19937& rng) {
    std::lock_guard<std::mutex> lock(world_->mu);
    auto& s = world_->streams[stream];
    s.many = tables.size() > 1 || partitions > 1;
    for (int u = 0; u < n; ++u) {
      MemUnit unit;
      unit.partition = static_cast<int>(rng() % partitions);
      int rows = 1 + static_cast<int>(rng() % 4);
      for (int r = 0; r < rows; ++r) {
        MemRow row;
        row.table = tables[rng() % tables.size()];
        row.id = static_cast<int64_t>(rng() % 10);
        row.seq = ++seq;
        int kind = static_cast<int>(rng() % 10);
        row.op = kind < 5 ? CdcOp::kInsert : kind < 8 ? CdcOp::kUpdate : CdcOp::kDelete;
        row.v = "v" + std::to_string(row.seq);
        unit.rows.push_back(row);
        events_[row.table].push_back(row);
      }
      s.units.push_back(std::move(unit));
    }
  }

  std::shared_ptr<arrow::Table> Read(const std::string& path) {
    auto loc = io::OpenTableLocation(path);
    EXPECT_TRUE(loc.ok());
    auto snap = delta::LoadIfExists(*loc);
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    if (!*snap) return nullptr;
    auto table = delta::ReadSnapshot(**snap, *loc);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    return *table;
  }

  // Every event exactly once in the log, the merged table equal to a replay.
  void CheckTables(const std::string& qualified) {
    auto dot = qualified.find('.');
    std::string base =
        config_.sink_path + "/" + qualified.substr(0, dot) + "/" + qualified.substr(dot + 1);
    auto log = Read(base + "_log");
    ASSERT_TRUE(log) << qualified;
    auto origins = log->GetColumnByName("_cdc_origin");
    auto seqs = log->GetColumnByName("_cdc_source");
    ASSERT_TRUE(origins);
    std::multiset<int64_t> seen;
    for (const auto& chunk : seqs->chunks()) {
      auto st = std::static_pointer_cast<arrow::StructArray>(chunk);
      auto seq = std::static_pointer_cast<arrow::Int64Array>(st->field(0));
      for (int64_t i = 0; i < seq->length(); ++i) seen.insert(seq->Value(i));
    }
    std::multiset<int64_t> want;
    std::map<int64_t, std::string> state;
    for (const auto& e : events_[qualified]) {
      want.insert(static_cast<int64_t>(e.seq));
      if (e.op == CdcOp::kTruncate) {
        state.clear();
      } else if (e.op == CdcOp::kDelete) {
        state.erase(e.id);
      } else {
        state[e.id] = e.v;
      }
    }
    EXPECT_EQ(seen, want) << qualified << ": the log holds each event exactly once";

    auto merged = Read(base);
    ASSERT_TRUE(merged) << qualified;
    std::map<int64_t, std::string> got;
    auto ids = merged->GetColumnByName("id");
    auto vs = merged->GetColumnByName("v");
    for (int c = 0; c < ids->num_chunks(); ++c) {
      auto id = std::static_pointer_cast<arrow::Int64Array>(ids->chunk(c));
      auto v = std::static_pointer_cast<arrow::StringArray>(vs->chunk(c));
      for (int64_t i = 0; i < id->length(); ++i) {
        EXPECT_TRUE(got.emplace(id->Value(i), v->GetString(i)).second) << "key twice";
      }
    }
    EXPECT_EQ(got, state) << qualified << ": the merged table equals the replay";

    // The history table: its open versions are the merged state.
    auto history = Read(base + "_history");
    ASSERT_TRUE(history) << qualified;
    std::map<int64_t, std::string> open;
    auto hid = history->GetColumnByName("id");
    auto hv = history->GetColumnByName("v");
    auto end = history->GetColumnByName("__END_AT");
    for (int c = 0; c < hid->num_chunks(); ++c) {
      auto id = std::static_pointer_cast<arrow::Int64Array>(hid->chunk(c));
      auto v = std::static_pointer_cast<arrow::StringArray>(hv->chunk(c));
      for (int64_t i = 0; i < id->length(); ++i) {
        if (end->chunk(c)->IsNull(i)) open[id->Value(i)] = v->GetString(i);
      }
    }
    EXPECT_EQ(open, state) << qualified << ": the history's open versions equal the replay";
  }

  // Drives every stream until nothing is left, restarting (a new pipeline,
  // as a new process would) after some of the failures.
  void Drain(std::mt19937& rng, int max_steps = 2000, bool must_settle = true) {
    sources::SourceOptions opts;
    opts.kind = "memory";
    auto source = sources::MakeSource(opts);
    ASSERT_TRUE(source.ok());
    std::map<std::string, std::unique_ptr<StreamPipeline>> pipes;
    int quiet = 0;
    for (int step = 0; step < max_steps && quiet < 3; ++step) {
      auto ids = (*source)->Discover();
      ASSERT_TRUE(ids.ok());
      bool worked = false;
      for (const auto& id : *ids) {
        auto& p = pipes[id];
        if (!p) p = std::make_unique<StreamPipeline>(config_, *(*source)->OpenStream(id));
        auto r = p->Step(/*drain=*/true);
        if (!r.ok()) {
          ++failures_;
          worked = true;
          if (rng() % 2) p.reset();  // "the process died": a new one starts over
          continue;
        }
        for (const auto& t : r->tables) {
          EXPECT_TRUE(t.follower_stopped.empty()) << t.follower_stopped;
          if (!t.follower_retry.empty()) ++failures_;
        }
        worked = worked || r->worked || r->waiting ||
                 std::any_of(r->tables.begin(), r->tables.end(),
                             [](const TableStep& t) { return !t.follower_retry.empty(); });
      }
      quiet = worked ? 0 : quiet + 1;
    }
    if (must_settle) {
      ASSERT_EQ(quiet, 3) << "did not settle";
    }
  }

  std::filesystem::path dir_;
  std::shared_ptr<World> world_;
  Config config_;
  std::map<std::string, std::vector<MemRow>> events_;
  int failures_ = 0;
};

// Fails every `period`-th pass through `point` (an injected I/O error).
void FailEvery(const std::string& point, int period) {
  auto hits = std::make_shared<int>(0);
  SetFaultHook([point, period, hits](std::string_view at) -> Status {
    if (at != point) return Status::OK();
    if (++*hits % period == 0) return Status::IOError("injected failure at ", point);
    return Status::OK();
  });
}

TEST_F(StreamPipelineTest, ExactlyOnceUnderFailuresAtEveryStepBoundary) {
  for (const std::string point :
       {"decode", "log commit", "follower commit", "history commit", "maintenance"}) {
    SCOPED_TRACE(point);
    events_.clear();
    std::filesystem::remove_all(config_.sink_path);
    {
      std::lock_guard<std::mutex> lock(world_->mu);
      world_->streams.clear();
    }
    std::mt19937 rng(7);
    uint64_t seq = 0;
    AddUnits("orders", {"shop.orders"}, 20, 1, seq, rng);
    failures_ = 0;
    FailEvery(point, 3);
    // Failures keep coming while the hook is on: a bounded run, then a clean one.
    Drain(rng, 120, /*must_settle=*/false);
    SetFaultHook({});
    // More input lands after the failures; a clean run drains it.
    AddUnits("orders", {"shop.orders"}, 5, 1, seq, rng);
    Drain(rng);
    EXPECT_GT(failures_, 0) << "no failure was injected at " << point;
    CheckTables("shop.orders");
  }
}

// Two processes on one table: a state's key can be shared by batches planned
// from different positions. The one behind must not remove the state the
// other committed (a restart would then find its committed position without
// a state).
TEST_F(StreamPipelineTest, AProcessBehindKeepsTheStateAnotherCommitted) {
  std::mt19937 rng(5);
  uint64_t seq = 0;
  sources::SourceOptions opts;
  opts.kind = "memory";
  auto source = sources::MakeSource(opts);
  ASSERT_TRUE(source.ok());
  auto open = [&] {
    return std::make_unique<StreamPipeline>(config_, *(*source)->OpenStream("orders"));
  };
  AddUnits("orders", {"shop.orders"}, 1, 1, seq, rng);
  auto behind = open();
  ASSERT_TRUE(behind->Step(true).ok());  // committed 1 unit: position 1
  auto ahead = open();
  for (int i = 0; i < 2; ++i) {  // positions 2 (from 1) and 3 (from 2)
    AddUnits("orders", {"shop.orders"}, 1, 1, seq, rng);
    auto r = ahead->Step(true);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->units_committed, 1);
  }
  // Still at position 1, it plans units 1 and 2: position 3, from 1.
  auto r = behind->Step(true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->units_committed, 0);
  auto fresh = open();
  r = fresh->Step(true);
  ASSERT_TRUE(r.ok()) << "a restart finds the committed state: " << r.status().ToString();
  AddUnits("orders", {"shop.orders"}, 4, 1, seq, rng);
  Drain(rng);
  CheckTables("shop.orders");
}

TEST_F(StreamPipelineTest, AUnitRoutedToSeveralTablesWithPartitionOffsets) {
  std::mt19937 rng(11);
  uint64_t seq = 0;
  // One topic, two partitions, rows of two tables in each unit.
  AddUnits("topic", {"app.a", "app.b"}, 15, 2, seq, rng);
  FailEvery("log commit", 4);
  Drain(rng, 120, false);
  // A third table appears in the same stream mid-run, and a new stream.
  AddUnits("topic", {"app.a", "app.b", "app.c"}, 10, 2, seq, rng);
  AddUnits("later", {"app.d"}, 6, 1, seq, rng);
  FailEvery("stream checkpoint", 2);
  Drain(rng, 120, false);
  SetFaultHook({});
  Drain(rng);
  EXPECT_GT(failures_, 0);
  for (const char* t : {"app.a", "app.b", "app.c", "app.d"}) CheckTables(t);
  // The position is one txn per partition, in the same commits as the rows.
  auto loc = io::OpenTableLocation(config_.sink_path + "/app/a_log");
  ASSERT_TRUE(loc.ok());
  auto snap = delta::LoadIfExists(*loc);
  ASSERT_TRUE(snap.ok() && *snap);
  EXPECT_TRUE((*snap)->TxnVersion("sluice/topic#0").has_value());
  EXPECT_TRUE((*snap)->TxnVersion("sluice/topic#1").has_value());
}

// A truncate arrives without a message key: a unit holding nothing else
// must not read as the table's keys changing to none (it stopped the table
// in tests/kafka), before or after a restart, nor when it comes first.
TEST_F(StreamPipelineTest, AUnitOfTruncatesAloneKeepsTheTablesKeys) {
  auto add = [&](std::vector<MemRow> rows) {
    std::lock_guard<std::mutex> lock(world_->mu);
    for (const auto& r : rows) events_[r.table].push_back(r);
    world_->streams["t"].units.push_back({0, std::move(rows)});
  };
  config_.max_files_per_batch = 1;  // the truncate's unit is a batch of its own
  const MemRow truncate{"db.t", 0, "", CdcOp::kTruncate, 0};
  MemRow t1 = truncate;
  t1.seq = 1;
  add({t1});
  add({{"db.t", 1, "a", CdcOp::kInsert, 2}, {"db.t", 2, "b", CdcOp::kInsert, 3}});
  std::mt19937 rng(5);
  Drain(rng);
  CheckTables("db.t");
  MemRow t4 = truncate;
  t4.seq = 4;
  add({t4});
  add({{"db.t", 3, "c", CdcOp::kInsert, 5}});
  Drain(rng);  // a new pipeline: the keys come from the tables
  CheckTables("db.t");
  EXPECT_EQ(failures_, 0);
}

TEST_F(StreamPipelineTest, RunnerPicksUpAStreamThatAppearsMidRun) {
  std::mt19937 rng(3);
  uint64_t seq = 0;
  AddUnits("first", {"db.one"}, 4, 1, seq, rng);
  std::ostringstream out;
  RunOptions once;
  once.once = true;
  auto summary = pipeline::Run(config_, once, out);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  AddUnits("second", {"db.two"}, 4, 1, seq, rng);
  std::ostringstream out2;
  summary = pipeline::Run(config_, once, out2);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_NE(out2.str().find("discovered table folder 'second'"), std::string::npos) << out2.str();
  EXPECT_EQ(summary->failed_tables, 0);
  CheckTables("db.one");
  CheckTables("db.two");
}

// Every Delta table a run wrote (log, merged, history and their side
// tables) has its newest due checkpoint, named by _last_checkpoint, once Run
// returns: written by the run's background queue (drained before Run
// returns) or inline, alike.
TEST_F(StreamPipelineTest, ARunLeavesEveryTablesNewestCheckpoint) {
  std::mt19937 rng(7);
  uint64_t seq = 0;
  AddUnits("first", {"db.one"}, 40, 1, seq, rng);
  for (bool background : {true, false}) {
    const std::string mode = background ? " (background)" : " (inline)";
    config_.background_checkpoints = background;
    config_.sink_path = (dir_ / (background ? "lake_background" : "lake_inline")).string();
    std::ostringstream out;
    RunOptions once;
    once.once = true;
    auto summary = pipeline::Run(config_, once, out);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    EXPECT_EQ(summary->failed_tables, 0) << out.str();
    EXPECT_EQ(out.str().find("background checkpoint"), std::string::npos) << out.str();
    int checked = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(config_.sink_path)) {
      if (!entry.is_directory() || entry.path().filename() != "_delta_log") continue;
      const std::string root = entry.path().parent_path().string();
      auto store = std::make_shared<io::LocalLogStore>(root);
      auto snap = delta::Snapshot::Load(store);
      ASSERT_TRUE(snap.ok()) << root << ": " << snap.status().ToString();
      const int64_t due = (*snap)->version() - (*snap)->version() % config_.checkpoint_interval;
      if (due == 0) continue;
      ++checked;
      EXPECT_EQ((*snap)->checkpoint_version(), due) << root << mode;
      auto hint = store->Read(delta::LastCheckpointPath());
      ASSERT_TRUE(hint.ok()) << root << mode;
      auto last = delta::LastCheckpointFromJson(*hint);
      ASSERT_TRUE(last.ok()) << root << mode;
      EXPECT_EQ(last->version, due) << root << mode;
    }
    EXPECT_GE(checked, 3) << "the log, merged and history tables at least" << mode;
    CheckTables("db.one");
  }
}

// A background checkpoint that cannot be written (a directory holds its
// name) fails nothing: the run goes on and ends well, the failure is told
// once for the table, and a later checkpoint of the table is written.
TEST_F(StreamPipelineTest, AFailedBackgroundCheckpointIsToldOnceAndFailsNothing) {
  std::mt19937 rng(7);
  uint64_t seq = 0;
  AddUnits("first", {"db.one"}, 40, 1, seq, rng);
  const std::filesystem::path log_table = std::filesystem::path(config_.sink_path) / "db/one_log";
  for (int version : {4, 8})
    std::filesystem::create_directories(log_table / delta::CheckpointPath(version));
  std::ostringstream out;
  RunOptions once;
  once.once = true;
  auto summary = pipeline::Run(config_, once, out);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->failed_tables, 0) << out.str();
  const std::string text = out.str();
  const std::string told = "background checkpoint failed";
  const size_t first = text.find(told);
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(told, first + 1), std::string::npos) << "told once: " << text;
  EXPECT_NE(text.find("one_log"), std::string::npos) << text;
  EXPECT_NE(text.find("  checkpoints: "), std::string::npos) << text;
  CheckTables("db.one");
  auto store = std::make_shared<io::LocalLogStore>(log_table.string());
  auto snap = delta::Snapshot::Load(store);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const int64_t due = (*snap)->version() - (*snap)->version() % config_.checkpoint_interval;
  ASSERT_GT(due, 8);
  EXPECT_EQ((*snap)->checkpoint_version(), due);
}

TEST_F(StreamPipelineTest, UnknownSourceKindNamesTheKnownOnes) {
  config_.source_kind = "nosuch";
  std::ostringstream out;
  auto summary = pipeline::Run(config_, RunOptions{}, out);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.status().message().find("datastream"), std::string::npos);
  EXPECT_NE(summary.status().message().find("memory"), std::string::npos);
}

}  // namespace
}  // namespace sluice::pipeline
