#include "sluice/merge/history_writer.h"

namespace sluice::merge {

Result<HistoryCommit> WriteHistory(const io::TableLocation& location,
                                   std::shared_ptr<const delta::Snapshot> snapshot,
                                   const HistoryPlan& plan, const HistoryWriteOptions& options) {
  if (!plan.appends) return Status::Invalid("history plan has no appends table");
  // The merge writer's commit does exactly what a history commit needs once
  // the plan is phrased as deletes + appends with no tombstones.
  MergePlan merge_plan;
  merge_plan.deletes = plan.deletes;
  merge_plan.appends = plan.appends;
  merge_plan.base_version = plan.base_version;
  merge_plan.counts.upserts = plan.counts.rows_appended;
  merge_plan.counts.deletes = plan.counts.closed_by_delete;
  merge_plan.counts.rows_deleted = plan.counts.rows_deleted;
  MergeWriteOptions merge_options;
  merge_options.mode = options.mode;
  merge_options.app_id = options.app_id;
  merge_options.version = options.version;
  merge_options.allow_schema_change = options.allow_schema_change;
  merge_options.data = options.data;
  merge_options.commit = options.commit;
  ARROW_ASSIGN_OR_RAISE(auto commit,
                        WriteMerge(location, std::move(snapshot), merge_plan, merge_options));
  return HistoryCommit{std::move(commit.outcome), std::move(commit.snapshot)};
}

}  // namespace sluice::merge
