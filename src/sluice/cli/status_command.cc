// `sluice status SINK_PATH [--json]`: the state of every source table of a
// sink, from the tables alone (the event log `<sink>/_sluice/events` and the
// Delta tables it names), so it works while nothing runs and across several
// processes sharing the sink. docs/operations.md describes the output.
#include <arrow/api.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "sluice/cli/commands.h"
#include "sluice/core/clock.h"
#include "sluice/delta/civil_time.h"
#include "sluice/delta/table_writer.h"
#include "sluice/io/table_location.h"
#include "sluice/pipeline/event_log.h"

namespace sluice::cli {

namespace {

struct TableEvents {
  std::map<std::string, std::string> paths;  // delta_table -> path, newest seen
  int64_t last_commit_us = 0;
  std::optional<double> lag_at_last_commit;
  int64_t last_stop_us = 0;
  std::string stop_reason;
  int64_t last_resume_us = 0;
};

// Figures of one Delta table; null when it does not exist (yet).
Result<nlohmann::json> DescribeTable(const std::string& path, bool with_position) {
  if (path.empty()) return nlohmann::json();
  ARROW_ASSIGN_OR_RAISE(auto location, io::OpenTableLocation(path));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(location));
  if (!snapshot) return nlohmann::json();
  nlohmann::json j{{"path", path},
                   {"version", snapshot->version()},
                   {"last_commit_ms", snapshot->timestamp_ms()}};
  auto rows = snapshot->NumRecords();
  j["rows"] = rows ? nlohmann::json(*rows) : nlohmann::json();
  if (with_position) {
    nlohmann::json position = nlohmann::json::object();
    for (const auto& [app, txn] : snapshot->txns()) position[app] = txn.version;
    j["position"] = position;
  }
  return j;
}

template <typename A>
std::shared_ptr<A> Column(const std::shared_ptr<arrow::Table>& t, const char* name) {
  return std::static_pointer_cast<A>(t->GetColumnByName(name)->chunk(0));
}

Result<nlohmann::json> SinkStatus(const std::string& sink) {
  ARROW_ASSIGN_OR_RAISE(auto events,
                        pipeline::ReadEventLog(sink, {"time", "table", "kind", "delta_table",
                                                      "delta_path", "lag_seconds", "message"}));
  if (!events) {
    return Status::Invalid("no event log at ", pipeline::EventLogPath(sink),
                           " (a sink written by `sluice run` has one)");
  }
  ARROW_ASSIGN_OR_RAISE(events, events->CombineChunks());
  std::map<std::string, TableEvents> tables;
  int64_t newest_event_us = 0;
  if (events->num_rows() > 0) {
    auto time = Column<arrow::TimestampArray>(events, "time");
    auto name = Column<arrow::StringArray>(events, "table");
    auto kind = Column<arrow::StringArray>(events, "kind");
    auto delta_table = Column<arrow::StringArray>(events, "delta_table");
    auto delta_path = Column<arrow::StringArray>(events, "delta_path");
    auto lag = Column<arrow::DoubleArray>(events, "lag_seconds");
    auto message = Column<arrow::StringArray>(events, "message");
    for (int64_t i = 0; i < events->num_rows(); ++i) {
      const int64_t t = time->Value(i);
      newest_event_us = std::max(newest_event_us, t);
      if (name->IsNull(i)) continue;
      TableEvents& e = tables[std::string(name->GetView(i))];
      const auto k = kind->GetView(i);
      if (!delta_table->IsNull(i) && !delta_path->IsNull(i) &&
          delta_table->GetView(i) != "dead_letters") {
        e.paths[std::string(delta_table->GetView(i))] = std::string(delta_path->GetView(i));
      }
      if (k == "commit" && t >= e.last_commit_us) {
        e.last_commit_us = t;
        if (!lag->IsNull(i)) e.lag_at_last_commit = lag->Value(i);
      } else if (k == "stopped" && t >= e.last_stop_us) {
        e.last_stop_us = t;
        e.stop_reason = message->IsNull(i) ? "" : std::string(message->GetView(i));
      } else if (k == "resumed" && t >= e.last_resume_us) {
        e.last_resume_us = t;
      }
    }
  }
  nlohmann::json out{{"sink", sink},
                     {"event_log", pipeline::EventLogPath(sink)},
                     {"generated_at_ms", WallClockMs()},
                     {"newest_event_ms", newest_event_us / 1000}};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, e] : tables) {
    nlohmann::json t{{"name", name}};
    auto path = [&](const char* k) {
      auto it = e.paths.find(k);
      return it == e.paths.end() ? std::string() : it->second;
    };
    ARROW_ASSIGN_OR_RAISE(t["log"], DescribeTable(path("log"), true));
    ARROW_ASSIGN_OR_RAISE(t["merged"], DescribeTable(path("merged"), t["log"].is_null()));
    ARROW_ASSIGN_OR_RAISE(t["history"], DescribeTable(path("history"), false));
    ARROW_ASSIGN_OR_RAISE(
        auto dead, DescribeTable(io::JoinPath(io::JoinPath(sink, "_dead_letters"), name), false));
    t["dead_letters"] = dead.is_null() ? nlohmann::json(0) : dead["rows"];
    // The source table's own figures: its log table, else its merged table.
    const nlohmann::json& main = !t["log"].is_null() ? t["log"] : t["merged"];
    t["position"] = main.is_null() ? nlohmann::json() : main.value("position", nlohmann::json());
    t["rows"] = main.is_null() ? nlohmann::json() : main["rows"];
    t["last_commit_ms"] = main.is_null() ? nlohmann::json() : main["last_commit_ms"];
    t["lag_seconds_at_last_commit"] =
        e.lag_at_last_commit ? nlohmann::json(*e.lag_at_last_commit) : nlohmann::json();
    // Stopped when the newest stop is newer than any commit or resume since.
    const bool stopped = e.last_stop_us > 0 && e.last_stop_us >= e.last_commit_us &&
                         e.last_stop_us >= e.last_resume_us;
    t["state"] = stopped ? "stopped" : "ok";
    t["stopped_reason"] = stopped ? nlohmann::json(e.stop_reason) : nlohmann::json();
    t["stopped_at_ms"] = stopped ? nlohmann::json(e.last_stop_us / 1000) : nlohmann::json();
    list.push_back(std::move(t));
  }
  out["tables"] = list;
  nlohmann::json stopped = nlohmann::json::array();
  for (const auto& t : list) {
    if (t["state"] == "stopped") stopped.push_back(t["name"]);
  }
  out["stopped_tables"] = stopped;
  return out;
}

std::string FormatTime(const nlohmann::json& ms) {
  if (!ms.is_number()) return "-";
  const int64_t v = ms.get<int64_t>();
  const int64_t days = delta::FloorDiv(v, 86'400'000);
  auto date = delta::FormatDate(days);
  if (!date.ok()) return "-";
  return *date + "T" + delta::FormatTimeOfDay((v - days * 86'400'000) * 1'000'000, 0) + "Z";
}

std::string Text(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", v.get<double>());
    return buf;
  }
  return v.dump();
}

}  // namespace

int RunStatus(const std::string& sink, bool json) {
  auto status = SinkStatus(sink);
  if (!status.ok()) {
    std::cerr << "sluice status: " << status.status().ToString() << std::endl;
    return 2;
  }
  if (json) {
    std::cout << status->dump(2) << std::endl;
    return 0;
  }
  const auto& s = *status;
  std::cout << "sink " << sink << ": " << s["tables"].size() << " tables, "
            << s["stopped_tables"].size() << " stopped; newest event "
            << FormatTime(s["newest_event_ms"]) << "\n";
  for (const auto& t : s["tables"]) {
    std::cout << "  " << Text(t["name"]) << "  " << Text(t["state"]) << "  rows " << Text(t["rows"])
              << "  last commit " << FormatTime(t["last_commit_ms"]) << "  lag at last commit "
              << Text(t["lag_seconds_at_last_commit"]) << "s"
              << "  dead letters " << Text(t["dead_letters"]);
    if (!t["log"].is_null()) std::cout << "  log v" << Text(t["log"]["version"]);
    if (!t["merged"].is_null()) std::cout << "  merged v" << Text(t["merged"]["version"]);
    if (!t["history"].is_null()) std::cout << "  history v" << Text(t["history"]["version"]);
    std::cout << "\n";
    if (t["position"].is_object()) {
      for (const auto& [app, v] : t["position"].items()) {
        std::cout << "      position " << app << " = " << v.dump() << "\n";
      }
    }
    if (t["state"] == "stopped")
      std::cout << "      STOPPED: " << Text(t["stopped_reason"]) << "\n";
  }
  std::cout.flush();
  return 0;
}

}  // namespace sluice::cli
