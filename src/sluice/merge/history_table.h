// HistoryTable: one SCD type 2 history table (`<sink>/<db>/<table>_history`)
// driven batch by batch, the entry point the pipeline calls. Per batch:
//
//   index   = HistoryIndex::Build(snapshot) when not held (lazily; orphan
//             deletes included, history_orphans.h)
//   rows    = ReadVersionRows(HistoryRowsNeeded(index, batch))
//   plan    = PlanHistory(index, batch, rows, options)
//   commit  = WriteHistory(location, snapshot, plan, write options)
//             (orphan side table first, then the history commit)
//   index.Apply(plan, commit.outcome)
//
// Any error drops the index and the cached snapshot, so the next Apply
// rebuilds both from the table (a crash, a half-done batch: the table is the
// truth). A plan another writer made stale (an OPTIMIZE or DELETE of the
// history table: merge_writer.h IsStalePlan) is planned again on the new
// table version and committed, up to kMaxPlanAttempts
// times, as MergedTable does (merged_table.h); exactly once is kept by the
// txn. A commit landing on top of another writer's drops the index (it
// knows only its own rows). Not thread-safe.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/delta/maintenance.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/history_index.h"
#include "sluice/merge/history_plan.h"
#include "sluice/merge/history_writer.h"

namespace sluice::merge {

struct HistoryStepResult {
  HistoryCounts counts;
  /// Skipped rows of the batch (null key, null seq, unknown op, null ts):
  /// the merged table's dead letters already hold them.
  std::vector<InvalidRow> invalid;
  /// The table already held txn(app_id, version): nothing was written.
  bool already_applied = false;
  /// Times the batch was planned again because another writer had moved
  /// the table.
  int replans = 0;
  int64_t table_version = -1;
  /// The index was (re)built from the table in this step.
  bool index_built = false;
};

class HistoryTable {
 public:
  /// Plans of one batch at most (the first included) while other writers
  /// keep moving the table, and the pause before the first re-plan
  /// (doubled each time, at most 1 s).
  static constexpr int kMaxPlanAttempts = 6;
  static constexpr int64_t kReplanBackoffMs = 20;

  /// Invalid if `options.keys` is empty. Nothing is read until Apply.
  static Result<std::unique_ptr<HistoryTable>> Open(io::TableLocation location,
                                                    HistoryOptions options);

  /// Applies one change batch in the canonical change schema (any order,
  /// replays and late events allowed) as one commit with
  /// txn(write.app_id, write.version). write.allow_schema_change lets a
  /// batch that gained a column add it to the table.
  Result<HistoryStepResult> Apply(const arrow::RecordBatch& changes,
                                  const HistoryWriteOptions& write);

  /// Maintenance of the history table and of its orphan-delete side table
  /// (docs/maintenance.md), as MergedTable::Maintain does for the merged
  /// table and its tombstones: `policy.last_vacuum_ms` is the history
  /// table's, `orphans_last_vacuum_ms` the side table's (read and updated).
  /// A compaction drops the index (rebuilt on the next Apply); one that lost
  /// to another writer's commit is left for the next call. Nothing before
  /// the table exists (the report keeps policy.last_vacuum_ms).
  Result<delta::MaintenanceReport> Maintain(const delta::MaintenancePolicy& policy,
                                            int64_t& orphans_last_vacuum_ms, int64_t now_ms);

  /// Forgets the index and snapshot (they are rebuilt on the next Apply).
  void Reset();

  /// The index, or null when not built (tests, metrics).
  const HistoryIndex* index() const { return index_.get(); }
  const io::TableLocation& location() const { return location_; }

 private:
  HistoryTable(io::TableLocation location, HistoryOptions options)
      : location_(std::move(location)), options_(std::move(options)) {}
  Result<HistoryStepResult> Step(const arrow::RecordBatch& changes,
                                 const HistoryWriteOptions& options);

  io::TableLocation location_;
  HistoryOptions options_;
  std::shared_ptr<const delta::Snapshot> snapshot_;
  std::unique_ptr<HistoryIndex> index_;
};

}  // namespace sluice::merge
