#include "sluice/server/table_status.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace sluice::server {
namespace {

using nlohmann::json;

template <typename T>
json Optional(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

// JSON has no NaN/Inf; a broken figure shows as null rather than breaking the page.
json Number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

// Sparkline points: a thousandth is finer than a pixel, and keeps the
// document small (360 points x 3 series x every table, every 2 s).
json Point(double value) {
  return std::isfinite(value) ? json(std::round(value * 1000) / 1000) : json(nullptr);
}

json TableToJson(const TableStatus& t) {
  json dead = json::array();
  for (const auto& d : t.newest_dead_letters) {
    dead.push_back({{"at_ms", d.at_ms}, {"reason", d.reason}, {"origin", d.origin}});
  }
  json schema = json::array();
  for (const auto& s : t.schema_changes) {
    schema.push_back({{"at_ms", s.at_ms}, {"description", s.description}, {"applied", s.applied}});
  }
  json commit = nullptr;
  if (t.last_commit) {
    commit = {{"table", t.last_commit->table},
              {"version", t.last_commit->version},
              {"at_ms", t.last_commit->at_ms},
              {"rows", t.last_commit->rows},
              {"duration_seconds", Number(t.last_commit->duration_seconds)}};
  }
  json series = {{"t_ms", json::array()},
                 {"throughput_eps", json::array()},
                 {"lag_seconds", json::array()},
                 {"latency_seconds", json::array()}};
  for (const auto& s : t.series) {
    series["t_ms"].push_back(s.t_ms);
    series["throughput_eps"].push_back(Point(s.throughput_eps));
    series["lag_seconds"].push_back(Point(s.lag_seconds));
    series["latency_seconds"].push_back(Point(s.latency_seconds));
  }
  return {{"name", t.name},
          {"source", t.source},
          {"state", TableStateName(t.state)},
          {"state_reason", t.state_reason},
          {"lag_seconds", t.lag_seconds ? Number(*t.lag_seconds) : json(nullptr)},
          {"backlog", Optional(t.backlog)},
          {"consumer_lag_messages", Optional(t.consumer_lag)},
          {"events_ingested", t.events_ingested},
          {"rows_merged", t.rows_merged},
          {"versions",
           {{"log", Optional(t.versions.log)},
            {"merged", Optional(t.versions.merged)},
            {"history", Optional(t.versions.history)}}},
          {"last_commit", commit},
          {"dead_letters", {{"count", t.dead_letters}, {"newest", dead}}},
          {"schema_changes", schema},
          {"series", series}};
}

}  // namespace

std::string_view TableStateName(TableState state) {
  switch (state) {
    case TableState::kRunning:
      return "running";
    case TableState::kCatchingUp:
      return "catching_up";
    case TableState::kStopped:
      return "stopped";
  }
  return "unknown";
}

Readiness EvaluateReadiness(const PipelineStatus& status) {
  Readiness r;
  std::vector<const TableStatus*> stopped;
  for (const TableStatus& t : status.tables) {
    if (t.state == TableState::kStopped) stopped.push_back(&t);
  }
  std::sort(stopped.begin(), stopped.end(),
            [](const TableStatus* a, const TableStatus* b) { return a->name < b->name; });
  if (stopped.empty()) {
    r.message = fmt::format("ready: {} tables running or catching up", status.tables.size());
    return r;
  }
  r.ready = false;
  r.message = "not ready: stopped: ";
  for (size_t i = 0; i < stopped.size(); ++i) {
    r.stopped_tables.push_back(stopped[i]->name);
    if (i > 0) r.message += "; ";
    r.message += stopped[i]->name;
    if (!stopped[i]->state_reason.empty()) r.message += " (" + stopped[i]->state_reason + ")";
  }
  return r;
}

std::string StatusToJson(const PipelineStatus& status) {
  Readiness readiness = EvaluateReadiness(status);
  json tables = json::array();
  for (const TableStatus& t : status.tables) tables.push_back(TableToJson(t));
  json doc = {{"pipeline",
               {{"name", status.name},
                {"version", status.version},
                {"started_at_ms", status.started_at_ms}}},
              {"generated_at_ms", status.generated_at_ms},
              {"series_interval_ms", status.series_interval_ms},
              {"ready", readiness.ready},
              {"stopped_tables", readiness.stopped_tables},
              {"tables", tables}};
  // Invalid UTF-8 in a reason or origin (it can come from source data) is
  // replaced rather than making dump() throw.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sluice::server
