// MergeWriter: carries out a MergePlan on the merged table as ONE Delta
// commit carrying txn(app_id, version): the rows to delete become deletion
// vectors (or, in copy-on-write mode, rewritten files), the appended images
// become new data files. Tombstones go first to the side table
// (tombstone_store.h), committed with the same txn version.
//
// The table is created on the first merge: protocol 3/7 with deletionVectors
// in deletion-vector mode, a DV-free protocol in copy-on-write mode (that
// mode exists for readers without DV support). Only unpartitioned merged
// tables are supported for now.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "sluice/delta/data_writer.h"
#include "sluice/delta/snapshot.h"
#include "sluice/delta/transaction.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/merge_plan.h"
#include "sluice/merge/tombstone_store.h"

namespace sluice::merge {

enum class MergeMode {
  kDeletionVectors,  ///< DVs in a deletion_vector_<uuid>.bin file per commit
  kCopyOnWrite,      ///< rewrite each touched file without its deleted rows
};

struct MergeWriteOptions {
  MergeMode mode = MergeMode::kDeletionVectors;
  /// The pipeline's progress, committed with the rows (DESIGN.md §6).
  std::string app_id;
  int64_t version = 0;
  /// Tombstones older than this (by deleted_at) are purged.
  int64_t tombstone_retention_ms = kDefaultTombstoneRetentionMs;
  /// Wall clock (ms); 0 = now. Tests pin it.
  int64_t now_ms = 0;
  /// Let the plan's schema replace the table's (schema evolution decided
  /// upstream); otherwise a different schema is an error.
  bool allow_schema_change = false;
  /// Table properties set when the merge creates the table.
  std::map<std::string, std::string> configuration;
  delta::DataWriteOptions data;
  delta::CommitOptions commit;
  /// The tombstone side table between merges (CommitTombstones' `latest`);
  /// null: read it each time.
  std::shared_ptr<const delta::Snapshot>* tombstone_snapshot = nullptr;
};

struct MergeCommit {
  MergeOutcome outcome;
  /// The table after the commit (the input snapshot when already applied).
  std::shared_ptr<const delta::Snapshot> snapshot;
  TombstoneCommit tombstones;
};

/// Commits `plan` on top of `snapshot` (null: the table does not exist yet).
/// If the table's txn for app_id is already >= version, nothing is written
/// and outcome.already_applied is set. A plan made against another version
/// than `snapshot`'s, or deleting rows of files `snapshot` lacks, is refused
/// (Invalid, IsStalePlan); a concurrent writer's conflicting commit is
/// returned as delta::IsCommitConflict (also IsStalePlan). A concurrent
/// commit that does not conflict (Delta's rules, delta/transaction.h) is
/// committed over: outcome.version is then above plan.base_version + 1 and
/// the returned snapshot holds the other writer's changes too.
/// True if `st` says the table moved since the plan was made (another
/// writer's commit: OPTIMIZE, DELETE, ...): the plan is stale, and reloading
/// the table, planning again and committing is the remedy (MergedTable and
/// HistoryTable do it). False for every other error.
bool IsStalePlan(const Status& st);

/// An Invalid status carrying the stale-plan detail.
Status StalePlan(const std::string& message);

Result<MergeCommit> WriteMerge(const io::TableLocation& location,
                               std::shared_ptr<const delta::Snapshot> snapshot,
                               const MergePlan& plan, const MergeWriteOptions& options);

}  // namespace sluice::merge
