// MergedTable: keeps one merged (latest-state) table, `<sink>/<db>/<table>`,
// up to date with change batches (docs/merge.md), the entry point the
// pipeline calls; its twin for SCD2 history is HistoryTable
// (history_table.h). Per batch:
//
//   plan    = PlanBatch(index, changes)         (Plan; the index is built
//                                                lazily from the table and
//                                                its tombstones)
//   commit  = WriteMerge(location, snapshot, plan) with txn (app_id, version)
//   index.Apply(plan, commit.outcome)           (Commit)
//
// The index is a cache rebuilt from the table and its tombstones whenever
// there is doubt (a failed commit, another writer, a key type change).
//
// Other writers: Databricks users run OPTIMIZE on these tables (predictive
// optimization does it on its own), and people DELETE or append by hand. A
// commit that such a writer's commit does not conflict with (Delta's rules,
// delta/transaction.h) lands on top of it, and the index is rebuilt. A plan
// it made stale (it removed a file the plan deletes rows of, it changed the
// metadata) is planned again on the new table version and committed, up to
// MergeSettings::max_plan_attempts times: the table never stops for it.
// Exactly once is kept by the txn: a table whose txn for app_id is already
// at `version` holds the batch (already_applied).
//
// The primary keys are recorded in the table's configuration
// (primary_keys.h) so a restart, a replay or another process finds them.
// Not thread-safe.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/delta/maintenance.h"
#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/key_index.h"
#include "sluice/merge/merge_plan.h"
#include "sluice/merge/merge_writer.h"
#include "sluice/merge/primary_keys.h"

namespace sluice::merge {

struct MergeSettings {
  MergeMode mode = MergeMode::kDeletionVectors;
  int64_t tombstone_retention_ms = kDefaultTombstoneRetentionMs;
  int64_t checkpoint_interval = 10;
  /// Where checkpoints of the merged table and its tombstone side table go
  /// (delta::CommitOptions::checkpoint_queue); null: written inline.
  delta::CheckpointQueue* checkpoint_queue = nullptr;
  delta::DataWriteOptions data;
  /// How many times one batch is planned when other writers keep moving the
  /// table under it (the first plan included), and the pause before the
  /// first re-plan (doubled each time, at most 1 s).
  int max_plan_attempts = 6;
  int64_t replan_backoff_ms = 20;
};

/// A batch planned and committed by MergedTable::Apply.
struct MergeApplied {
  MergePlan plan;  ///< the plan committed (the last one, if planned again)
  MergeCommit commit;
};

class MergedTable {
 public:
  MergedTable(std::string path, std::vector<std::string> keys, std::string app_id,
              MergeSettings settings);

  /// Opens the location and loads the table (if it exists). Invalid if the
  /// table records other primary keys than `keys`.
  Status Open();

  /// The last change-batch version applied (the txn of app_id), if any.
  std::optional<int64_t> done() const;

  /// Plans `changes` (payload + _cdc_* columns; any row order) against the
  /// index, which is rebuilt first if needed. Invalid rows are in the plan;
  /// they depend on `changes` alone, so a re-plan finds the same ones.
  Result<MergePlan> Plan(const arrow::RecordBatch& changes, int64_t version, int64_t now_ms);

  /// Commits `plan`, made by Plan from `changes`, as txn `version`. When
  /// another writer made the plan stale (IsStalePlan), reloads the table,
  /// rebuilds the index, plans `changes` again into `plan` and commits that,
  /// up to max_plan_attempts plans in all; a table that holds txn `version`
  /// by then reports already_applied. Other errors (and running out of
  /// attempts) leave the index to be rebuilt and are returned.
  Result<MergeCommit> Commit(const arrow::RecordBatch& changes, MergePlan& plan, int64_t version,
                             int64_t now_ms);

  /// Plan, then Commit.
  Result<MergeApplied> Apply(const arrow::RecordBatch& changes, int64_t version, int64_t now_ms);

  /// An empty commit recording `version` (a batch without rows still moves
  /// the cursor), made again on the new version if another writer moved the
  /// table. No-op before the table exists.
  Result<MergeCommit> CommitEmpty(int64_t version, int64_t now_ms);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& keys() const { return keys_; }
  const std::shared_ptr<const delta::Snapshot>& snapshot() const { return snapshot_; }
  const io::TableLocation& location() const { return *location_; }
  /// Bytes the key index holds (0 before it is built).
  int64_t IndexBytes() const { return index_ ? index_->MemoryBytes() : 0; }
  /// Batches planned again because another writer moved the table (since
  /// this object was made).
  int64_t replans() const { return replans_; }

  /// Maintenance of the merged table and of its tombstone side table
  /// (docs/maintenance.md). A compaction moves rows, so the key index
  /// follows it (or is rebuilt). `policy.last_vacuum_ms` is the merged
  /// table's, `tombstones_last_vacuum_ms` the side table's (read and
  /// updated). A compaction that lost to another writer's commit (an
  /// OPTIMIZE of the same files) is not an error: nothing is compacted this
  /// time, the table is reloaded and the next call tries again.
  Result<delta::MaintenanceReport> Maintain(const delta::MaintenancePolicy& policy,
                                            int64_t& tombstones_last_vacuum_ms, int64_t now_ms);

  /// Forget the cached index and snapshot; the next call reloads both.
  void Invalidate();

 private:
  /// One attempt: WriteMerge of `plan` on the held snapshot, then the index
  /// follows (or is dropped). Any error drops the index and reloads.
  Result<MergeCommit> CommitOnce(const MergePlan& plan, int64_t version, int64_t now_ms);
  /// Drops the index and reloads the snapshot.
  Status Reload();
  /// Sleeps before re-plan number `replan` (1, 2, ...).
  void Backoff(int replan) const;
  Status EnsureIndex(const arrow::Schema& merged_schema, int64_t now_ms);

  std::string path_;
  std::vector<std::string> keys_;
  std::string app_id_;
  MergeSettings settings_;
  std::optional<io::TableLocation> location_;
  std::shared_ptr<const delta::Snapshot> snapshot_;  // null until the table exists
  std::unique_ptr<KeyIndex> index_;                  // null: rebuild lazily
  // The tombstone side table as the last merge left it (null: read it).
  std::shared_ptr<const delta::Snapshot> tombstones_snapshot_;
  int64_t last_purge_ms_ = 0;
  int64_t replans_ = 0;
};

}  // namespace sluice::merge
