// Decoder of delimited text (RFC 4180 CSV, as AWS DMS writes it) into one
// Arrow RecordBatch whose columns are all utf8.
//
// Grammar (bytes; D = delimiter, Q = quote, both configurable):
//   file     = [BOM] [header EOL] *(record EOL) [record]
//   record   = field *(D field)
//   field    = quoted / unquoted
//   quoted   = Q *(any byte but Q / Q Q) Q      ; may hold D, CR, LF
//   unquoted = *(any byte but D, Q, CR, LF)
//   EOL      = CRLF / LF / CR
// Without CsvOptions::quoting every field is unquoted and Q a plain byte.
// A UTF-8 byte order mark (EF BB BF) at the start is skipped. The last record
// may end with or without an EOL. A blank line is skipped when the table has
// more than one column (it cannot be a record of it); with one column it is a
// record holding one empty field.
//
// Values: a quoted field is always a string (a quoted "NULL" is the text
// NULL; Q Q inside it is one Q). An unquoted field equal to null_value is
// NULL; equal to no_sup_value it is flagged in CsvTable::unsupplied (and is
// NULL in the batch); any other unquoted field is the string as written, so
// an empty unquoted field is the empty string unless null_value is empty.
//
// Malformed records do not stop decoding; each becomes a CsvRowError (for a
// dead-letter table) and is left out of the batch:
//   - a record with more or fewer fields than there are columns;
//   - a quote inside an unquoted field, or bytes between a closing quote and
//     the next delimiter or EOL (the record's extent is still found by the
//     usual rules, so decoding resumes at the next record);
//   - a record that is not valid UTF-8;
//   - a quoted field that is never closed: it runs to the end of the input,
//     so everything from the start of its record is one error and decoding
//     stops there.
//
// Cost: one scan of the bytes; fields are copied straight into the Arrow
// value buffers (no per-field allocation), which are sized for the whole
// input after its first 4096 rows. UTF-8 is validated once over the whole
// input, and per record only when that fails. DecodeCsv keeps no state
// between calls: concurrent calls are safe.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::formats::csv {

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  /// False for DMS Rfc4180 = false: the quote is a plain byte, so no field
  /// is quoted, none can hold the delimiter or a newline, and `quote` is not
  /// checked.
  bool quoting = true;
  /// The first record names the columns (DMS AddColumnName).
  bool header = true;
  /// The column names when header is false (required then, at least one,
  /// unique); ignored when header is true.
  std::vector<std::string> column_names;
  /// DMS CsvNullValue: an unquoted field equal to it is NULL. May be empty.
  std::string null_value = "NULL";
  /// DMS CsvNoSupValue: an unquoted field equal to it is reported in
  /// CsvTable::unsupplied. Must differ from null_value; unset: no field is.
  std::optional<std::string> no_sup_value;
  /// Where the input starts in its file: added to every byte offset the
  /// decoder reports (CsvRowError::byte_offset, record_offsets, offsets in
  /// reasons), so a piece of a file reports the file's offsets. Lines still
  /// count from the input's start.
  int64_t offset = 0;
  /// CsvRowError::raw keeps at most this many bytes of the record.
  int64_t max_error_raw_bytes = int64_t{64} << 10;
  arrow::MemoryPool* pool = nullptr;  // nullptr: arrow::default_memory_pool()
};

/// A record that could not be decoded.
struct CsvRowError {
  int64_t record = 0;       // 0-based index among the data records of the
                            // input (the header is not one; skipped blank
                            // lines are not either), well-formed or not
  int64_t line = 0;         // 1-based line where the record starts (every
                            // CRLF, LF or lone CR counts, also inside quotes)
  int64_t byte_offset = 0;  // offset of the record's first byte in the input
  std::string reason;       // what is wrong, e.g. "expected 4 fields, found 5"
  std::string raw;          // the record's bytes, without its EOL, cut to
                            // max_error_raw_bytes
};

struct CsvTable {
  /// The header's names (or CsvOptions::column_names), in order.
  std::vector<std::string> column_names;
  /// One utf8 column per name, named so; one row per well-formed record, in
  /// input order. Never null (zero rows when no record is well-formed).
  std::shared_ptr<arrow::RecordBatch> batch;
  /// Per column: empty when no cell of that column held no_sup_value,
  /// otherwise batch->num_rows() flags, true where the cell held it.
  std::vector<std::vector<bool>> unsupplied;
  /// Malformed records, in input order.
  std::vector<CsvRowError> errors;
  /// Per batch row: offset of its record's first byte in the input (strictly
  /// increasing; usable as the row's position in the file).
  std::vector<int64_t> record_offsets;

  /// \brief True when cell (column, row) held no_sup_value.
  bool IsUnsupplied(int column, int64_t row) const {
    const auto& flags = unsupplied[static_cast<size_t>(column)];
    return !flags.empty() && flags[static_cast<size_t>(row)];
  }
};

/// \brief Decodes a whole input (already decompressed).
///
/// Fails (Invalid) only on bad options or a bad header:
///   - delimiter CR, LF or not ASCII; with quoting, the same of the quote,
///     or the quote equal to the delimiter;
///   - without a header, no column names, or a duplicate or empty one;
///   - null_value equal to no_sup_value, or either holding the delimiter,
///     the quote, CR or LF (it could never match); max_error_raw_bytes < 0;
///   - a header with an empty or duplicate column name, or that is itself
///     malformed (unbalanced quote, stray quote, bad UTF-8, blank line).
/// An empty input (or only a BOM) with header true gives zero columns and
/// zero rows. Fails (CapacityError) when one column would hold more than
/// 2 GiB of text (utf8 offsets are 32-bit): split such inputs.
Result<CsvTable> DecodeCsv(std::string_view bytes, const CsvOptions& options);

}  // namespace sluice::formats::csv
