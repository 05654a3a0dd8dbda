#include "sluice/server/table_status.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "sluice/server/status_board.h"

namespace sluice::server {
namespace {

TableStatus Table(const std::string& name, TableState state, const std::string& reason = "") {
  TableStatus t;
  t.name = name;
  t.state = state;
  t.state_reason = reason;
  return t;
}

TEST(Readiness, StoppedTablesMakeItNotReadyAndAreNamed) {
  PipelineStatus status;
  EXPECT_TRUE(EvaluateReadiness(status).ready);
  status.tables = {Table("db.a", TableState::kRunning), Table("db.b", TableState::kCatchingUp)};
  Readiness ok = EvaluateReadiness(status);
  EXPECT_TRUE(ok.ready);
  EXPECT_EQ(ok.message, "ready: 2 tables running or catching up");

  status.tables.push_back(Table("db.z", TableState::kStopped, "schema change refused"));
  status.tables.push_back(Table("db.c", TableState::kStopped));
  Readiness not_ready = EvaluateReadiness(status);
  EXPECT_FALSE(not_ready.ready);
  EXPECT_EQ(not_ready.stopped_tables, (std::vector<std::string>{"db.c", "db.z"}));
  EXPECT_EQ(not_ready.message, "not ready: stopped: db.c; db.z (schema change refused)");
}

TEST(StatusJson, DocumentShape) {
  PipelineStatus status;
  status.name = "p";
  status.version = "0.1.0";
  status.started_at_ms = 1000;
  status.generated_at_ms = 5000;
  TableStatus t = Table("db.t", TableState::kStopped, "bad \xff byte");
  t.lag_seconds = 2.5;
  t.backlog = 7;
  t.events_ingested = 100;
  t.dead_letters = 3;
  t.versions.log = 4;
  t.versions.merged = 2;
  t.last_commit = CommitRecord{"log", 4, 4000, 50, 0.1};
  t.newest_dead_letters.push_back({3000, "not a number", "f.avro#12"});
  t.schema_changes.push_back({2000, "added column x INT", true});
  t.series.push_back({4000, 12.3456, std::numeric_limits<double>::infinity(), 0.1});
  status.tables.push_back(t);

  auto doc = nlohmann::json::parse(StatusToJson(status));
  EXPECT_EQ(doc["pipeline"]["name"], "p");
  EXPECT_EQ(doc["generated_at_ms"], 5000);
  EXPECT_EQ(doc["ready"], false);
  EXPECT_EQ(doc["stopped_tables"], nlohmann::json::array({"db.t"}));
  const auto& table = doc["tables"][0];
  EXPECT_EQ(table["name"], "db.t");
  EXPECT_EQ(table["state"], "stopped");
  EXPECT_EQ(table["state_reason"].get<std::string>().substr(0, 4),
            "bad ");  // invalid UTF-8 replaced
  EXPECT_EQ(table["lag_seconds"], 2.5);
  EXPECT_EQ(table["backlog"], 7);
  EXPECT_TRUE(table["consumer_lag_messages"].is_null());  // a file table has none
  EXPECT_EQ(table["versions"]["log"], 4);
  EXPECT_TRUE(table["versions"]["history"].is_null());
  EXPECT_EQ(table["last_commit"]["version"], 4);
  EXPECT_EQ(table["dead_letters"]["count"], 3);
  EXPECT_EQ(table["dead_letters"]["newest"][0]["origin"], "f.avro#12");
  EXPECT_EQ(table["schema_changes"][0]["applied"], true);
  EXPECT_EQ(table["series"]["t_ms"][0], 4000);
  EXPECT_DOUBLE_EQ(table["series"]["throughput_eps"][0].get<double>(), 12.346);
  EXPECT_TRUE(table["series"]["lag_seconds"][0].is_null());  // Inf has no JSON form
}

TEST(StatusBoard, PublishSampleSnapshot) {
  StatusBoard board({"p", "v", 0, 1000, 60});
  board.RecordSample("db.b", 1000, 0, 1, 0);
  board.RecordSample("db.b", 2000, 50, 1, 0);
  EXPECT_TRUE(board.Snapshot(2000).tables.empty());  // samples alone do not publish
  TableStatus b = Table("db.b", TableState::kRunning);
  b.series.push_back({1, 1, 1, 1});  // ignored: the board owns series
  board.Publish(b);
  board.Publish(Table("db.a", TableState::kCatchingUp));
  PipelineStatus snap = board.Snapshot(2000);
  ASSERT_EQ(snap.tables.size(), 2u);
  EXPECT_EQ(snap.tables[0].name, "db.a");
  EXPECT_EQ(snap.tables[1].name, "db.b");
  ASSERT_EQ(snap.tables[1].series.size(), 2u);
  EXPECT_EQ(snap.tables[1].series[1].throughput_eps, 50);
  EXPECT_EQ(snap.series_interval_ms, 1000);
  board.Publish(Table("db.b", TableState::kStopped, "x"));
  EXPECT_EQ(board.Snapshot(2000).tables[1].state, TableState::kStopped);
  board.Remove("db.b");
  EXPECT_EQ(board.Snapshot(2000).tables.size(), 1u);
}

}  // namespace
}  // namespace sluice::server
