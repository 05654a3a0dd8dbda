#include "sluice/pipeline/table_maintenance.h"

#include "sluice/core/clock.h"

namespace sluice::pipeline {

namespace {

void Count(const delta::MaintenanceReport& report, MaintenanceResult& result) {
  if (report.compaction && report.compaction->committed) {
    result.compacted_files_removed += report.compaction->files_removed;
    result.compacted_files_added += report.compaction->files_added;
  }
  if (report.vacuum) result.vacuumed_files += static_cast<int64_t>(report.vacuum->deleted.size());
}

}  // namespace

TableMaintenanceSchedule::TableMaintenanceSchedule() : last_ms_(WallClockUs() / 1000) {}

bool TableMaintenanceSchedule::Due(const Config& config, int64_t now_ms, bool drain,
                                   bool caught_up) const {
  if (!config.maintenance) return false;
  return now_ms - last_ms_ >= config.maintenance_interval_ms ||
         (drain && caught_up && !ran_this_run_);
}

delta::MaintenancePolicy TableMaintenanceSchedule::PolicyFor(
    const Config& config, int64_t last_vacuum_ms, delta::CheckpointQueue* checkpoint_queue) const {
  delta::MaintenancePolicy policy;
  policy.compaction.max_deleted_ratio = config.compact_deleted_ratio;
  policy.compaction.commit.checkpoint_interval = config.checkpoint_interval;
  policy.compaction.commit.checkpoint_queue = checkpoint_queue;
  policy.compaction.data = DataWriteOptionsFor(config);
  policy.vacuum_interval_ms = config.vacuum_interval_ms;
  policy.vacuum_options.retention_ms = config.vacuum_retention_ms;
  policy.last_vacuum_ms = last_vacuum_ms;
  return policy;
}

void TableMaintenanceSchedule::Start(int64_t now_ms, MaintenanceResult& result) {
  last_ms_ = now_ms;
  ran_this_run_ = true;
  result.ran = true;
}

Status TableMaintenanceSchedule::RunLog(const Config& config, TableIngest& ingest, int64_t now_ms,
                                        MaintenanceResult& result) {
  ARROW_ASSIGN_OR_RAISE(
      auto report,
      ingest.Maintain(PolicyFor(config, log_vacuum_ms_, ingest.checkpoint_queue()), now_ms));
  if (report) {
    log_vacuum_ms_ = report->last_vacuum_ms;
    Count(*report, result);
  }
  return Status::OK();
}

Status TableMaintenanceSchedule::RunFollower(const Config& config, TableFollower& follower,
                                             int64_t now_ms, MaintenanceResult& result) {
  delta::MaintenanceReport merged;
  std::optional<delta::MaintenanceReport> history;
  delta::CheckpointQueue* queue = follower.checkpoint_queue();
  ARROW_RETURN_NOT_OK(follower.Maintain(PolicyFor(config, merged_vacuum_ms_, queue),
                                        PolicyFor(config, history_vacuum_ms_, queue), now_ms,
                                        merged, history));
  merged_vacuum_ms_ = merged.last_vacuum_ms;
  Count(merged, result);
  if (history) {
    history_vacuum_ms_ = history->last_vacuum_ms;
    Count(*history, result);
  }
  return Status::OK();
}

}  // namespace sluice::pipeline
