#include "sluice/merge/history_writer.h"

#include <chrono>

#include "sluice/core/clock.h"

namespace sluice::merge {

Result<HistoryCommit> WriteHistory(const io::TableLocation& location,
                                   std::shared_ptr<const delta::Snapshot> snapshot,
                                   const HistoryPlan& plan, const HistoryWriteOptions& options) {
  if (!plan.appends) return Status::Invalid("history plan has no appends table");
  if (options.app_id.empty()) return Status::Invalid("a history commit needs a txn app_id");
  // A retried batch the table already holds writes nothing anywhere.
  if (snapshot) {
    auto done = snapshot->TxnVersion(options.app_id);
    if (done && *done >= options.version) {
      HistoryCommit result;
      result.outcome.already_applied = true;
      result.outcome.version = snapshot->version();
      result.snapshot = std::move(snapshot);
      return result;
    }
  }
  const int64_t base = snapshot ? snapshot->version() : -1;
  if (plan.base_version != base) {
    return StalePlan("history plan was made against table version " +
                     std::to_string(plan.base_version) + " but the table is at version " +
                     std::to_string(base) + "; re-plan");
  }
  // 1. Orphan deletes, in their side table, before the history commit.
  const int64_t now = options.now_ms != 0 ? options.now_ms : WallClockMs();
  ARROW_ASSIGN_OR_RAISE(
      auto orphans, CommitOrphanDeletes(location, plan.orphans, options.app_id, options.version,
                                        now, now - options.orphan_retention_ms, options.commit));
  // The merge writer's commit does exactly what a history commit needs once
  // the plan is phrased as deletes + appends with no tombstones.
  MergePlan merge_plan;
  merge_plan.deletes = plan.deletes;
  merge_plan.appends = plan.appends;
  merge_plan.base_version = plan.base_version;
  if (!plan.truncates.empty()) {
    merge_plan.properties[kHistoryTruncatesProperty] = EncodeHistoryTruncates(plan.truncates);
  }
  merge_plan.counts.upserts = plan.counts.rows_appended;
  merge_plan.counts.deletes = plan.counts.closed_by_delete;
  merge_plan.counts.rows_deleted = plan.counts.rows_deleted;
  MergeWriteOptions merge_options;
  merge_options.mode = options.mode;
  merge_options.app_id = options.app_id;
  merge_options.version = options.version;
  merge_options.allow_schema_change = options.allow_schema_change;
  merge_options.now_ms = now;
  merge_options.data = options.data;
  merge_options.commit = options.commit;
  ARROW_ASSIGN_OR_RAISE(auto commit,
                        WriteMerge(location, std::move(snapshot), merge_plan, merge_options));
  return HistoryCommit{std::move(commit.outcome), orphans, std::move(commit.snapshot)};
}

}  // namespace sluice::merge
