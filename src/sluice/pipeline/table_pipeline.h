// TablePipeline: one Datastream table folder → its change log table
// `<sink>/<database>/<prefix><table>_log`. Each Step() ingests the next
// pending files (at most max_files_per_batch, in path order) as one Delta
// commit whose txn (appId "<pipeline>/<folder>", version = files ingested so
// far) is the durable cursor. The set of ingested files for that version is
// saved first as a cursor file (`_sluice/cursors/<version>.json` in the log
// table, or under CHECKPOINT_DIR), so a crash anywhere neither loses nor
// repeats a file: an uncommitted cursor file is simply rewritten.
//
// Tables with primary keys also get the merged (latest-state) table
// `<sink>/<database>/<prefix><table>` (docs/merge.md). Per Step, in order:
// cursor file → dead letters (decode/normalize rejects and the merge plan's
// invalid rows) → WriteMerge (tombstone side table, then merged table, same
// txn) → log table commit. The log table's txn is the master cursor; a retry
// after a crash finds the merge already applied and only commits the log.
// With log tables off (GENERATE_LOG_TABLE=false) the merged table's txn is
// the master and the cursor files live under the merged table.
#pragma once

#include <arrow/filesystem/type_fwd.h>

#include <memory>
#include <optional>
#include <string>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/key_index.h"
#include "sluice/pipeline/config.h"
#include "sluice/sources/datastream/discovery.h"
#include "sluice/sources/datastream/file_cursor.h"
#include "sluice/sources/datastream/file_decoder.h"

namespace sluice::pipeline {

struct StepResult {
  int64_t files = 0;  ///< 0: nothing was pending
  int64_t rows = 0;
  int64_t dead_letters = 0;
  int64_t version = -1;  ///< log table version committed
  int64_t lag_ms = 0;    ///< now - newest source timestamp of the batch
  bool schema_changed = false;
  /// Merged table (tables with primary keys).
  bool merged = false;  ///< a merge was committed (or found applied)
  int64_t merged_version = -1;
  bool merge_already_applied = false;
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
  /// files == 0 if there are none. An error leaves the cursor unchanged; the
  /// caller decides whether to retry (IOError) or stop the table.
  Result<StepResult> Step(const std::vector<sources::datastream::SourceFile>& listing);

  const std::string& folder() const { return folder_; }
  /// "database.table" once known (after the first file was read).
  const std::string& qualified_name() const { return qualified_; }
  const std::string& log_table_path() const { return log_path_; }
  const std::string& merged_table_path() const { return merged_path_; }
  /// Known after the first batch with rows: the primary keys (empty: the
  /// table has none and gets only the log table).
  bool keys_known() const { return keys_known_; }
  const std::vector<std::string>& primary_keys() const { return keys_; }

 private:
  Status Open(const std::vector<sources::datastream::SourceFile>& listing);
  Result<StepResult> StepOnce(const std::vector<sources::datastream::SourceFile>& listing);
  Result<std::shared_ptr<arrow::Buffer>> ReadSource(const std::string& relative);
  std::string CursorPath(int64_t version) const;
  /// Makes index_ match the merged table's current version and key types,
  /// rebuilding it from the table and its tombstones when needed.
  Status EnsureIndex(const arrow::Schema& merged_schema);

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
  std::optional<io::TableLocation> merged_;
  std::shared_ptr<const delta::Snapshot> merged_snapshot_;  // null until it exists
  std::unique_ptr<merge::KeyIndex> index_;                  // null: rebuild lazily
  bool keys_known_ = false;
  std::vector<std::string> keys_;
  int64_t last_purge_ms_ = 0;
  sources::datastream::FileCursor cursor_;
  /// Files of a batch planned but not committed before a restart.
  std::vector<sources::datastream::SourceFile> resume_;
};

}  // namespace sluice::pipeline
