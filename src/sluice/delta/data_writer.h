// Writes Arrow data as Parquet data files of a Delta table and describes each
// file as an `add` action (partition values, size, stats). Data flows in
// Arrow batches; nothing is written row by row.
#pragma once

#include <arrow/filesystem/type_fwd.h>
#include <arrow/type_fwd.h>

#include <optional>
#include <string>
#include <vector>

#include "sluice/delta/actions.h"
#include "sluice/delta/stats.h"

namespace sluice::delta {

struct DataWriteOptions {
  /// A file is closed once it reaches this many bytes (Delta's
  /// delta.targetFileSize default is 128 MiB).
  int64_t target_file_size = 128LL << 20;
  /// Rows per row group (also the granularity of the size check).
  int64_t row_group_rows = 128 * 1024;
  /// Parquet codec: zstd (default), snappy, gzip, lz4, uncompressed.
  std::string compression = "zstd";
  /// For codecs with levels (zstd, gzip); unset: 1 for zstd (fast, and most
  /// of zstd's ratio), the codec's own default otherwise.
  std::optional<int> compression_level;
  StatsOptions stats;
};

/// Writes `data` (whose schema is the table schema, partition columns
/// included) under `root` and returns one Add per file written. Partition
/// columns are not stored in the files; their values go to
/// `add.partitionValues` and to Hive-style directories.
Result<std::vector<Add>> WriteDataFiles(arrow::fs::FileSystem& fs, const std::string& root,
                                        const std::shared_ptr<arrow::Table>& data,
                                        const std::vector<std::string>& partition_columns,
                                        const DataWriteOptions& options = {});

/// Checks a codec name and level as DataWriteOptions takes them; the error
/// names the accepted values.
Status ValidateCompression(const std::string& name, std::optional<int> level);

/// Percent-encodes a relative file path for `add.path` (a URI reference).
std::string EncodeAddPath(const std::string& relative);
/// Reverses EncodeAddPath.
std::string DecodeAddPath(const std::string& path);

}  // namespace sluice::delta
