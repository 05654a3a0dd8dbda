// Kafka messages written by Confluent's AvroConverter (Debezium's Avro
// output: Confluent-framed Avro binary, the writer schema in a schema
// registry) into Arrow record batches of exactly the shape and types
// JsonRecordReader produces for the same Connect schema: one column per field
// of the top-level record, every column typed by the Connect → Arrow table
// (formats/connect/connect_schema.h) through the Connect schema the Avro
// schema carries (formats/connect/avro_connect_schema.h). The source
// normalizes both readers' DecodedRecords alike.
//
// Per message: Unframe (formats/confluent/wire_format.h: magic 0 + id, magic
// 1 + GUID, or a `__value_schema_id` header), the writer schema from the
// injected resolver (formats/ does no I/O: the source passes its schema
// registry client), compiled once per SchemaRef (and once per schema text),
// then the Avro binary payload decoded in two passes (check, then append) so
// that a bad message never leaves a half row.
//
// Conversions beyond Avro's own types (the Connect logical names):
//   int  + Connect Date / io.debezium.time.Date       date32 (days)
//   int  + Connect Time / io.debezium.time.Time       time64(us), ms x 1000
//   long + io.debezium.time.MicroTime / NanoTime      time64(us / ns)
//   long + Connect Timestamp                          timestamp(us, UTC), ms x 1000
//   long + io.debezium.time.Timestamp                 timestamp(us), ms x 1000
//   long + io.debezium.time.Micro/NanoTimestamp       timestamp(us / ns), no zone
//   string + io.debezium.time.ZonedTimestamp          timestamp(us, UTC), parsed
//   bytes + Connect Decimal                           decimal128(p, s) exact, or
//                                                     text / decimal(38, s) above
//                                                     38 digits (DecimalOverflow)
//   record io.debezium.data.VariableScaleDecimal      exact decimal text
//   int + connect.type int8 / int16                   int8 / int16 (range checked)
//   enum                                              utf8 (the symbol)
//   map (string keys), array of MapEntry              map<K, V>
//
// Outcomes per message:
//   null value                              a tombstone (also a root union's
//                                           null branch)
//   decoded                                 a row of the current run
//   bad framing, an unknown schema id       a bad message with the reason
//   (the resolver's KeyError), a schema
//   that is not a Connect struct, truncated
//   Avro, trailing bytes, a value that does
//   not fit its type
//   any other resolver error                Decode returns it (the unit is
//                                           retried: the registry is down)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/formats/confluent/wire_format.h"
#include "sluice/formats/connect/connect_schema.h"
#include "sluice/formats/debezium/decoded_records.h"

namespace sluice::formats::debezium {

/// The writer schema's Avro JSON text for a reference. KeyError: the registry
/// does not know it (the message is bad); any other error fails Decode.
using SchemaResolver = std::function<Result<std::string>(const confluent::SchemaRef& schema)>;

/// A writer schema with the texts of the schemas it references by name (the
/// registry's schema references, resolved by the caller, dependencies
/// first).
struct WriterSchema {
  std::string text;
  std::vector<std::string> references;
};

/// As SchemaResolver, for registries whose schemas have references.
using WriterSchemaResolver =
    std::function<Result<WriterSchema>(const confluent::SchemaRef& schema)>;

struct AvroRecordOptions {
  connect::ConnectArrowOptions types;
  /// Messages larger than this are bad.
  size_t max_message_bytes = size_t{64} << 20;
};

/// Decodes Confluent-framed Avro messages; keeps a cache of compiled schemas
/// across calls. Not thread-safe: one per decoding thread.
class AvroRecordReader {
 public:
  explicit AvroRecordReader(SchemaResolver resolver, AvroRecordOptions opts = {});
  explicit AvroRecordReader(WriterSchemaResolver resolver, AvroRecordOptions opts = {});
  ~AvroRecordReader();

  /// \brief Decodes `values` in order (nullopt: a tombstone).
  /// `value_schema_headers`, when not empty, has one entry per value: the
  /// values of that message's `__value_schema_id` headers (null ones left
  /// out), as confluent::Unframe takes them. Runs are consecutive messages
  /// whose writer schemas have the same text. An error only when the
  /// resolver fails otherwise than KeyError, or for a failure of the reader
  /// itself; never for bad input.
  Result<DecodedRecords> Decode(
      const std::vector<std::optional<std::string_view>>& values,
      const std::vector<std::vector<std::string_view>>& value_schema_headers = {});

  /// Distinct schemas (text and references) compiled so far.
  size_t cached_schemas() const { return by_text_.size(); }

 private:
  struct Compiled;
  Result<std::shared_ptr<Compiled>> Resolve(const confluent::SchemaRef& ref);

  WriterSchemaResolver resolver_;
  AvroRecordOptions opts_;
  std::unordered_map<confluent::SchemaRef, std::shared_ptr<Compiled>, confluent::SchemaRefHash>
      by_ref_;
  std::unordered_map<std::string, std::shared_ptr<Compiled>> by_text_;
};

}  // namespace sluice::formats::debezium
