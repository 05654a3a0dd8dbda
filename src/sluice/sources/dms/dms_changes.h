// Rows of one DMS file (Parquet columns as they came, or CSV cells as
// strings) -> a change batch in the canonical schema (core/change_schema.h):
//
//   <payload columns>  the configured columns (`columns`, in that order, cast
//                      to their types; missing ones NULL, extra ones dropped),
//                      else every data column (Parquet: made Delta-storable;
//                      CSV: strings)
//   _cdc_op            full load: snapshot (whatever an Op column says);
//                      CDC: Op I/U/D -> insert/update/delete, no Op column
//                      (CdcInsertsOnly) -> insert
//   _cdc_seq           full load: 00 | file ordinal u64 | row u64 | sub u8
//                      CDC, change-sequence column configured:
//                        01 | the 35-digit number as u128 | ordinal | row | sub
//                      CDC otherwise:
//                        01 | commit time i64 µs | ordinal | row | sub
//                      so every full-load row sorts before every CDC row of
//                      its key, and the sequence number compares as a number
//   _cdc_ts            the timestamp column (UTC); full load: cdc_start_date
//                      when configured; no column: the time in the file name
//   _cdc_ingested_at, _cdc_origin ("<file>#<row>")
//   _cdc_source        struct{file utf8, row int64, op utf8, change_seq utf8}
//   [_cdc_unchanged]   list<utf8>, only when a cell held CsvNoSupValue: the
//                      columns the row does not carry (merge/partial_image.h)
//
// Special columns are found by name: `Op` (the first column only), the
// timestamp and change-sequence columns, and before images `<prefix><col>`
// of a data column `<col>`; none of them is a payload column. An update
// whose before image changes a primary-key column becomes two rows: a
// delete of the old key (payload from the before images; sub 0) and the
// update of the new key (sub 1).
//
// A row goes to `bad` (reason, offset) and not into the batch when its Op is
// unknown, its timestamp or change sequence does not parse, a value does
// not cast to its configured type, or a key column is NULL.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/sources/dms/dms_names.h"
#include "sluice/sources/dms/dms_settings.h"
#include "sluice/sources/source.h"

namespace sluice::sources::dms {

/// A table's configuration ([tables."<schema>.<table>"]).
struct DmsTableSchema {
  std::vector<std::string> primary_keys;
  /// Enforced columns, in order (empty: the file's columns as they are).
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> columns;
};

/// Rows as read from one file.
struct DmsRawRows {
  std::shared_ptr<arrow::RecordBatch> batch;
  /// Per column of `batch`: empty, or one flag per row (cell held
  /// CsvNoSupValue).
  std::vector<std::vector<bool>> unsupplied;
  /// Per row: its position for dead letters (CSV byte offset); empty: the
  /// row index.
  std::vector<int64_t> offsets;
  /// Per row: its row index in the file (empty: first_row + its index in
  /// the batch). CDC_TXN tables take every n-th record of their file.
  std::vector<int64_t> row_numbers;
};

struct DmsFileContext {
  std::string where;  ///< "<stream>/<path>"
  uint64_t ordinal = 0;
  DmsFileKind kind = DmsFileKind::kCdc;
  std::optional<int64_t> file_time_ms;  ///< the time in a CDC file's name
  int64_t ingested_at_us = 0;
  int64_t first_row = 0;  ///< row index in the file of the batch's row 0
};

struct DmsChanges {
  std::shared_ptr<arrow::RecordBatch> batch;  ///< null when no row is good
  std::vector<BadRecord> bad;
};

/// Fails only on allocation failure or a payload column named "_cdc_...".
Result<DmsChanges> ToChanges(const DmsRawRows& raw, const DmsFileContext& ctx,
                             const DmsSettings& settings, const DmsTableSchema& schema);

/// The number in a change-sequence cell (up to 38 decimal digits, leading
/// zeros allowed) as (high, low) 64-bit halves; nullopt when not a number.
std::optional<std::pair<uint64_t, uint64_t>> ParseChangeSequence(std::string_view text);

}  // namespace sluice::sources::dms
