// The Datastream event envelope ("Events and streams" in Google's Datastream
// documentation) as Arrow columns, in this fixed order:
//
//   uuid               utf8
//   read_timestamp     timestamp(us, "UTC")
//   source_timestamp   timestamp(us, "UTC")
//   object             utf8
//   read_method        utf8
//   stream_name        utf8
//   schema_key         utf8
//   sort_keys          list<struct<string: utf8, long: int64>>
//   source_metadata    struct<inferred>
//   payload            struct<inferred; pinned columns as pinned>
//
// This is the shape the Avro decoder gives the same event (avro/
// arrow_mapping.h): timestamps as timestamp(us, UTC); sort_keys, an Avro
// array of union [string, long], as a list of structs with one member set.
// A JSON sort key that is neither a string nor an int64 integer (a float, a
// bool, a big number, an object) goes into `string` as its JSON text. All
// columns are nullable: JSON events may omit any key.
//
// Timestamps: strings per timestamp_text.h (both Datastream forms, with or
// without a zone); numbers are epoch milliseconds (what Datastream Avro
// carries), fractions down to microseconds. Anything else rejects the event.
// The string fields hold non-string values as JSON text. source_metadata and
// payload must be objects (or null/absent), else the event is rejected.
// Top-level keys not listed above are validated and ignored (Datastream may
// add envelope keys; they are not data).
#pragma once

#include <arrow/type_fwd.h>

#include <memory>

#include "sluice/formats/json/column_writer.h"
#include "sluice/formats/json/type_inference.h"

namespace sluice::formats::json {

/// Pass 1 over events: validation and type inference.
class EventSchema {
 public:
  explicit EventSchema(PinnedTypes pinned) : pinned_(std::move(pinned)) {}

  /// \brief Validates one event and folds its types in. Errors per
  /// json_value.h (Invalid: syntax, TypeError: content).
  Status Observe(od::object event);

  /// \brief The schema of every batch (call after all Observe calls).
  std::shared_ptr<arrow::Schema> Finish();

  const InferredType& source_metadata() const { return source_metadata_; }
  const InferredType& payload() const { return payload_; }

 private:
  PinnedTypes pinned_;
  InferredType source_metadata_;
  InferredType payload_;
};

/// Pass 2: appends validated events to Arrow builders, batch by batch.
class EventBuilder {
 public:
  static Result<std::unique_ptr<EventBuilder>> Make(const EventSchema& schema,
                                                    std::shared_ptr<arrow::Schema> arrow_schema,
                                                    arrow::MemoryPool* pool);

  ~EventBuilder();

  /// \brief Appends one event that EventSchema::Observe accepted.
  Status Append(od::object event);
  int64_t length() const { return length_; }
  /// \brief The rows appended since the last Flush.
  Result<std::shared_ptr<arrow::RecordBatch>> Flush();

 private:
  EventBuilder() = default;

  std::shared_ptr<arrow::Schema> schema_;
  std::unique_ptr<arrow::StructBuilder> root_;
  std::unique_ptr<StructWriter> writer_;
  int64_t length_ = 0;
};

/// \brief An event timestamp (see above) in microseconds; false if the
/// value is not one. `is_null` is set for JSON null.
Status EventTimestampMicros(od::value v, int64_t* micros, bool* is_null);

}  // namespace sluice::formats::json
