// TablePipeline: one Datastream table folder → its change log table
// `<sink>/<database>/<prefix><table>_log`. Each Step() ingests the next
// pending files (at most max_files_per_batch, in path order) as one Delta
// commit whose txn (appId "<pipeline>/<folder>", version = files ingested so
// far) is the durable cursor. The set of ingested files for that version is
// saved first as a cursor file (`_sluice/cursors/<version>.json` in the log
// table, or under CHECKPOINT_DIR), so a crash anywhere neither loses nor
// repeats a file: an uncommitted cursor file is simply rewritten.
#pragma once

#include <arrow/filesystem/type_fwd.h>

#include <memory>
#include <optional>
#include <string>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/pipeline/config.h"
#include "sluice/sources/datastream/discovery.h"
#include "sluice/sources/datastream/file_cursor.h"
#include "sluice/sources/datastream/file_decoder.h"

namespace sluice::pipeline {

struct StepResult {
  int64_t files = 0;          ///< 0: nothing was pending
  int64_t rows = 0;
  int64_t dead_letters = 0;
  int64_t version = -1;       ///< log table version committed
  int64_t lag_ms = 0;         ///< now - newest source timestamp of the batch
  bool schema_changed = false;
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

 private:
  Status Open(const std::vector<sources::datastream::SourceFile>& listing);
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
  sources::datastream::FileCursor cursor_;
  /// Files of a batch planned but not committed before a restart.
  std::vector<sources::datastream::SourceFile> resume_;
};

}  // namespace sluice::pipeline
