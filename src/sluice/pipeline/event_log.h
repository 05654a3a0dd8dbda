// The event log: a Delta table `<sink>/_sluice/events` with one row per thing
// a run did that an operator may ask about later with SQL (as Databricks'
// pipeline event log allows): each commit (log, merged, history), schema
// change, table stopped or resumed, dead-letter batch, retry, maintenance
// run, and the run starting and stopping.
//
// Columns (docs/operations.md):
//   time TIMESTAMP (UTC), pipeline, process ("host:pid"), table ("db.table",
//   null for run events), kind, delta_table ("log" | "merged" | "history" |
//   "events"), delta_path, version, from_version, to_version, rows,
//   dead_letters (BIGINT), lag_seconds, duration_seconds (DOUBLE),
//   message (error text, description), details (JSON text).
//
// Rows are buffered and appended in small batches (every flush_interval,
// and at once for a stopped table and at the end of the run); several
// processes sharing a sink append to the same table (blind appends; a lost
// race is retried). Maintained like the other tables (checkpoints,
// compaction, vacuum), and rows older than the retention go: a data file is
// removed once its newest row is older than `retention_ms`.
//
// The log is an observer: a failure to write it is reported on `out` and
// retried with the next flush, never a failure of the run.
#pragma once

#include <arrow/table.h>

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/delta/snapshot.h"
#include "sluice/pipeline/config.h"
#include "sluice/pipeline/run_observer.h"
#include "sluice/pipeline/table_maintenance.h"

namespace sluice::pipeline {

/// `<sink>/_sluice/events`.
std::string EventLogPath(const std::string& sink_path);

/// One row of the event log.
struct EventRow {
  int64_t time_us = 0;
  std::string table;  ///< empty: null (a run event)
  std::string kind;   ///< commit, schema_change, stopped, resumed, dead_letters, retry,
                      ///< maintenance, run_started, run_stopped
  std::string delta_table;
  std::string delta_path;
  std::optional<int64_t> version, from_version, to_version, rows, dead_letters;
  std::optional<double> lag_seconds, duration_seconds;
  std::string message;
  std::string details;  ///< JSON object text, or empty
};

struct EventLogOptions {
  int64_t retention_ms = 30LL * 24 * 3600 * 1000;
  int64_t flush_interval_ms = 5'000;
};

class EventLog : public RunObserver {
 public:
  /// `config` must outlive the log; warnings go to `out`.
  EventLog(const Config& config, EventLogOptions options, std::ostream& out);

  void OnRunStart(int64_t now_ms) override;
  void OnCheckpointQueue(delta::CheckpointQueue* queue) override { checkpoint_queue_ = queue; }
  void OnTableStep(const ObservedTable& table, const TableStep& step, int64_t now_ms) override;
  void OnRetry(const std::vector<ObservedTable>& tables, const Status& status, bool conflict,
               int64_t now_ms) override;
  void OnStopped(const std::vector<ObservedTable>& tables, const std::string& reason,
                 int64_t now_ms) override;
  void OnPoll(int64_t now_ms) override;
  void OnRunEnd(int64_t now_ms) override;

  /// Appends the buffered rows (one commit), then maintains the table when
  /// due. Rows stay buffered on failure.
  Status Flush(int64_t now_ms, bool drain);

  /// \brief Rows older than `cutoff_ms`: removes every data file of
  /// `snapshot` (the event log's) whose newest `time` is older (file
  /// granularity; vacuum deletes them later). Returns the number of files
  /// removed.
  Result<int64_t> ApplyRetention(const std::shared_ptr<const delta::Snapshot>& snapshot,
                                 int64_t cutoff_ms);

 private:
  void Add(EventRow row);
  /// Reads which tables the log last saw stopped (for "resumed" rows).
  Status LoadStopped();

  const Config& config_;
  EventLogOptions options_;
  std::ostream& out_;
  std::string path_;
  std::string process_;
  std::vector<EventRow> pending_;
  int64_t last_flush_ms_ = 0;
  bool warned_ = false;
  std::set<std::string> stopped_;  ///< tables whose last stop/resume row is a stop
  TableMaintenanceSchedule maintenance_;
  int64_t last_vacuum_ms_ = 0;
  delta::CheckpointQueue* checkpoint_queue_ = nullptr;  ///< the run's; null: inline
};

}  // namespace sluice::pipeline

namespace sluice::pipeline {

/// \brief The event log's `columns` (all when empty), every row in file
/// order; nullptr when the sink has no event log yet.
Result<std::shared_ptr<arrow::Table>> ReadEventLog(const std::string& sink_path,
                                                   std::vector<std::string> columns = {});

}  // namespace sluice::pipeline
