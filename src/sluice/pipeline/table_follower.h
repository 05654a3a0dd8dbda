// TableFollower: keeps a source table's merged table `<sink>/<db>/<table>`
// and, when configured, its history table `<table>_history` up to date
// (DESIGN.md §1). One sequence for every change it applies:
//
//   plan the merge -> dead letters of rows the merge cannot key -> history
//   commit -> merged commit
//
// each commit carrying txn(app_id, version), so a crash anywhere is redone
// exactly once. It is used two ways:
//   - following the log table (log tables on): every merge interval the log
//     commits after the version both tables hold are read (LogTail) and
//     applied as one commit each, txn appId "<pipeline>/<stream>#log",
//     version = the last log version taken (Prepare / Run / Finish, so that
//     Run can overlap the next batch's ingest);
//   - directly (log tables off): the ingest hands it each batch with the
//     stream's position, and the merged table's txn is the cursor.
// A follower error never touches the log table: the caller decides whether
// it is retried (I/O, a concurrent writer) or stops only the follower.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sluice/delta/maintenance.h"
#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/history_table.h"
#include "sluice/merge/merged_table.h"
#include "sluice/pipeline/config.h"
#include "sluice/pipeline/dead_letters.h"
#include "sluice/pipeline/log_tail.h"

namespace sluice::pipeline {

/// What one follower step did.
struct FollowResult {
  bool merged = false;  ///< a merge was committed (or found applied)
  int64_t merged_version = -1;
  bool already_applied = false;
  int64_t changes = 0;        ///< change rows the merge took
  int64_t from_version = -1;  ///< first log version merged (log tables on)
  int64_t to_version = -1;    ///< last log version merged
  std::optional<int64_t> merged_rows;
  int64_t index_bytes = 0;
  int64_t upserts = 0;       ///< row images written
  int64_t deletes = 0;       ///< delete events applied
  int64_t rows_deleted = 0;  ///< existing rows marked deleted or replaced
  int64_t ignored_stale = 0;
  int64_t superseded = 0;
  int64_t invalid = 0;  ///< rows sent to dead letters
  int64_t exact_seq_reads = 0;
  bool history = false;  ///< a history commit was made (or found applied)
  int64_t history_version = -1;
  int64_t history_versions_opened = 0;
  double ms = 0;
};

class TableFollower {
 public:
  /// `history_path` empty: no history table. `app_id` is the txn appId of
  /// both tables; `dead_letter_app` that of the merge's dead letters.
  /// `checkpoint_queue` (not owned, may be null: inline) takes the
  /// checkpoints of every table the follower commits to.
  TableFollower(const Config& config, std::string qualified, std::string merged_path,
                std::string history_path, std::vector<std::string> keys, std::string app_id,
                delta::CheckpointQueue* checkpoint_queue = nullptr);

  /// Loads both tables (when they exist); the versions they hold.
  Status Open();
  const std::vector<std::string>& keys() const { return keys_; }
  const std::string& merged_path() const { return merged_path_; }
  const std::string& history_path() const { return history_path_; }
  bool has_history() const { return !history_path_.empty(); }
  delta::CheckpointQueue* checkpoint_queue() const { return checkpoint_queue_; }
  /// The txn version both tables hold (the older of the two); -1: none.
  int64_t through() const;
  /// The merged table's snapshot (null before it exists).
  std::shared_ptr<const delta::Snapshot> merged_snapshot() const;
  int64_t IndexBytes() const;

  // Following the log.
  struct PendingMerge {
    int64_t version = -1;  ///< last log version taken
    int64_t now_ms = 0;
    std::shared_ptr<arrow::Table> history_rows;  ///< null: the history table takes nothing
    bool history = false;
    std::shared_ptr<arrow::Table> merge_rows;  ///< null: no rows (cursor-only commits)
    bool merge = false;
  };
  /// The log commits after what both tables hold, up to max_rows; nullopt
  /// when both hold the log's version.
  Result<std::optional<PendingMerge>> Prepare(const delta::Snapshot& log,
                                              const io::TableLocation& log_location, LogTail& tail,
                                              int64_t now_ms, FollowResult& result);
  /// Commits a prepared merge (history, then merged). Touches only this
  /// follower's tables and the dead letters (under `dead_letters_mu`).
  Status Run(const PendingMerge& merge, std::mutex& dead_letters_mu, FollowResult& result);
  /// After Run succeeded.
  void Finish(const PendingMerge& merge, LogTail& tail);

  /// Log tables off: applies one ingest batch (`rows` null: none) as txn
  /// `version`, with the ingest's dead letters in `dead`.
  Status Apply(const std::shared_ptr<arrow::Table>& rows, int64_t version, int64_t now_ms,
               DeadLetterWriter& dead, std::mutex& dead_letters_mu, FollowResult& result);

  /// Compacts and vacuums the merged table with its tombstones, and the
  /// history table with its orphan deletes, when due.
  Status Maintain(const delta::MaintenancePolicy& merged_policy,
                  const delta::MaintenancePolicy& history_policy, int64_t now_ms,
                  delta::MaintenanceReport& merged_report,
                  std::optional<delta::MaintenanceReport>& history_report);
  int64_t& tombstones_vacuum_ms() { return tombstones_vacuum_ms_; }

  /// Forget cached state (after an error); the next call reloads it.
  void Reset();

 private:
  /// The one sequence: plan, dead letters, history, merged commit.
  Status ApplyRows(const std::shared_ptr<arrow::Table>& merge_rows, bool merge,
                   const std::shared_ptr<arrow::Table>& history_rows, bool history, int64_t version,
                   int64_t now_ms, bool record_empty, DeadLetterWriter& dead,
                   std::mutex& dead_letters_mu, FollowResult& result);
  Status ApplyHistory(const std::shared_ptr<arrow::Table>& changes, int64_t version,
                      FollowResult& result);

  const Config& config_;
  std::string qualified_;
  std::string merged_path_;
  std::string history_path_;
  std::vector<std::string> keys_;
  std::string app_id_;
  delta::CheckpointQueue* checkpoint_queue_;
  std::unique_ptr<merge::MergedTable> merger_;
  std::unique_ptr<merge::HistoryTable> history_;
  int64_t merged_through_ = -1;
  int64_t history_through_ = -1;
  int64_t tombstones_vacuum_ms_ = 0;
  int64_t orphans_vacuum_ms_ = 0;
};

}  // namespace sluice::pipeline
