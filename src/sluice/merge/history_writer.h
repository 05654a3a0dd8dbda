// HistoryWriter: commits a HistoryPlan on the history table as ONE Delta
// commit carrying txn(app_id, version): the spliced or closed versions'
// rows become deletion vectors (or rewritten files in copy-on-write mode),
// the new versions new data files. It is the merge writer's commit
// (merge_writer.h) with a history plan: same exactly-once check, same
// table creation, same schema-change rule; history tables have no
// tombstones. Orphan deletes (plan.orphans) go first to their side table
// (history_orphans.h), committed with the same txn version.
#pragma once

#include <memory>
#include <string>

#include "sluice/delta/data_writer.h"
#include "sluice/delta/snapshot.h"
#include "sluice/delta/transaction.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/history_orphans.h"
#include "sluice/merge/history_plan.h"
#include "sluice/merge/merge_plan.h"
#include "sluice/merge/merge_writer.h"

namespace sluice::merge {

struct HistoryWriteOptions {
  MergeMode mode = MergeMode::kDeletionVectors;
  /// The pipeline's progress, committed with the rows (DESIGN.md §6).
  std::string app_id;
  int64_t version = 0;
  /// Let the plan's schema replace the table's (a column added upstream);
  /// otherwise a different schema is an error.
  bool allow_schema_change = false;
  /// Orphan deletes recorded longer ago than this are purged (and forgotten
  /// by the index): an older upsert arriving after that stays open, as a
  /// merged-table row comes back once its tombstone is purged.
  int64_t orphan_retention_ms = kDefaultTombstoneRetentionMs;
  /// Wall clock (ms) stamped on orphan deletes; 0 = now. Tests pin it.
  int64_t now_ms = 0;
  delta::DataWriteOptions data;
  delta::CommitOptions commit;
};

struct HistoryCommit {
  MergeOutcome outcome;
  OrphanDeleteCommit orphans;
  /// The table after the commit (the input snapshot when already applied).
  std::shared_ptr<const delta::Snapshot> snapshot;
};

/// Commits `plan` on top of `snapshot` (null: the table does not exist yet).
/// If the table's txn for app_id is already >= version, nothing is written
/// and outcome.already_applied is set. plan.orphans are written as given:
/// their recorded_at_ms and batch_version (== options.version) must be set
/// (HistoryTable does). A plan made against another version
/// is refused (Invalid); a concurrent conflicting commit is returned as
/// delta::IsCommitConflict.
Result<HistoryCommit> WriteHistory(const io::TableLocation& location,
                                   std::shared_ptr<const delta::Snapshot> snapshot,
                                   const HistoryPlan& plan, const HistoryWriteOptions& options);

}  // namespace sluice::merge
