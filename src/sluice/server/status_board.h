// The thread-safe meeting point between the pipeline (writers: each table's
// worker publishes its TableStatus and records samples) and the server
// thread (reader: Snapshot for /api/status and /readyz). Writers never wait
// on a reader for longer than one copy of the table's status.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "sluice/server/table_status.h"
#include "sluice/server/time_series.h"

namespace sluice::server {

struct StatusBoardOptions {
  std::string pipeline_name;
  std::string version;
  int64_t started_at_ms = 0;
  int64_t series_interval_ms = 10'000;  ///< one sparkline point per interval
  size_t series_capacity = 360;         ///< points kept (360 x 10 s = 1 h)
};

class StatusBoard {
 public:
  explicit StatusBoard(StatusBoardOptions options);

  /// \brief Replaces the status of table `status.name` (adding it if new).
  /// `status.series` is ignored: the board keeps the series (RecordSample).
  void Publish(TableStatus status);

  /// \brief Adds a sparkline point for `table` at `t_ms` (see
  /// TimeSeriesRing::Record). A table not yet published gets a series now
  /// and appears once published.
  void RecordSample(const std::string& table, int64_t t_ms, int64_t events_total,
                    double lag_seconds, double latency_seconds);

  /// Forgets `table` (dropped from the configuration). Unknown: no-op.
  void Remove(const std::string& table);

  /// \brief Every published table, sorted by name, with its series.
  PipelineStatus Snapshot(int64_t now_ms) const;

 private:
  struct Entry {
    std::optional<TableStatus> status;
    TimeSeriesRing series;
  };
  Entry& EntryFor(const std::string& table);  // REQUIRES: mu_ held

  StatusBoardOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> tables_;
};

}  // namespace sluice::server
