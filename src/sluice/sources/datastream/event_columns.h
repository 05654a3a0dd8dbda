// Type-tolerant access to the columns of a decoded Datastream event batch.
// The same events arrive from the Avro reader and the JSON reader, and from
// files of different vintages, so a field may be absent, typed differently
// (timestamps as timestamp-millis, as plain long millis in old Oracle files,
// or as text in JSON; log_position as long or as text), or nested in a
// struct that is itself null. Readers here answer "the value, or nothing" and
// never fail: a missing value is the caller's decision (dead letter or not).
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources::datastream {

/// One column (top level, or a struct child with the parent's nulls folded
/// in). Absent columns read as null everywhere.
class EventColumn {
 public:
  EventColumn() = default;
  explicit EventColumn(std::shared_ptr<arrow::Array> array);

  bool present() const { return array_ != nullptr; }
  const std::shared_ptr<arrow::Array>& array() const { return array_; }
  bool IsNull(int64_t i) const;

  /// utf8 / large_utf8 / binary values.
  std::optional<std::string_view> String(int64_t i) const;
  /// Any integer type (uint64 above INT64_MAX: nothing), or decimal text.
  std::optional<int64_t> Int64(int64_t i) const;
  /// Any integer type >= 0, or decimal text.
  std::optional<uint64_t> UInt64(int64_t i) const;
  std::optional<bool> Bool(int64_t i) const;
  /// timestamp (any unit, truncated to us); integers are epoch milliseconds
  /// (Datastream's unit); text "2021-12-25 05:42:04.408" or ISO-8601 with a
  /// zone, read as UTC when it has none.
  std::optional<int64_t> TimestampMicros(int64_t i) const;
  /// list<utf8> (or list of anything String() reads); null -> empty.
  std::vector<std::string> StringList(int64_t i) const;

 private:
  std::shared_ptr<arrow::Array> array_;
};

/// The generic Datastream fields, and source_metadata / payload.
struct EventColumns {
  EventColumn uuid, read_timestamp, source_timestamp, object, read_method, stream_name, schema_key,
      sort_keys;
  /// source_metadata's children (parent nulls folded in), in schema order.
  std::vector<std::shared_ptr<arrow::Field>> metadata_fields;
  std::vector<EventColumn> metadata;
  /// payload's children (parent nulls folded in), in schema order.
  std::vector<std::shared_ptr<arrow::Field>> payload_fields;
  std::vector<std::shared_ptr<arrow::Array>> payload;

  /// The source_metadata child named `name` (absent if there is none).
  EventColumn Meta(std::string_view name) const;
  /// Index of the payload column named `name`; exact match first, then a
  /// unique case-insensitive match. -1 if none.
  int PayloadIndex(std::string_view name) const;

  /// Fails only when `payload` or `source_metadata` is present but not a
  /// struct, or when payload is missing altogether.
  static Result<EventColumns> Bind(const arrow::RecordBatch& events);
};

/// Element `index` of one row's sort_keys as text (integers in decimal), or
/// nothing. Oracle's sort_keys are [ts, scn, rs_id, ssn], MySQL's [ts,
/// log_file, log_position], PostgreSQL's [ts, lsn]: the fallback when
/// source_metadata lacks a field.
std::optional<std::string> SortKeyElement(const EventColumn& sort_keys, int64_t i, int index);

/// sort_keys rows as JSON text: list<utf8>, list<int>, or the Avro reader's
/// list<struct<string, long>> union encoding (one member set per element).
/// Made once per batch: the union's members are flattened once, not per row.
class SortKeysJson {
 public:
  explicit SortKeysJson(const EventColumn& sort_keys);
  /// Row `i` as JSON text into `out` (cleared first); false when null.
  bool Format(int64_t i, std::string& out) const;

 private:
  const EventColumn& sort_keys_;
  std::vector<EventColumn> members_;
};

}  // namespace sluice::sources::datastream
