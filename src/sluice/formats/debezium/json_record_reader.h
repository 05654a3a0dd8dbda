// Kafka messages written by Kafka Connect's JsonConverter (Debezium's JSON
// output) into Arrow record batches, one column per field of the record's
// top-level struct. For a Debezium change event these are the envelope's
// fields (`before`, `after`, `source`, `op`, `ts_ms`, `ts_us`, `ts_ns`,
// `transaction`); for a flattened record (ExtractNewRecordState) the table's
// columns plus the added `__op`, `__deleted`, ... fields. What they mean
// (which image counts, the op, the order) is the source's business
// (sources/debezium/); this reader knows only the shapes.
//
// Two message forms (JsonConverter's `schemas.enable`):
//   {"schema": {...}, "payload": {...}}   typed by the schema
//                                         (formats/connect/connect_schema.h)
//   {...}                                 the payload alone: typed by
//                                         inference over the run (below)
// A null value (Kafka tombstone) or `"payload": null` is a tombstone.
//
// Consecutive messages with the same schema text share one batch (a run);
// a new schema starts a new run, so a schema change mid-stream needs no
// special case. Schemaless messages in a row form one run whose types are
// inferred over all of them:
//   JSON values of a field            Connect type (then Arrow as usual)
//   true / false                      boolean
//   integers fitting int64            int64
//   other numbers                     double (a schemaless stream carries no
//                                     decimal type: use schemas for exact
//                                     decimals)
//   strings                           string (base64 bytes, decimals and
//                                     timestamps stay text: no schema says
//                                     what they are)
//   objects                           struct, fields in first-seen order
//   arrays                            array of the elements' type
//   only null, or several kinds       string (JSON text of each value)
// Every inferred field is optional.
//
// Bad messages (not JSON, not an object, a schema that does not parse or is
// not a struct, a payload that does not match its schema) are returned with
// the reason, never as an error; the others still decode.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/formats/connect/connect_schema.h"
#include "sluice/formats/debezium/decoded_records.h"

namespace sluice::formats::debezium {

struct JsonRecordOptions {
  connect::ConnectArrowOptions types;
  /// Messages larger than this are bad (a JSON document of many megabytes is
  /// not a row).
  size_t max_message_bytes = size_t{64} << 20;
};

/// True when a struct schema has a Debezium envelope's shape: an `op`
/// string field and a `before` or `after` struct.
bool IsEnvelope(const connect::ConnectSchema& value_schema);

/// Decodes messages; keeps a cache of compiled schemas across calls. Not
/// thread-safe: one per decoding thread.
class JsonRecordReader {
 public:
  explicit JsonRecordReader(JsonRecordOptions opts = {});
  ~JsonRecordReader();

  /// \brief Decodes `values` in order (nullopt: a tombstone). An error only
  /// for a failure of the reader itself, never for bad input.
  Result<DecodedRecords> Decode(const std::vector<std::optional<std::string_view>>& values);

  /// Schemas compiled so far (cached by their text).
  size_t cached_schemas() const { return schemas_.size(); }

 private:
  struct Compiled;
  Result<std::shared_ptr<Compiled>> Compile(std::string_view schema_text);

  JsonRecordOptions opts_;
  std::unordered_map<std::string, std::shared_ptr<Compiled>> schemas_;
};

}  // namespace sluice::formats::debezium
