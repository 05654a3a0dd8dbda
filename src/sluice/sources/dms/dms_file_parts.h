// Parts of a large DMS file (source.h, Unit::part): the records that start
// in a part's byte range [begin, end), read with ranged reads so that a file
// never sits whole in memory.
//
//   Parquet  a row group starts at its first column chunk (dictionary page,
//            else first data page); a part reads the footer and the row
//            groups that start in its range (ReadDmsParquetPart).
//   CSV      a record starts at 0 or after a line end outside a quoted
//            field. Whether a byte is inside quotes cannot be told from the
//            middle of a file, so one streaming scan of the file (bounded
//            memory) finds, for every part boundary, the first record start
//            at or after it and the records before it (CsvPartBounds); a
//            stream keeps the scan per file (CsvPartBoundsCache), so a file
//            is scanned once per process, not once per part. A part then
//            decodes its records (after the file's header, when it has one)
//            as the whole-file reader would.
//   gzip     a deflate stream cannot be entered mid-way: a large .gz file
//            is split as its spooled content (sources/gzip_spool.h), a
//            small one is read whole.
#pragma once

#include <arrow/io/type_fwd.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/sources/dms/dms_file_reader.h"
#include "sluice/sources/source.h"

namespace sluice::sources::dms {

/// Where records begin and end, as the reader splits them.
struct CsvRecordRules {
  char delimiter = ',';
  char quote = '"';
  bool quoting = true;  ///< Rfc4180: quoted fields may hold D, CR, LF
  /// False: a quote opens a quoted field only at a field's start (the CSV
  /// decoder, table files); true: anywhere outside quotes (the CDC_TXN
  /// record splitter). The two differ only on malformed records.
  bool quote_anywhere = false;
};

/// The record starts of a file at its part boundaries k * part_bytes.
struct CsvPartBounds {
  /// starts[k]: the first record start at or after k * part_bytes (the
  /// file size when none), k = 0 .. parts; starts[parts] = the file size.
  /// A part k holds the records in [starts[k], starts[k + 1]).
  std::vector<int64_t> starts;
  /// Records (header included, blank lines included) before starts[k].
  std::vector<int64_t> records_before;
  /// The same without blank lines (how the CDC_TXN splitter counts).
  std::vector<int64_t> filled_before;
  /// Where the file's second record starts (the file size when none): the
  /// first record (a header, or the record that picks a header-less
  /// layout) is [0, head_end).
  int64_t head_end = 0;
};

/// Scans `file` (`size` bytes) in reads of `chunk_bytes` for the bounds of
/// parts of `part_bytes` (> 0); memory: one chunk and the bounds.
Result<CsvPartBounds> ScanCsvPartBounds(arrow::io::RandomAccessFile* file, int64_t size,
                                        int64_t part_bytes, const CsvRecordRules& rules,
                                        int64_t chunk_bytes = int64_t{1} << 20);

/// A stream's scans, by (file, size, mtime, part size); thread-safe. Parts
/// of one file decoded at the same time wait for one scan. Keeps the most
/// recent files only (a file's parts are decoded close together).
class CsvPartBoundsCache {
 public:
  Result<std::shared_ptr<const CsvPartBounds>> Get(const Unit& unit,
                                                   arrow::io::RandomAccessFile* file,
                                                   const CsvRecordRules& rules) const;

 private:
  using Key = std::tuple<std::string, int64_t, int64_t, int64_t>;
  struct Entry {
    std::mutex mutex;
    std::shared_ptr<const CsvPartBounds> bounds;  // null until scanned
  };
  static constexpr size_t kMaxFiles = 64;
  mutable std::mutex mutex_;
  mutable std::map<Key, std::shared_ptr<Entry>> entries_;
  mutable std::deque<Key> order_;  // oldest first
};

/// The CSV rules of a table file's records (CSV decoder) or of CDC_TXN
/// records (record splitter).
CsvRecordRules DmsCsvRules(const DmsSettings& settings, bool cdc_txn);

/// The rows of a CSV table file's records in part `unit` (bounds from
/// ScanCsvPartBounds with DmsCsvRules(settings, false)): the same rows,
/// dead letters and byte offsets as ReadDmsFile gives those records of the
/// whole file; `first_row` is the number of records before the part (the
/// header not counted). File-level problems (an unreadable header, no
/// header-less layout) are reported by the part that holds the file's first
/// record only.
Result<DmsFileRows> ReadDmsCsvPart(arrow::io::RandomAccessFile* file, const Unit& unit,
                                   const CsvPartBounds& bounds, const DmsFileName& name,
                                   const std::string& where, const DmsSettings& settings,
                                   const DmsTableSchema& schema);

/// The same for a CDC_TXN file (bounds with DmsCsvRules(settings, true)):
/// ReadCdcTxnFile of the part's records, row numbers and offsets the file's.
Result<DmsTxnRows> ReadCdcTxnPart(arrow::io::RandomAccessFile* file, const Unit& unit,
                                  const CsvPartBounds& bounds, const std::string& where,
                                  const DmsSettings& settings,
                                  const std::map<std::string, DmsTableSchema>& schemas);

}  // namespace sluice::sources::dms
