#include "sluice/server/pipeline_metrics.h"

namespace sluice::server {

Result<std::unique_ptr<PipelineMetrics>> PipelineMetrics::Make(MetricsRegistry* r) {
  std::unique_ptr<PipelineMetrics> m(new PipelineMetrics());
  const std::vector<std::string> table = {"table"};
  ARROW_ASSIGN_OR_RAISE(m->events_ingested_,
                        r->AddCounter("sluice_events_ingested_total",
                                      "Change events appended to the log table.", table));
  ARROW_ASSIGN_OR_RAISE(m->rows_merged_, r->AddCounter("sluice_rows_merged_total",
                                                       "Rows written to the merged table.", table));
  ARROW_ASSIGN_OR_RAISE(m->dead_letters_,
                        r->AddCounter("sluice_dead_letters_total",
                                      "Events refused into the dead-letter table.", table));
  ARROW_ASSIGN_OR_RAISE(m->bytes_read_, r->AddCounter("sluice_source_bytes_read_total",
                                                      "Bytes read from the source.", table));
  ARROW_ASSIGN_OR_RAISE(m->bytes_written_,
                        r->AddCounter("sluice_bytes_written_total",
                                      "Bytes written to the table's Delta tables: data files, "
                                      "deletion vectors, commits, checkpoints.",
                                      table));
  ARROW_ASSIGN_OR_RAISE(m->commits_,
                        r->AddCounter("sluice_commits_total", "Delta commits, by target table.",
                                      {"table", "delta_table"}));
  ARROW_ASSIGN_OR_RAISE(m->commit_conflicts_,
                        r->AddCounter("sluice_commit_conflicts_total",
                                      "Delta commits that lost a race to another writer.", table));
  ARROW_ASSIGN_OR_RAISE(m->commit_retries_, r->AddCounter("sluice_commit_retries_total",
                                                          "Delta commit attempts retried.", table));
  ARROW_ASSIGN_OR_RAISE(m->maintenance_runs_,
                        r->AddCounter("sluice_maintenance_runs_total",
                                      "Compaction, vacuum and checkpoint runs.", table));
  ARROW_ASSIGN_OR_RAISE(m->source_lag_,
                        r->AddGauge("sluice_source_lag_seconds",
                                    "Now minus the newest source commit time applied.", table));
  ARROW_ASSIGN_OR_RAISE(
      m->backlog_,
      r->AddGauge("sluice_backlog",
                  "Source units pending: files listed and not yet ingested (Kafka: ranges).",
                  table));
  ARROW_ASSIGN_OR_RAISE(
      m->consumer_lag_,
      r->AddGauge("sluice_consumer_lag_messages",
                  "Kafka messages not yet ingested: high watermark minus the next offset.", table));
  ARROW_ASSIGN_OR_RAISE(
      m->key_index_memory_,
      r->AddGauge("sluice_key_index_memory_bytes", "Memory held by the merge key index.", table));
  ARROW_ASSIGN_OR_RAISE(m->stopped_, r->AddGauge("sluice_table_stopped",
                                                 "1 while the table is stopped, else 0.", table));
  ARROW_ASSIGN_OR_RAISE(m->batch_duration_,
                        r->AddHistogram("sluice_batch_duration_seconds",
                                        "Time from reading a batch to its log commit.", table,
                                        DefaultLatencyBuckets()));
  ARROW_ASSIGN_OR_RAISE(m->commit_duration_,
                        r->AddHistogram("sluice_commit_duration_seconds",
                                        "Time of one Delta commit (data files and log entry).",
                                        table, DefaultLatencyBuckets()));
  ARROW_ASSIGN_OR_RAISE(
      m->checkpoints_,
      r->AddCounter("sluice_checkpoints_total",
                    "Delta checkpoints asked of the background writer, by result: written, "
                    "skipped (a newer one of the same table replaced it) or failed.",
                    {"result"}));
  ARROW_ASSIGN_OR_RAISE(m->checkpoints_waiting_,
                        r->AddGauge("sluice_checkpoints_waiting",
                                    "Delta checkpoints asked of the background writer and not "
                                    "written, skipped or failed yet.",
                                    {}));
  return m;
}

TableMetrics PipelineMetrics::ForTable(const std::string& table) {
  // Label counts are fixed above, so WithLabels cannot fail here.
  const std::vector<std::string> t = {table};
  TableMetrics out;
  out.events_ingested = events_ingested_->WithLabels(t).ValueOrDie();
  out.rows_merged = rows_merged_->WithLabels(t).ValueOrDie();
  out.dead_letters = dead_letters_->WithLabels(t).ValueOrDie();
  out.bytes_read = bytes_read_->WithLabels(t).ValueOrDie();
  out.bytes_written = bytes_written_->WithLabels(t).ValueOrDie();
  out.log_commits = commits_->WithLabels({table, "log"}).ValueOrDie();
  out.merged_commits = commits_->WithLabels({table, "merged"}).ValueOrDie();
  out.history_commits = commits_->WithLabels({table, "history"}).ValueOrDie();
  out.commit_conflicts = commit_conflicts_->WithLabels(t).ValueOrDie();
  out.commit_retries = commit_retries_->WithLabels(t).ValueOrDie();
  out.maintenance_runs = maintenance_runs_->WithLabels(t).ValueOrDie();
  out.source_lag_seconds = source_lag_->WithLabels(t).ValueOrDie();
  out.backlog = backlog_->WithLabels(t).ValueOrDie();
  out.key_index_memory_bytes = key_index_memory_->WithLabels(t).ValueOrDie();
  out.stopped = stopped_->WithLabels(t).ValueOrDie();
  out.batch_duration_seconds = batch_duration_->WithLabels(t).ValueOrDie();
  out.commit_duration_seconds = commit_duration_->WithLabels(t).ValueOrDie();
  return out;
}

Gauge* PipelineMetrics::ConsumerLagFor(const std::string& table) {
  return consumer_lag_->WithLabels({table}).ValueOrDie();
}

CheckpointMetrics PipelineMetrics::Checkpoints() {
  CheckpointMetrics out;
  out.written = checkpoints_->WithLabels({"written"}).ValueOrDie();
  out.skipped = checkpoints_->WithLabels({"skipped"}).ValueOrDie();
  out.failed = checkpoints_->WithLabels({"failed"}).ValueOrDie();
  out.waiting = checkpoints_waiting_->WithLabels({}).ValueOrDie();
  return out;
}

}  // namespace sluice::server
