// The metric names Sluice exports, defined once so every source and every
// part of the pipeline counts into the same series. Each table's handles are
// looked up once (ForTable) and then updated lock-free on the hot path.
//
//   sluice_events_ingested_total{table}          counter  change events appended to the log table
//   sluice_rows_merged_total{table}              counter  rows written to the merged table
//   sluice_dead_letters_total{table}             counter  events refused into the dead-letter table
//   sluice_source_bytes_read_total{table}        counter  bytes read from the source
//   sluice_bytes_written_total{table}            counter  bytes written to the table's Delta
//                                                         tables (data files, deletion vectors,
//                                                         commits, checkpoints)
//   sluice_commits_total{table,delta_table}      counter  Delta commits (log|merged|history)
//   sluice_commit_conflicts_total{table}         counter  commits that lost a race
//   sluice_commit_retries_total{table}           counter  commit attempts retried
//   sluice_maintenance_runs_total{table}         counter  compaction / vacuum / checkpoint runs
//   sluice_source_lag_seconds{table}             gauge    now - newest source commit time applied
//   sluice_backlog{table}                        gauge    units pending (files listed, not taken;
//                                                         Kafka: message ranges)
//   sluice_consumer_lag_messages{table}          gauge    Kafka: high watermark - next offset,
//                                                         summed over the partitions read
//   sluice_key_index_memory_bytes{table}         gauge    memory held by the merge key index
//   sluice_table_stopped{table}                  gauge    1 while the table is stopped
//   sluice_batch_duration_seconds{table}         histogram read-to-log-commit time of one batch
//   sluice_commit_duration_seconds{table}        histogram one Delta commit (write + log entry)
//
// For the run's background checkpoint writer (delta/checkpoint_queue.h), no
// table label (one queue serves every table):
//   sluice_checkpoints_total{result}             counter  checkpoints asked for, by what became
//                                                         of them: written | skipped (a newer one
//                                                         of the table replaced it) | failed
//   sluice_checkpoints_waiting                   gauge    asked for, not written yet
#pragma once

#include <memory>
#include <string>

#include "sluice/core/status.h"
#include "sluice/server/metrics_registry.h"

namespace sluice::server {

/// One table's series; pointers owned by the registry, valid as long as it.
struct TableMetrics {
  Counter* events_ingested = nullptr;
  Counter* rows_merged = nullptr;
  Counter* dead_letters = nullptr;
  Counter* bytes_read = nullptr;
  Counter* bytes_written = nullptr;
  Counter* log_commits = nullptr;
  Counter* merged_commits = nullptr;
  Counter* history_commits = nullptr;
  Counter* commit_conflicts = nullptr;
  Counter* commit_retries = nullptr;
  Counter* maintenance_runs = nullptr;
  Gauge* source_lag_seconds = nullptr;
  Gauge* backlog = nullptr;
  Gauge* consumer_lag_messages = nullptr;  ///< only for tables read from Kafka: ConsumerLagFor
  Gauge* key_index_memory_bytes = nullptr;
  Gauge* stopped = nullptr;
  Histogram* batch_duration_seconds = nullptr;
  Histogram* commit_duration_seconds = nullptr;
};

/// The run's background checkpoint writer; pointers as in TableMetrics.
struct CheckpointMetrics {
  Counter* written = nullptr;
  Counter* skipped = nullptr;
  Counter* failed = nullptr;
  Gauge* waiting = nullptr;
};

class PipelineMetrics {
 public:
  /// \brief Registers the families above in `registry` (which must outlive
  /// the result). Fails only if they are already registered there.
  static Result<std::unique_ptr<PipelineMetrics>> Make(MetricsRegistry* registry);

  /// \brief The series of `table` ("db.table"), created at zero on first
  /// call. Thread-safe; call once per table and keep the result.
  TableMetrics ForTable(const std::string& table);
  /// \brief The consumer-lag series of `table`, created on first call: only
  /// tables read from a message source have one (a file table's would be a
  /// meaningless zero). Thread-safe.
  Gauge* ConsumerLagFor(const std::string& table);
  /// \brief The checkpoint writer's series. Thread-safe.
  CheckpointMetrics Checkpoints();

 private:
  PipelineMetrics() = default;

  CounterFamily* events_ingested_ = nullptr;
  CounterFamily* rows_merged_ = nullptr;
  CounterFamily* dead_letters_ = nullptr;
  CounterFamily* bytes_read_ = nullptr;
  CounterFamily* bytes_written_ = nullptr;
  CounterFamily* commits_ = nullptr;
  CounterFamily* commit_conflicts_ = nullptr;
  CounterFamily* commit_retries_ = nullptr;
  CounterFamily* maintenance_runs_ = nullptr;
  GaugeFamily* source_lag_ = nullptr;
  GaugeFamily* backlog_ = nullptr;
  GaugeFamily* consumer_lag_ = nullptr;
  GaugeFamily* key_index_memory_ = nullptr;
  GaugeFamily* stopped_ = nullptr;
  HistogramFamily* batch_duration_ = nullptr;
  HistogramFamily* commit_duration_ = nullptr;
  CounterFamily* checkpoints_ = nullptr;
  GaugeFamily* checkpoints_waiting_ = nullptr;
};

}  // namespace sluice::server
