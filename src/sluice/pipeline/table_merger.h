// TableMerger: keeps one merged (latest-state) table, `<sink>/<db>/<table>`,
// up to date with change batches (docs/merge.md): plan against the key
// index, commit with txn (app_id, version), then install the commit in the
// index. The index is a cache rebuilt from the table and its tombstones
// whenever there is doubt (a failed commit, another writer, a key type
// change). The primary keys are recorded in the table's configuration
// (`sluice.primaryKeys`) so a restart, a replay or another process finds them.
#pragma once

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
#include "sluice/pipeline/config.h"

namespace sluice::pipeline {

/// Table configuration key holding the primary key columns (a JSON array).
inline constexpr const char* kPrimaryKeysProperty = "sluice.primaryKeys";
std::string EncodePrimaryKeys(const std::vector<std::string>& keys);
/// The keys a table records, or nullopt if it records none.
std::optional<std::vector<std::string>> PrimaryKeysOf(const delta::Snapshot& snapshot);

struct MergeSettings {
  merge::MergeMode mode = merge::MergeMode::kDeletionVectors;
  int64_t tombstone_retention_ms = merge::kDefaultTombstoneRetentionMs;
  int64_t checkpoint_interval = 10;
  delta::DataWriteOptions data;
  static MergeSettings From(const Config& config);
};

class TableMerger {
 public:
  TableMerger(std::string path, std::vector<std::string> keys, std::string app_id,
              MergeSettings settings);

  /// Opens the location and loads the table (if it exists).
  Status Open();

  /// The last change-batch version applied (the txn of app_id), if any.
  std::optional<int64_t> done() const;

  /// Plans `changes` (payload + _cdc_* columns; any row order) against the
  /// index, which is rebuilt first if needed. Invalid rows are in the plan.
  Result<merge::MergePlan> Plan(const arrow::RecordBatch& changes, int64_t version, int64_t now_ms);

  /// Commits `plan` as txn `version`. Errors leave the index to be rebuilt.
  Result<merge::MergeCommit> Commit(const merge::MergePlan& plan, int64_t version, int64_t now_ms);

  /// An empty commit recording `version` (a batch without rows still moves
  /// the cursor). No-op before the table exists.
  Result<merge::MergeCommit> CommitEmpty(int64_t version, int64_t now_ms);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& keys() const { return keys_; }
  const std::shared_ptr<const delta::Snapshot>& snapshot() const { return snapshot_; }
  const io::TableLocation& location() const { return *location_; }
  /// Bytes the key index holds (0 before it is built).
  int64_t IndexBytes() const { return index_ ? index_->MemoryBytes() : 0; }
  /// Maintenance of the merged table and of its tombstone side table
  /// (docs/maintenance.md). A compaction moves rows, so the key index
  /// follows it (or is rebuilt). `last_vacuum_ms` is read and updated.
  Result<delta::MaintenanceReport> Maintain(const delta::MaintenancePolicy& policy,
                                            int64_t& tombstones_last_vacuum_ms, int64_t now_ms);

  /// Forget the cached index and snapshot; the next call reloads both.
  void Invalidate();

 private:
  Status EnsureIndex(const arrow::Schema& merged_schema, int64_t now_ms);

  std::string path_;
  std::vector<std::string> keys_;
  std::string app_id_;
  MergeSettings settings_;
  std::optional<io::TableLocation> location_;
  std::shared_ptr<const delta::Snapshot> snapshot_;  // null until the table exists
  std::unique_ptr<merge::KeyIndex> index_;           // null: rebuild lazily
  int64_t last_purge_ms_ = 0;
};

}  // namespace sluice::pipeline
