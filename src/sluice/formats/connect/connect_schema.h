// Kafka Connect schemas (org.apache.kafka.connect.data.Schema) as Kafka
// Connect's JsonConverter writes them next to each payload
// ({"schema": {...}, "payload": ...}), and how they map to Arrow. Debezium's
// events are Connect records, so this mapping is the one every Debezium
// column goes through; the Avro route (AvroConverter's `connect.name` /
// `connect.parameters`) is meant to build the same ConnectSchema and share
// it.
//
//   Connect type / logical name             Arrow                JSON payload
//   ---------------------------             -----                ------------
//   int8, int16, int32, int64               int8..int64          number
//   float, double                           float32, float64     number, "NaN",
//                                                                "Infinity"
//   boolean                                 bool                 true/false
//   string                                  utf8                 string
//   bytes                                   binary               base64 string
//   array<T>                                list<T>              array
//   map<string, V>                          map<utf8, V>         object
//   map<K, V> (K not string)                map<K, V>            [[k, v], ...]
//   struct                                  struct               object
//   ...Decimal (bytes; scale,               decimal128(p, s),    base64 of the
//     connect.decimal.precision = p)        p = 38 when absent;  big-endian two's
//                                           p > 38: utf8 text    complement unscaled
//                                           or decimal128(38,s)  value, or a number
//                                           (DecimalOverflow)    (decimal.format=
//                                                                NUMERIC)
//   ...connect.data.Date, debezium Date     date32               days (int32)
//   ...connect.data.Time, debezium Time     time64(us)           ms (int32)
//   io.debezium.time.MicroTime              time64(us)           us (int64)
//   io.debezium.time.NanoTime               time64(ns)           ns (int64)
//   ...connect.data.Timestamp               timestamp(us, UTC)   ms (int64)
//   io.debezium.time.Timestamp              timestamp(us)        ms (int64), no zone
//   io.debezium.time.MicroTimestamp         timestamp(us)        us (int64), no zone
//   io.debezium.time.NanoTimestamp          timestamp(ns)        ns (int64), no zone
//   io.debezium.time.ZonedTimestamp         timestamp(us, UTC)   ISO-8601 string
//                                                                with offset
//   io.debezium.time.ZonedTime              utf8                 string as is
//   io.debezium.time.Interval               utf8                 ISO-8601 duration
//   io.debezium.time.MicroDuration          int64 (us)           number
//   io.debezium.time.Year                   int32                number
//   io.debezium.data.VariableScaleDecimal   utf8 (exact decimal  {"scale": s,
//     (struct scale + value)                text, e.g. "-12.50") "value": base64}
//   io.debezium.data.Json, Xml, Uuid,       utf8                 string as is
//     Enum, EnumSet, Ltree
//   io.debezium.data.Bits                   binary               base64 string
//   geometry (Geometry, Geography, Point)   struct{wkb binary,   object
//                                           srid int32, ...}
//   any other name                          by its type          by its type
//
// Nullability: an `optional` schema is nullable; a null for a required one
// is an error for that record. Timestamps without a zone stay zone-less
// (Arrow timestamp without tz, Delta TIMESTAMP_NTZ): Debezium writes
// PostgreSQL `timestamp` / MySQL DATETIME as local wall-clock values.
#pragma once

#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::formats::connect {

enum class ConnectType {
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kBoolean,
  kString,
  kBytes,
  kArray,
  kMap,
  kStruct,
};

/// The logical types the mapping knows (by `name`); kNone: by the type.
enum class LogicalType {
  kNone,
  kDecimal,
  kDate,
  kTimeMillis,
  kTimeMicros,
  kTimeNanos,
  kTimestampMillisUtc,  // org.apache.kafka.connect.data.Timestamp
  kTimestampMillis,     // io.debezium.time.Timestamp (no zone)
  kTimestampMicros,
  kTimestampNanos,
  kZonedTimestamp,
  kVariableScaleDecimal,
};

/// Connect's type name as JsonConverter spells it ("int32", "struct").
std::string_view ConnectTypeName(ConnectType t);

struct ConnectSchema;
using ConnectSchemaPtr = std::shared_ptr<const ConnectSchema>;

struct ConnectField {
  std::string name;
  ConnectSchemaPtr schema;
};

/// One node of a Connect schema.
struct ConnectSchema {
  ConnectType type = ConnectType::kString;
  bool optional = false;
  std::string name;  ///< logical/record name ("io.debezium.time.Date"), may be empty
  int32_t version = 0;
  std::map<std::string, std::string> parameters;
  std::vector<ConnectField> fields;  ///< struct
  ConnectSchemaPtr items;            ///< array
  ConnectSchemaPtr keys, values;     ///< map
  LogicalType logical = LogicalType::kNone;
  int32_t precision = 0;  ///< decimal: connect.decimal.precision (0: absent)
  int32_t scale = 0;      ///< decimal: scale

  /// The field named `name`, or nullptr.
  const ConnectField* Field(std::string_view name) const;
};

/// What a Decimal with precision above 38 becomes.
enum class DecimalOverflow {
  kString,     ///< utf8, the exact value as text (default)
  kDecimal38,  ///< decimal128(38, s); a value that does not fit is an error
};

struct ConnectArrowOptions {
  DecimalOverflow decimal_overflow = DecimalOverflow::kString;
};

/// \brief Parses a JsonConverter schema (the value of `"schema"`). Invalid
/// on unknown types, a struct without `fields`, an array without `items`, a
/// map without `keys`/`values`, a Decimal without a usable `scale`, or
/// nesting deeper than kMaxDepth.
Result<ConnectSchemaPtr> ParseConnectSchema(std::string_view json_text);

/// \brief The Arrow type of a schema node (the table above).
Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(const ConnectSchema& schema,
                                                      const ConnectArrowOptions& opts);

/// \brief The Arrow field of a struct member (nullable when optional).
Result<std::shared_ptr<arrow::Field>> ArrowFieldFor(const ConnectField& field,
                                                    const ConnectArrowOptions& opts);

inline constexpr int kMaxDepth = 64;

}  // namespace sluice::formats::connect
