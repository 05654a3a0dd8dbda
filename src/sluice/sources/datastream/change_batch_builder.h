// Turns a batch of decoded Datastream events (from the Avro or the JSON
// reader) into a change batch in the canonical schema (change_schema.h):
//
//   <payload columns, flattened from `payload`, same names; types made
//    Delta-storable by unified_types.h>
//   [_cdc_row_id]        only when keyed by Oracle ROWID (below)
//   _cdc_op, _cdc_seq, _cdc_ts, _cdc_ingested_at, _cdc_origin, _cdc_source
//
// _cdc_seq    per sequence_layout.h; arrival = (ctx.file_ordinal,
//             ctx.first_row_index + row).
// _cdc_ts     source_timestamp.
// _cdc_origin "<file_path>#<first_row_index + row>".
// _cdc_source struct: uuid, read_method, object, stream_name, schema_key
//             (utf8), sort_keys (utf8, the list as JSON text), read_timestamp
//             (timestamp us UTC), then every source_metadata field as it came
//             (change_type, is_deleted, log_file, log_position, lsn, scn,
//             rs_id, ssn, tx_id, row_id, primary_keys, ...). A metadata field
//             whose name clashes with one of the seven is renamed
//             "source_metadata_<name>". Absent top-level fields read null.
//
// Primary keys, first that applies:
//   1. opts.primary_keys_override, when not empty;
//   2. source_metadata.primary_keys: the first non-empty list in the batch;
//   3. Oracle without keys: the ROWID. source_metadata.row_id is copied into
//      a utf8 column `_cdc_row_id` placed after the payload columns (the
//      merged table must keep its key, and it drops _cdc_source), and the
//      key is ["_cdc_row_id"];
//   4. SQL Server: source_metadata.replication_index (first non-empty);
//   5. none: primary_keys is empty and every orderable row passes (the log
//      table takes keyless tables; the merge then needs a configured key).
// Key names are matched to payload columns exactly, else case-insensitively
// (primary_keys then holds the payload's spelling).
//
// A row goes to `rejected` (never to `changes`) when its operation or
// ordering fields are missing or unparseable (event_reader.h), or when a key
// column is null in the payload or absent from it, or when a payload value
// has no Delta-storable form (unified_types.h). The reason names the field. `rejected[i].row`
// indexes `events`.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources::datastream {

inline constexpr std::string_view kRowIdColumn = "_cdc_row_id";

struct FileContext {
  std::string file_path;
  uint64_t file_ordinal = 0;    // the file's place in the table's cursor
  int64_t ingested_at_us = 0;   // _cdc_ingested_at for every row
  int64_t first_row_index = 0;  // row index in the file of events' row 0
};

struct NormalizeOptions {
  std::vector<std::string> primary_keys_override;
};

struct RejectedRow {
  int64_t row = 0;
  std::string reason;
};

struct NormalizedBatch {
  std::shared_ptr<arrow::RecordBatch> changes;
  std::vector<std::string> primary_keys;
  std::vector<RejectedRow> rejected;
};

/// Fails only when the batch is not Datastream events at all (no payload
/// struct, a payload column using a reserved "_cdc_" name) or on allocation
/// failure; bad rows are returned in `rejected`.
Result<NormalizedBatch> Normalize(const arrow::RecordBatch& events, const FileContext& ctx,
                                  const NormalizeOptions& opts);

}  // namespace sluice::sources::datastream
