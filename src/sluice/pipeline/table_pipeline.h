// TablePipeline: one Datastream table folder → its change log table
// `<sink>/<database>/<prefix><table>_log` and, for tables with primary keys,
// its merged (latest-state) table `<sink>/<database>/<prefix><table>`.
//
// Ingest: each Step() ingests the next pending files (at most
// max_files_per_batch, in path order) as one log commit whose txn (appId
// "<pipeline>/<folder>", version = files ingested so far) is the durable
// cursor. The set of ingested files for that version is saved first as a
// cursor file (`_sluice/cursors/<version>.json` in the log table, or under
// CHECKPOINT_DIR), then the batch's dead letters, then the log commit; so a
// crash anywhere neither loses nor repeats a file.
//
// Merge: the merged table follows the log table (DESIGN.md §1). Every
// merge_interval (and when a --once run has drained its input) the log
// commits after the merged table's txn (appId "<pipeline>/<folder>#log",
// version = log table version) are merged as one commit, up to
// merge_max_rows rows (docs/merge.md). The log is the source of truth: a
// crash between the two commits, a merged table added to an existing sink,
// or a merged table deleted by hand all catch up from the log.
//
// With log tables off (GENERATE_LOG_TABLE=false) each batch is merged right
// away and the merged table's txn (appId "<pipeline>/<folder>", version =
// files) is the cursor; the cursor files then live under the merged table.
#pragma once

#include <arrow/filesystem/type_fwd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/history_table.h"
#include "sluice/merge/merged_table.h"
#include "sluice/pipeline/config.h"
#include "sluice/pipeline/log_tail.h"
#include "sluice/sources/datastream/discovery.h"
#include "sluice/sources/datastream/file_cursor.h"
#include "sluice/sources/datastream/file_decoder.h"

namespace sluice::pipeline {

struct StepResult {
  int64_t files = 0;  ///< 0: nothing was pending
  int64_t rows = 0;
  double ingest_ms = 0;  ///< decode + log commit
  double merge_ms = 0;   ///< read log tail + plan + merge commit
  int64_t dead_letters = 0;
  int64_t version = -1;  ///< log table version committed
  int64_t lag_ms = 0;    ///< now - newest source timestamp of the batch
  bool schema_changed = false;
  /// Merged table (tables with primary keys).
  bool merged = false;  ///< a merge was committed (or found applied)
  int64_t merged_version = -1;
  bool merge_already_applied = false;
  int64_t merge_changes = 0;           ///< change rows the merge took
  int64_t merge_from_version = -1;     ///< first log version merged (log tables on)
  int64_t merge_to_version = -1;       ///< last log version merged
  std::optional<int64_t> merged_rows;  ///< rows in the merged table after the merge
  int64_t index_bytes = 0;             ///< the merged table's key index in memory
  int64_t exact_seq_reads = 0;         ///< late rows decided by their exact sequence
  /// History table (SCD2), when configured.
  bool history = false;  ///< a history commit was made (or found applied)
  int64_t history_version = -1;
  int64_t history_versions_opened = 0;
  /// Maintenance ran (docs/maintenance.md): over the log, merged, tombstone
  /// and history tables together.
  bool maintained = false;
  int64_t compacted_files_removed = 0;
  int64_t compacted_files_added = 0;
  int64_t vacuumed_files = 0;
  int64_t upserts = 0;       ///< row images written
  int64_t deletes = 0;       ///< delete events applied
  int64_t rows_deleted = 0;  ///< existing rows marked deleted or replaced
  int64_t ignored_stale = 0;
  int64_t superseded = 0;
  int64_t invalid = 0;  ///< plan rows sent to dead letters
};

class TablePipeline {
 public:
  TablePipeline(const Config& config, std::shared_ptr<arrow::fs::FileSystem> source_fs,
                std::string source_root, std::string folder);

  /// Ingests the next pending files of `listing` (one commit), or returns
  /// files == 0 if there are none; then merges the log into the merged table
  /// if the merge interval has passed, or, with `drain`, whenever nothing was
  /// ingested and the merged table is behind. An error leaves the cursors
  /// unchanged; the caller decides whether to retry (IOError) or stop.
  Result<StepResult> Step(const std::vector<sources::datastream::SourceFile>& listing,
                          bool drain = false);

  const std::string& folder() const { return folder_; }
  /// "database.table" once known (after the first file was read).
  const std::string& qualified_name() const { return qualified_; }
  const std::string& log_table_path() const { return log_path_; }
  const std::string& merged_table_path() const { return merged_path_; }
  /// Empty unless history tables are on for this table.
  const std::string& history_table_path() const { return history_path_; }
  /// Known after the first batch with rows: the primary keys (empty: the
  /// table has none and gets only the log table).
  bool keys_known() const { return keys_known_; }
  const std::vector<std::string>& primary_keys() const { return keys_; }

 private:
  Status Open(const std::vector<sources::datastream::SourceFile>& listing);
  Result<StepResult> StepOnce(const std::vector<sources::datastream::SourceFile>& listing,
                              bool drain);
  /// Decodes `pending` and commits it to the log table (log tables off: to
  /// the merged table).
  Status Ingest(const std::vector<sources::datastream::SourceFile>& pending, StepResult& result);
  /// One merge commit from the log tail, if the merged table is behind:
  /// PrepareMerge (reads the tail), RunMerge (history + merged commits; may
  /// run on a worker, touching only the merger, the history table and the
  /// dead letters under their lock), FinishMerge (advances the cursors).
  Status MergeFromLog(StepResult& result, int64_t now_ms);
  struct PendingMerge {
    int64_t version = -1;  ///< last log version taken
    int64_t now_ms = 0;
    bool history = false;  ///< the history table takes history_rows
    std::shared_ptr<arrow::Table> history_rows;
    bool merge = false;  ///< the merged table takes merge_rows (null: none)
    std::shared_ptr<arrow::Table> merge_rows;
  };
  Result<std::optional<PendingMerge>> PrepareMerge(StepResult& result, int64_t now_ms);
  Status RunMerge(const PendingMerge& merge, StepResult& result);
  void FinishMerge(const PendingMerge& merge);
  /// The merger for the current keys (created on first use), and the
  /// history table with it when configured.
  Result<merge::MergedTable*> Merger();
  /// Compacts and vacuums the table's Delta tables when due.
  Status MaintainTables(StepResult& result, int64_t now_ms);
  delta::MaintenancePolicy MaintenancePolicyFor(int64_t last_vacuum_ms) const;
  /// Applies `changes` to the history table as txn `version` (no-op when
  /// history is off).
  Status ApplyHistory(const std::shared_ptr<arrow::Table>& changes, int64_t version,
                      StepResult& result);
  Result<std::shared_ptr<arrow::Buffer>> ReadSource(const std::string& relative);
  std::string CursorPath(int64_t version) const;

  const Config& config_;
  std::shared_ptr<arrow::fs::FileSystem> source_fs_;
  std::string source_root_;
  std::string folder_;
  std::string app_id_;
  bool opened_ = false;
  std::string qualified_;
  std::string log_path_;
  sources::datastream::DecodeOptions decode_options_;
  std::optional<io::TableLocation> log_;
  std::shared_ptr<io::LogStore> cursor_store_;
  std::string cursor_prefix_;
  std::shared_ptr<const delta::Snapshot> snapshot_;  // null until the table exists
  // The merged table.
  std::string merged_path_;
  std::unique_ptr<merge::MergedTable> merger_;  // null until the keys are known
  // The history (SCD2) table, when configured: `<table>_history`.
  bool history_enabled_ = false;
  std::string history_path_;
  std::unique_ptr<merge::HistoryTable> history_;  // opened with the merger
  int64_t history_through_ = -1;
  // Maintenance schedule.
  int64_t last_maintenance_ms_ = 0;
  bool maintained_this_run_ = false;
  int64_t log_vacuum_ms_ = 0, merged_vacuum_ms_ = 0, tombstones_vacuum_ms_ = 0,
          history_vacuum_ms_ = 0, orphans_vacuum_ms_ = 0;
  bool keys_known_ = false;
  std::vector<std::string> keys_;
  LogTail tail_;
  /// Ingest and an overlapped merge both commit dead letters.
  std::mutex dead_letters_mu_;
  int64_t last_merge_ms_ = 0;
  /// Log version the merged table is known to be merged through (-1: none).
  int64_t merged_through_ = -1;
  sources::datastream::FileCursor cursor_;
  /// Files of a batch planned but not committed before a restart.
  std::vector<sources::datastream::SourceFile> resume_;
};

}  // namespace sluice::pipeline
