// An Avro writer schema read back as the Kafka Connect schema it carries,
// the way Confluent's AvroConverter (AvroData.toConnectSchema) reads the
// schemas it writes, plus how each node is laid out in Avro's binary
// encoding. Debezium's Avro events are Connect records written by that
// converter, so their columns then go through the same Connect → Arrow
// table (connect_schema.h) as the JSON converter's.
//
//   Avro (as AvroConverter writes it)          Connect
//   ---------------------------------          -------
//   int ("connect.type": "int8" / "int16")     int8 / int16 (else int32)
//   long, float, double, boolean, string       int64, float, double, ...
//   bytes, fixed                               bytes
//   enum                                       string (the symbol)
//   record                                     struct; name = connect.name,
//                                              else the record's full name
//                                              (not io.confluent.connect.avro.
//                                              ConnectDefault*)
//   array                                      array
//   map (string keys)                          map<string, V>
//   array of record io.confluent.connect.      map<K, V> (AvroConverter's
//     avro.MapEntry {key, value}                 form for other key types)
//   union [null, T] or [T, null]               T, optional
//   union [T]                                  T
//   "connect.name", "connect.version",         name, version, parameters,
//     "connect.parameters", "connect.doc"        doc (so io.debezium.time.*,
//                                                Decimal's scale and
//                                                connect.decimal.precision,
//                                                VariableScaleDecimal, ...
//                                                resolve as in JSON)
//   no connect.name, logicalType decimal       Decimal (scale; precision as
//                                              connect.decimal.precision)
//   no connect.name, date / time-millis /      Connect's Date / Time /
//     timestamp-millis                           Timestamp
//
// Refused (Invalid, naming the place): other unions (AvroConverter never
// writes them for Connect data), a bare null type, recursive records (a
// Connect schema is a tree), unknown names, nesting deeper than
// kMaxDepth, an expansion larger than kMaxConnectSchemaBytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/formats/connect/connect_schema.h"

namespace sluice::formats::connect {

/// How one Connect schema node is encoded in Avro binary. The tree runs
/// parallel to the ConnectSchema: a struct's children are its fields in
/// order, an array's its items, a map's its values (kMap) or its entry's
/// key and value (kMapEntries).
struct AvroLayout {
  enum class Kind {
    kBoolean,
    kInt,
    kLong,
    kFloat,
    kDouble,
    kBytes,
    kString,
    kFixed,
    kEnum,
    kRecord,
    kArray,
    kMap,         ///< Avro map: string keys
    kMapEntries,  ///< Avro array of {key, value} records
  };
  Kind kind = Kind::kString;
  /// Number of union branches around the value; 0 when not a union.
  int32_t union_branches = 0;
  int32_t null_branch = -1;  ///< the null branch's index, -1 when none
  int64_t fixed_size = 0;
  std::vector<std::string> symbols;  ///< enum
  /// kMapEntries: the entry record's field order is key first (true) or
  /// value first.
  bool key_first = true;
  std::vector<std::shared_ptr<const AvroLayout>> children;
  /// The least bytes a value occupies (bounds block counts).
  int64_t min_bytes = 0;
};

using AvroLayoutPtr = std::shared_ptr<const AvroLayout>;

struct AvroConnectSchema {
  /// The Connect schema, as ParseConnectSchema reads its JsonConverter form.
  ConnectSchemaPtr schema;
  /// That JsonConverter form ({"type": "struct", ...}).
  std::string connect_json;
  AvroLayoutPtr layout;
};

inline constexpr size_t kMaxConnectSchemaBytes = size_t{4} << 20;

/// \brief Reads an Avro schema's JSON text as the Connect schema
/// AvroConverter wrote it from (table above). `references` are the texts of
/// the schemas it refers to by name (the registry's schema references),
/// dependencies before their dependents: their named types are defined
/// first. Invalid for anything that is not such a schema.
Result<AvroConnectSchema> AvroToConnectSchema(std::string_view avro_schema_json,
                                              const std::vector<std::string>& references = {});

}  // namespace sluice::formats::connect
