// Reads the rows of a snapshot: every active data file, with its deletion
// vector applied, partition columns restored from `partitionValues`, and
// columns cast to the table schema (a column missing from an older file reads
// as NULL, as schema evolution requires).
//
// Two ways in:
// - ReadDataFile / ReadSnapshot: every column, a whole file or table at once;
// - TableScan: a projected scan (only the named columns are read from the
//   Parquet files), one file at a time and one part (Parquet row group) of a
//   file at a time, optionally with each row's index in its file, so that a
//   caller can point back at rows and never holds more than a part.
#pragma once

#include <arrow/filesystem/type_fwd.h>
#include <arrow/type_fwd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"

namespace sluice::delta {

/// Rows of one data file as the table sees them.
Result<std::shared_ptr<arrow::Table>> ReadDataFile(const Snapshot& snapshot,
                                                   const io::TableLocation& location,
                                                   const Add& file);

/// All rows of the snapshot, in file order.
Result<std::shared_ptr<arrow::Table>> ReadSnapshot(const Snapshot& snapshot,
                                                   const io::TableLocation& location);

/// Absolute path (in location.fs) of a file named by an add/remove path.
Result<std::string> ResolveDataPath(const io::TableLocation& location, const std::string& path);

/// What a projected scan returns.
struct ScanOptions {
  /// The columns to read, by name, in the order batches hold them. Each
  /// must be a field of the scan's schema; none may repeat.
  std::vector<std::string> columns;
  /// Fill ScanBatch::positions.
  bool positions = false;
};

/// The surviving rows of one part of a data file.
struct ScanBatch {
  /// The projected columns, typed as the scan's schema says, in
  /// ScanOptions::columns order; rows deleted by the file's deletion vector
  /// are left out.
  std::shared_ptr<arrow::RecordBatch> rows;
  /// With ScanOptions::positions: the index in the file (physical, deleted
  /// rows counted) of each row of `rows`, ascending. Empty otherwise.
  std::vector<int64_t> positions;
};

/// One data file opened by TableScan::Open. Its rows are cut in parts
/// (Parquet row groups): contiguous ranges of physical rows, read one at a
/// time, in any order. Not thread-safe; one FileScan per thread.
class FileScan {
 public:
  FileScan(FileScan&&) noexcept;
  FileScan& operator=(FileScan&&) noexcept;
  ~FileScan();

  /// The file as the scan was given it (add.path, partition values, DV).
  const Add& file() const;
  /// Rows in the file, deleted ones included (positions run below this).
  int64_t num_rows() const;
  /// Rows the deletion vector removes.
  int64_t num_deleted() const;
  int num_parts() const;
  /// First physical row of `part` (0 <= part < num_parts()).
  int64_t part_first_row(int part) const;
  /// Physical rows of `part`, deleted ones included.
  int64_t part_rows(int part) const;
  /// The projected columns this file does not hold (a column added to the
  /// table after the file was written): they read as NULL. Partition
  /// columns are never absent. Callers that cannot accept NULL for a column
  /// (a column every file of theirs must have) check here.
  const std::vector<std::string>& absent_columns() const;

  /// Reads the projected columns of `part` (only those leave the file),
  /// applies the deletion vector, restores partition columns and casts to
  /// the scan's types. Invalid if a file column cannot be read as its
  /// schema type.
  Result<ScanBatch> ReadPart(int part);

 private:
  friend class TableScan;
  struct State;
  explicit FileScan(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// A projected scan of a table's data files: which columns, with which
/// types, and which of them are partition columns. Holds no file open;
/// cheap to copy; safe to share between threads (each opens its own files).
class TableScan {
 public:
  /// Scans files of `snapshot` (its schema and partition columns).
  static Result<TableScan> Make(const Snapshot& snapshot, io::TableLocation location,
                                ScanOptions options);
  /// Scans data files against `schema`, for a reader that has no snapshot
  /// at hand (only the projected columns' fields of `schema` matter).
  /// Invalid if a projected column is not in `schema`.
  static Result<TableScan> Make(io::TableLocation location, std::shared_ptr<arrow::Schema> schema,
                                std::vector<std::string> partition_columns, ScanOptions options);

  /// The projection: the projected columns' fields, in options order.
  const std::shared_ptr<arrow::Schema>& schema() const { return projected_; }

  /// Opens `file` (an add of the table: path, partition values, deletion
  /// vector; a bare Add{path} reads every physical row). Reads the Parquet
  /// footer and the deletion vector, no column data. An error names the
  /// file (a file gone since the snapshot: deleted by vacuum?).
  Result<FileScan> Open(const Add& file) const;

  /// Every part of `file` in row order: fn(batch) per part. Stops at, and
  /// returns, the first error fn returns.
  Status ScanFile(const Add& file, const std::function<Status(const ScanBatch&)>& fn) const;

 private:
  TableScan() = default;

  io::TableLocation location_;
  std::shared_ptr<arrow::Schema> projected_;
  std::vector<bool> is_partition_;  // per projected column
  bool positions_ = false;
};

}  // namespace sluice::delta
