#include "sluice/server/status_board.h"

namespace sluice::server {

StatusBoard::StatusBoard(StatusBoardOptions options) : options_(std::move(options)) {}

StatusBoard::Entry& StatusBoard::EntryFor(const std::string& table) {
  auto it = tables_.find(table);
  if (it == tables_.end()) {
    it = tables_
             .emplace(table, Entry{std::nullopt, TimeSeriesRing(options_.series_interval_ms,
                                                                options_.series_capacity)})
             .first;
  }
  return it->second;
}

void StatusBoard::Publish(TableStatus status) {
  status.series.clear();
  std::lock_guard<std::mutex> lock(mu_);
  Entry& entry = EntryFor(status.name);
  entry.status = std::move(status);
}

void StatusBoard::RecordSample(const std::string& table, int64_t t_ms, int64_t events_total,
                               double lag_seconds, double latency_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  EntryFor(table).series.Record(t_ms, events_total, lag_seconds, latency_seconds);
}

void StatusBoard::Remove(const std::string& table) {
  std::lock_guard<std::mutex> lock(mu_);
  tables_.erase(table);
}

PipelineStatus StatusBoard::Snapshot(int64_t now_ms) const {
  PipelineStatus out;
  out.name = options_.pipeline_name;
  out.version = options_.version;
  out.started_at_ms = options_.started_at_ms;
  out.generated_at_ms = now_ms;
  out.series_interval_ms = options_.series_interval_ms;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, entry] : tables_) {
    if (!entry.status) continue;
    TableStatus t = *entry.status;
    t.series = entry.series.Samples(now_ms);
    out.tables.push_back(std::move(t));
  }
  return out;
}

}  // namespace sluice::server
