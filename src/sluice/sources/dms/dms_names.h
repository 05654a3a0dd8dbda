// What AWS DMS file names and folders mean (docs/dms.md, "Layout"):
//
//   <root>/<schema>/<table>/[<date folders>/]<file>
//   full load   [SEGMENT<n>_]LOAD<8 hex digits>.<csv|parquet>[.gz]
//               (the counter is hexadecimal: ...9, A, ..., F, 10)
//   CDC         YYYYMMDD-HHMMSSmmm.<csv|parquet>[.gz] (the time DMS wrote it)
//   CDC_TXN     CDC_TXN-<anything>.csv[.gz] (PreserveTransactions, CdcPath)
//   date folders (DatePartitionEnabled) in any DatePartitionSequence
//               (YYYYMMDD, YYYYMMDDHH, YYYYMM, MMYYYYDD, DDMMYYYY) and
//               DatePartitionDelimiter (SLASH, DASH, UNDERSCORE, NONE).
//
// Fixed-width counters and times make path order the order DMS wrote the
// files in, within a folder; full-load rows are ordered before CDC rows by
// their _cdc_seq (dms_changes.h), not by path.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::sources::dms {

enum class DmsFileKind { kFullLoad, kCdc, kCdcTxn };

struct DmsFileName {
  DmsFileKind kind = DmsFileKind::kCdc;
  bool gzip = false;          ///< ends with ".gz"
  bool parquet = false;       ///< ".parquet" (else ".csv")
  int64_t segment = 0;        ///< SEGMENT<n>_ prefix of a full-load file (0: none)
  uint32_t load_counter = 0;  ///< the hex counter of a full-load file
  /// CDC: the time in the name, UTC ms.
  std::optional<int64_t> time_ms;
};

/// The meaning of a file name (no folders); nullopt when it is not a DMS
/// data file (or of another format: `parquet` says which one the source
/// reads; CDC_TXN files are CSV whatever the format).
std::optional<DmsFileName> ParseDmsFileName(std::string_view name, bool parquet);

/// The time a path (relative to a table folder) stands for, UTC ms: the
/// time in a CDC file's name, else the start of its date folders. nullopt
/// when the path has date folders in a sequence whose text order is not
/// time order (MMYYYYDD, DDMMYYYY) or none at all for a full-load file:
/// such paths are never sealed (file_cursor.h), only kept in the cursor.
std::optional<int64_t> DmsPathTime(std::string_view path);

/// "yyyy-MM-dd HH:mm:ss[.ffffff]" (TimestampColumnName, UTC), or a bare
/// date, in microseconds since the epoch; nullopt when it does not parse.
std::optional<int64_t> ParseDmsTimestamp(std::string_view text);

}  // namespace sluice::sources::dms
