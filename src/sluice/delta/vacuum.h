// Vacuum: deletes the data files and deletion-vector files under a table's
// directory that its current snapshot no longer references, once they are
// older than the retention, and expires old log entries.
//
// What is a candidate: files named `*.parquet` or `deletion_vector_*.bin`
// found under the table root. Directories whose name starts with '.' or '_'
// are never entered (`_delta_log/`, and `_sluice/`, which holds the merged
// table's tombstone side table and cursor files), except Hive partition
// directories (`_col=value`); files whose name starts with '.' or '_' are
// never touched. Anything else (a README someone left, checksum files) is
// left alone, where Spark would delete every untracked file.
//
// What is kept: every file of an active add and its DV file; every file of
// a remove younger than the retention (its deletionTimestamp), so readers of
// recent versions still find them; every file modified within the
// retention, which protects files written by writers whose commit has not
// landed yet. The retention is delta.deletedFileRetentionDuration (default 7
// days) unless `retention_ms` overrides it; a shorter retention makes time
// travel to versions before the vacuum fail on the deleted files.
//
// Log expiry (Delta's metadata cleanup): with the newest complete checkpoint
// C whose files are older than delta.logRetentionDuration (default 30 days),
// commits, checkpoints and checksums of versions before C that are older
// than that retention are deleted; C and everything after it are kept, so
// the table stays readable from C on. Skipped when
// delta.enableExpiredLogCleanup=false.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"

namespace sluice::delta {

struct VacuumOptions {
  /// Overrides delta.deletedFileRetentionDuration.
  std::optional<int64_t> retention_ms;
  /// List what would be deleted; delete nothing.
  bool dry_run = false;
  /// Also expire old log entries.
  bool expire_log = true;
  /// Overrides delta.logRetentionDuration.
  std::optional<int64_t> log_retention_ms;
  /// "Now" in ms since the epoch; 0 = the wall clock (tests set it).
  int64_t now_ms = 0;
  /// Told after each file is deleted (or listed, dry run): files done and
  /// to do, for a command's progress display. Unset: nothing.
  std::function<void(int64_t done_files, int64_t total_files)> progress;
};

struct VacuumResult {
  int64_t version = -1;  ///< the snapshot vacuumed
  int64_t retention_ms = 0;
  int64_t cutoff_ms = 0;  ///< files modified/removed before this may go
  bool dry_run = false;
  /// Deleted (or, dry run, to delete) files, relative to the table root, sorted.
  std::vector<std::string> deleted;
  int64_t bytes_deleted = 0;
  int64_t files_referenced = 0;  ///< candidates kept because the table needs them
  int64_t files_too_young = 0;   ///< unreferenced, kept for the retention
  /// Log files deleted (or to delete), relative to the table root.
  std::vector<std::string> log_deleted;
};

/// Vacuums `location` as of `snapshot` (normally the latest). Errors name
/// the table and the file that could not be listed or deleted.
Result<VacuumResult> VacuumTable(const io::TableLocation& location,
                                 std::shared_ptr<const Snapshot> snapshot,
                                 const VacuumOptions& options = {});

}  // namespace sluice::delta
