// Compaction (Delta's OPTIMIZE bin-packing): rewrites many small files, and
// files whose deletion vectors hide a large share of their rows, into fewer
// files of about the target size, in one commit whose `remove`s and `add`s
// all have dataChange=false (readers streaming changes skip it; the rows are
// the same). Rows are read with their DVs applied, so deleted rows are gone
// for good, and keep their order: a new file holds the survivors of its first
// input file, then of the second, ... (inputs in snapshot order).
//
// Planning reads only the snapshot's add actions (size, stats numRecords, DV
// cardinality); data is read only for the bins that qualify.
//
// A concurrent commit that removed (or re-DV'd) one of the input files makes
// the commit fail with a CommitConflictDetail (transaction.h): the rows it
// deleted must not come back. Nothing is committed then; the files written
// are left for vacuum.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/delta/data_writer.h"
#include "sluice/delta/transaction.h"
#include "sluice/io/table_location.h"

namespace sluice::delta {

struct CompactionOptions {
  /// Files are written up to this size (Delta's OPTIMIZE default, 1 GiB, is
  /// for batch tables; 128 MiB matches delta.targetFileSize and our writers).
  int64_t target_file_size = 128LL << 20;
  /// Files smaller than this are candidates for bin-packing; 0 means
  /// target_file_size / 4 (a file that is a quarter of the target is not
  /// worth rewriting just for its size).
  int64_t small_file_size = 0;
  /// A bin of small files is rewritten only if it holds at least this many
  /// files (at least 2): merging 2 or 3 files costs a full rewrite for a
  /// small gain in open/list cost, and the pipeline adds files every batch,
  /// so waiting for a few more is cheap.
  int min_small_files = 5;
  /// A file whose DV hides more than this share of its rows is rewritten
  /// even if it is large: readers pay for every hidden row on every scan.
  double max_deleted_ratio = 0.2;
  /// Stop adding bins once their input bytes reach this (bounds the work one
  /// call does between batches; at least one bin always runs). 0 = no bound.
  int64_t max_bytes = 0;
  /// Parquet settings of the new files (target_file_size above wins).
  DataWriteOptions data;
  CommitOptions commit;
  /// The tags of a new file given the adds whose rows it holds (a table
  /// whose writer keeps per-file facts in tags, like the tombstone side
  /// table's oldest deleted_at, supplies its rule). Unset: the tags on which
  /// every input agrees.
  std::function<std::optional<std::map<std::string, std::string>>(const std::vector<const Add*>&)>
      merge_tags;
  /// Told after each bin is rewritten: input bytes done and in the plan
  /// (for a command's progress display). Unset: nothing.
  std::function<void(int64_t done_bytes, int64_t total_bytes)> progress;
};

/// Why a file was picked.
enum class CompactionReason { kSmall, kDeleted };

/// A group of files of one partition rewritten together (pure planning).
struct CompactionBin {
  PartitionValues partition_values;
  std::vector<const Add*> inputs;  ///< in snapshot order; point into the snapshot
  std::vector<CompactionReason> reasons;
  int64_t input_bytes = 0;
};

struct CompactionPlan {
  std::vector<CompactionBin> bins;
  /// Candidate files left for a later run (max_bytes reached, or a bin of
  /// small files below min_small_files).
  int64_t files_deferred = 0;
  bool Empty() const { return bins.empty(); }
};

/// Picks the bins from `snapshot`'s add actions only (no I/O). Errors only on
/// malformed stats JSON.
Result<CompactionPlan> PlanCompaction(const Snapshot& snapshot, const CompactionOptions& options);

/// The surviving rows of one old file that landed, in order, in a new file.
struct CompactedSegment {
  std::string old_path;        ///< add.path of the removed file
  std::vector<uint64_t> rows;  ///< row indexes in the old file, ascending
};

/// A file the compaction wrote: its rows are the concatenation of `segments`.
struct CompactedFile {
  std::string path;  ///< add.path
  int64_t rows = 0;
  std::vector<CompactedSegment> segments;
};

struct CompactionResult {
  bool committed = false;  ///< false: nothing qualified, nothing written
  int64_t read_version = -1;
  int64_t version = -1;              ///< the committed version (read_version if no commit)
  std::vector<std::string> removed;  ///< add.path of every input file
  std::vector<CompactedFile> files;  ///< in commit order
  int64_t files_removed = 0;
  int64_t files_added = 0;
  int64_t rows = 0;          ///< rows written (the inputs' live rows)
  int64_t rows_purged = 0;   ///< rows hidden by the inputs' DVs, now gone
  int64_t bytes_before = 0;  ///< sizes of the removed files
  int64_t bytes_after = 0;   ///< sizes of the added files
  int64_t files_deferred = 0;
  /// The table after the commit (or the input snapshot).
  std::shared_ptr<const Snapshot> snapshot;
};

/// Plans and, if anything qualifies, rewrites the bins and commits once
/// (operation OPTIMIZE) on top of `snapshot`.
Result<CompactionResult> CompactTable(const io::TableLocation& location,
                                      std::shared_ptr<const Snapshot> snapshot,
                                      const CompactionOptions& options = {});

}  // namespace sluice::delta
