#include "sluice/merge/history_table.h"

#include <arrow/api.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "sluice/core/clock.h"
#include "sluice/delta/table_writer.h"
#include "sluice/merge/history_orphans.h"
#include "sluice/merge/history_planner.h"
#include "sluice/merge/history_rows.h"

namespace sluice::merge {

Result<std::unique_ptr<HistoryTable>> HistoryTable::Open(io::TableLocation location,
                                                         HistoryOptions options) {
  if (options.keys.empty()) return Status::Invalid("a history table needs primary-key columns");
  return std::unique_ptr<HistoryTable>(new HistoryTable(std::move(location), std::move(options)));
}

void HistoryTable::Reset() {
  index_.reset();
  snapshot_.reset();
}

Result<HistoryStepResult> HistoryTable::Apply(const arrow::RecordBatch& changes,
                                              const HistoryWriteOptions& write) {
  for (int attempt = 1;; ++attempt) {
    auto result = Step(changes, write);
    if (result.ok()) {
      result->replans = attempt - 1;
      return result;
    }
    Reset();
    if (!IsStalePlan(result.status())) return result;
    if (attempt >= kMaxPlanAttempts) {
      return result.status().WithMessage(result.status().message(), " (planned ", attempt,
                                         " times; other writers kept moving the table)");
    }
    // Another writer moved the table: the next Step reloads it, rebuilds
    // the index and plans again (or finds the batch applied).
    const int64_t ms = std::min<int64_t>(kReplanBackoffMs << std::min(attempt - 1, 10), 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

Result<delta::MaintenanceReport> HistoryTable::Maintain(const delta::MaintenancePolicy& policy,
                                                        int64_t& orphans_last_vacuum_ms,
                                                        int64_t now_ms) {
  if (!snapshot_) {
    index_.reset();  // it was of no table; whatever is there now is rebuilt
    ARROW_ASSIGN_OR_RAISE(snapshot_, delta::LoadIfExists(location_));
  }
  delta::MaintenanceReport report;
  report.last_vacuum_ms = policy.last_vacuum_ms;
  if (!snapshot_) return report;
  auto maintained = delta::MaintainTable(location_, snapshot_, policy, now_ms);
  if (!maintained.ok()) {
    Reset();
    if (!delta::IsCommitConflict(maintained.status())) return maintained.status();
    // Another writer compacted (or changed) the same files first.
  } else {
    report = std::move(*maintained);
    if (report.snapshot) snapshot_ = report.snapshot;
    // The index points at rows by file: rebuilt after a compaction.
    if (report.compaction && report.compaction->committed) Reset();
  }
  ARROW_RETURN_NOT_OK(
      MaintainOrphanDeletes(location_, policy, orphans_last_vacuum_ms, now_ms).status());
  return report;
}

Result<HistoryStepResult> HistoryTable::Step(const arrow::RecordBatch& changes,
                                             const HistoryWriteOptions& options) {
  HistoryStepResult step;
  // One clock reading per batch: orphan deletes are stamped, purged and
  // loaded against the same instant.
  HistoryWriteOptions write = options;
  if (write.now_ms == 0) {
    write.now_ms = WallClockMs();
  }
  const int64_t orphan_cutoff = write.now_ms - write.orphan_retention_ms;
  if (!index_) {
    ARROW_ASSIGN_OR_RAISE(snapshot_, delta::LoadIfExists(location_));
  }
  if (snapshot_) {
    auto done = snapshot_->TxnVersion(write.app_id);
    if (done && *done >= write.version) {
      step.already_applied = true;
      step.table_version = snapshot_->version();
      return step;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto schema, HistoryTableSchema(*changes.schema()));
  ARROW_ASSIGN_OR_RAISE(auto encoder, KeyEncoder::Make(*schema, options_.keys));
  // A widened key column (schema evolution) changes the encoder: rebuild.
  if (index_) {
    const auto& held = index_->encoder().key_types();
    for (size_t k = 0; k < held.size(); ++k) {
      if (!held[k]->Equals(*encoder.key_types()[k])) {
        index_.reset();
        break;
      }
    }
  }
  if (!index_) {
    step.index_built = true;
    if (snapshot_) {
      ARROW_ASSIGN_OR_RAISE(index_, HistoryIndex::Build(*snapshot_, location_, std::move(encoder),
                                                        nullptr, orphan_cutoff));
    } else {
      index_ = std::make_unique<HistoryIndex>(std::move(encoder));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto needed, HistoryRowsNeeded(*index_, changes));
  ARROW_ASSIGN_OR_RAISE(auto rows, ReadVersionRows(snapshot_.get(), location_, needed));
  ARROW_ASSIGN_OR_RAISE(auto plan, PlanHistory(*index_, changes, rows, options_));
  for (auto& o : plan.orphans) {
    o.recorded_at_ms = write.now_ms;
    o.batch_version = write.version;
  }
  // The plan keeps every column the table has, so a schema difference is a
  // column the batch added: the writer allows it only if the caller said so.
  ARROW_ASSIGN_OR_RAISE(auto commit, WriteHistory(location_, snapshot_, plan, write));
  snapshot_ = commit.snapshot;
  if (!commit.outcome.already_applied && commit.outcome.version != plan.base_version + 1) {
    // Landed on top of another writer's commits: the index knows only ours.
    index_.reset();
  } else {
    ARROW_RETURN_NOT_OK(index_->Apply(plan, commit.outcome));
    // The side table purged what expired when it grew; the index follows.
    if (commit.orphans.written > 0) index_->PurgeOrphans(orphan_cutoff);
  }
  step.counts = plan.counts;
  step.invalid = std::move(plan.invalid);
  step.already_applied = commit.outcome.already_applied;
  step.table_version = commit.outcome.version;
  return step;
}

}  // namespace sluice::merge
