// MergePlan: what applying one deduped change batch does to the merged table,
// decided by the planner (merge_planner.h) without reading the table (but
// for the exact sequences of late events' rows, key_index.h), carried out by the
// writer (merge_writer.h) in one Delta commit, and then folded into the key
// index (key_index.h) together with the writer's MergeOutcome. A value, like
// leveldb's VersionEdit: plan → commit → install.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/delta/deletion_bitmap.h"
#include "sluice/merge/batch_dedup.h"

namespace sluice::merge {

/// A deleted key remembered with the sequence of its delete, so that a late,
/// older event for it is ignored (DESIGN.md §4). `key` is an encoded key
/// (key_encoder.h grammar).
struct Tombstone {
  std::string key;
  std::string seq;
  int64_t deleted_at_ms = 0;  ///< wall clock when the merge saw the delete
  /// The txn version of the batch that wrote it (tombstone_store.h).
  int64_t batch_version = 0;
  bool operator==(const Tombstone&) const = default;
};

/// The merged table's configuration key holding its truncate watermark: the
/// `_cdc_seq` of the newest truncate applied, in lowercase hex. Every row
/// older than it was deleted, and an event whose seq is <= it is ignored
/// (docs/merge.md "Truncate"). Absent: no truncate yet.
inline constexpr const char* kTruncateSeqProperty = "sluice.truncateSeq";

/// `seq` as lowercase hex, and back (Invalid for anything but hex digit pairs).
std::string EncodeTruncateSeq(std::string_view seq);
Result<std::string> DecodeTruncateSeq(std::string_view hex);

struct MergeCounts {
  int64_t events = 0;         ///< rows in the change batch
  int64_t superseded = 0;     ///< lost to a later event of the same key in the batch
  int64_t ignored_stale = 0;  ///< seq <= the table's seq for the key (live row or tombstone)
  int64_t invalid = 0;        ///< dead letters
  int64_t upserts = 0;        ///< rows appended
  int64_t deletes = 0;        ///< delete events applied (tombstones written)
  int64_t rows_deleted = 0;   ///< existing rows marked deleted (deletes + replaced rows)
  int64_t partial = 0;        ///< appended images completed from older values
  /// Live rows whose exact sequence was read back (the index keeps only a
  /// per-file bound; key_index.h): late events, replays, partial images.
  int64_t exact_seq_reads = 0;
  int64_t truncates = 0;       ///< truncate events in the batch
  int64_t rows_truncated = 0;  ///< live rows older than a truncate, deleted (in rows_deleted too)
};

/// A value of an appended row that the event did not carry (a partial image,
/// partial_image.h) and that the table's current row of the key holds: the
/// writer reads it from `file` row `file_row` before writing.
struct CarriedValue {
  int64_t append_row = 0;  ///< row of MergePlan::appends
  std::string column;
  std::string file;  ///< add.path
  int64_t file_row = 0;
  bool operator==(const CarriedValue&) const = default;
};

struct MergePlan {
  /// Per data file (add.path): row indexes in the file to mark deleted.
  std::map<std::string, delta::DeletionBitmap> deletes;
  /// New row images in the merged-table schema (payload + _cdc_seq + _cdc_ts).
  std::shared_ptr<arrow::Table> appends;
  /// Encoded key and seq of each row of `appends`, in row order.
  std::vector<std::string> append_keys;
  std::vector<std::string> append_seqs;
  /// Unchanged values of partial images to read from the table (see
  /// CarriedValue); empty for full images.
  std::vector<CarriedValue> carried;
  /// Tombstones to persist and to install in the index.
  std::vector<Tombstone> tombstones;
  /// A truncate newer than the table's truncate watermark: its `_cdc_seq`,
  /// the new watermark the writer stores in the table's configuration
  /// (kTruncateSeqProperty) in the same commit. Empty: none.
  std::string truncate_seq;
  /// Further table properties to set in the commit (the history table's
  /// truncates, history_plan.h).
  std::map<std::string, std::string> properties;
  MergeCounts counts;
  /// Rows for the dead-letter table (row indexes into the change batch).
  std::vector<InvalidRow> invalid;
  /// The table version the plan was made against (-1: no table yet).
  int64_t base_version = -1;

  bool Empty() const {
    return deletes.empty() && tombstones.empty() && truncate_seq.empty() && properties.empty() &&
           (!appends || append_keys.empty());
  }
};

/// A data file the writer produced: its add.path and number of rows.
struct WrittenFile {
  std::string path;
  int64_t rows = 0;
};

/// A file rewritten without some rows (copy-on-write): its surviving rows,
/// in order, are now the concatenation of `replacements`.
struct FileRewrite {
  std::string old_path;
  std::vector<uint64_t> deleted;  ///< all rows gone from the old file, sorted
  std::vector<WrittenFile> replacements;
};

/// What the writer committed, which the key index needs to follow the rows.
struct MergeOutcome {
  int64_t version = -1;  ///< the merged table's version after the commit
  /// True if the table already held this txn version: nothing was written.
  bool already_applied = false;
  /// The files holding plan.appends, in row order.
  std::vector<WrittenFile> appended;
  std::vector<FileRewrite> rewrites;
};

}  // namespace sluice::merge
