// Reading one DMS file's bytes into raw rows (dms_changes.h): Parquet through
// Arrow's Parquet reader, CSV through formats/csv (gzip either way).
//
// Bad input is never an error: a truncated or corrupt Parquet file, a gzip
// stream that does not decompress, a CSV header that cannot be read, each
// give one file-level BadRecord (reason, offset) and no rows; malformed CSV
// records are BadRecords at their byte offset, the other records still rows.
#pragma once

#include <arrow/io/type_fwd.h>
#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/sources/dms/dms_changes.h"
#include "sluice/sources/dms/dms_names.h"
#include "sluice/sources/dms/dms_settings.h"
#include "sluice/sources/file_stream.h"

namespace sluice::sources::dms {

struct DmsFileRows {
  /// Batches of at most ~64k rows each (row counts add up in file order).
  std::vector<DmsRawRows> parts;
  std::vector<BadRecord> bad;
  /// The file row number of the first row of `parts` (0 but for a part of
  /// a file, dms_file_parts.h).
  int64_t first_row = 0;
};

/// Reads a table file (full load or CDC). `schema` gives header-less CSV
/// its column names (HeaderlessNames).
Result<DmsFileRows> ReadDmsFile(const std::shared_ptr<arrow::Buffer>& bytes,
                                const DmsFileName& file, const std::string& where,
                                const DmsSettings& settings, const DmsTableSchema& schema);

/// A table file read through `file` (of `size` bytes) instead of from its
/// whole bytes: a Parquet file with ranged reads, one record batch (at most
/// ~64k rows) at a time, each row group's column chunks fetched together
/// (pre-buffering coalesces them into few requests), so the file never sits
/// whole in memory; a gzipped or CSV file is read whole (ReadDmsFile). Bad
/// input gives the same BadRecords as ReadDmsFile.
Result<DmsFileRows> ReadDmsFileFrom(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                    int64_t size, const DmsFileName& name, const std::string& where,
                                    const DmsSettings& settings, const DmsTableSchema& schema);

/// The rows of the row groups of a Parquet table file that start in
/// [begin, end) (a part, dms_file_parts.h), through ranged reads of `file`
/// as ReadDmsFileFrom; `first_row` counts the rows of the row groups before
/// them. A file whose footer cannot be read gives its BadRecord only to the
/// part at 0.
Result<DmsFileRows> ReadDmsParquetPart(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                       int64_t begin, int64_t end, const std::string& where);

/// ReadDmsFile of CSV text (decompressed) that starts at byte `offset` of
/// its file: the whole file (offset 0), or the records of a part (offset >
/// 0: its columns are then the header's, or the header-less layout, of the
/// file's first record, in `head`, the file's first bytes). Offsets are the
/// file's; row numbers count the data records of `text` (malformed ones
/// included, blank lines not).
Result<DmsFileRows> ReadDmsCsvText(std::string_view text, std::string_view head, int64_t offset,
                                   const DmsFileName& file, const std::string& where,
                                   const DmsSettings& settings, const DmsTableSchema& schema);

/// The change rows (ToChanges) of a file's (or a part's) raw rows, from
/// row rows.first_row on, added to `out`: dead letters name `label` (the
/// part), rows the file (fctx.where).
void AddFileChanges(const DmsFileRows& rows, DmsFileContext fctx, const DmsSettings& settings,
                    const DmsTableSchema& schema, const std::string& label, TableChanges* out);

/// The columns of a header-less CSV record of `field_count` fields, in the
/// order DMS writes them: Op (when `op`), the timestamp column, the
/// configured columns, the change-sequence column, the before images of the
/// primary keys (`<prefix><key>`). Whether the sequence and before-image
/// columns are there is told by the count (transformation rules add them to
/// every file); fewer fields than that drop trailing configured columns (a
/// file written before a column was added; the layout keeping the most
/// columns wins). An exact fit wins over a partial one, so a count can be
/// read two ways only when before images and an added column meet: then
/// write headers (docs/dms.md). Empty when no layout fits.
std::vector<std::string> HeaderlessNames(const DmsSettings& settings, const DmsTableSchema& schema,
                                         bool op, int64_t field_count);

/// Whether a file of `kind` has an Op column when it has no header.
bool HeaderlessHasOp(const DmsSettings& settings, DmsFileKind kind);

/// A CDC_TXN file (PreserveTransactions): header-less CSV records
/// `Op,table_name,schema_name,[timestamp],values...` of many tables in
/// transaction order, split per table in one pass (each table's records
/// decoded together, with their own columns), without reading the file once
/// per table. Row numbers and offsets are the records' places in the file.
struct DmsTxnRows {
  /// By "<schema>.<table>".
  std::map<std::string, std::pair<SourceTable, DmsFileRows>> tables;
  /// Records no table can take (too few fields, an undecodable file).
  std::vector<BadRecord> bad;
};
Result<DmsTxnRows> ReadCdcTxnFile(const std::shared_ptr<arrow::Buffer>& bytes,
                                  const std::string& where, const DmsSettings& settings,
                                  const std::map<std::string, DmsTableSchema>& schemas);

/// The format's own completeness check (file_stream.h): a Parquet file must
/// begin and end with PAR1, a CSV file end with a newline, a gzip stream have
/// its trailer.
FileExtent CheckDmsExtent(const arrow::Buffer& bytes, bool parquet);

}  // namespace sluice::sources::dms
