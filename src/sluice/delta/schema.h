// Arrow schema <-> Delta schema JSON (the `schemaString` of a metaData
// action, PROTOCOL.md "Schema Serialization Format"). Delta is the contract
// on disk; Arrow is what the rest of Sluice speaks, so every table schema
// crosses this boundary in both directions.
//
// Delta -> Arrow:
//   boolean->bool, byte->int8, short->int16, integer->int32, long->int64,
//   float->float32, double->float64, decimal(p,s)->decimal128(p,s) (p<=38;
//   bare "decimal" is decimal(10,0) as in Spark), string->utf8,
//   binary->binary, date->date32, timestamp->timestamp(us,"UTC"),
//   timestamp_ntz->timestamp(us), struct->struct,
//   array->list<element: T, nullable=containsNull>,
//   map->map<key: K not null, value: V nullable=valueContainsNull>.
//   "variant" and unknown type names are errors naming the column.
// Arrow -> Delta: the above, plus int8/16/32/64 and uint8->short,
//   uint16->integer, uint32->long, uint64->decimal(20,0), float16->float,
//   decimal256 (p<=38)->decimal, large_utf8/string_view->string,
//   large_binary/fixed_size_binary/binary_view->binary, date64->date,
//   timestamp of any unit (with any tz -> timestamp, without -> timestamp_ntz),
//   large_list/fixed_size_list->array, dictionary->its value type. Anything
//   else is NotImplemented naming the column path and the type.
//
// Column metadata: a Delta field's "metadata" object maps to the Arrow
// field's KeyValueMetadata, in order. A JSON string value is stored raw under
// its key. Any other JSON value (number, bool, null, object, array) is stored
// as its compact JSON text under kDeltaJsonMetadataPrefix + key, so that
// Delta -> Arrow -> Delta reproduces the same JSON values. On Arrow -> Delta,
// keys with the prefix are parsed back as JSON (invalid JSON is an error);
// all other keys become JSON strings.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::delta {

/// Prefix of Arrow field-metadata keys whose value is JSON text of a
/// non-string Delta column-metadata value, e.g.
/// "sluice.json:delta.columnMapping.id" -> "5".
inline constexpr std::string_view kDeltaJsonMetadataPrefix = "sluice.json:";

/// Parses a Delta schemaString (a struct type JSON) into an Arrow schema.
Result<std::shared_ptr<arrow::Schema>> SchemaFromDeltaJson(std::string_view schema_string);

/// Serializes an Arrow schema as a Delta schemaString (compact JSON, keys in
/// Spark's order: name, type, nullable, metadata).
Result<std::string> SchemaToDeltaJson(const arrow::Schema& schema);

/// One Delta data type (a string such as "long" or an object for
/// struct/array/map) to Arrow. `column_path` names the column in errors.
Result<std::shared_ptr<arrow::DataType>> ArrowTypeFromDeltaType(const nlohmann::ordered_json& type,
                                                                std::string_view column_path);

/// One Arrow data type to its Delta JSON form.
Result<nlohmann::ordered_json> DeltaTypeFromArrowType(const arrow::DataType& type,
                                                      std::string_view column_path);

/// True if any field, at any depth (struct children, list elements, map
/// keys/values, dictionary values), is a timestamp without time zone; such a
/// table needs the `timestampNtz` table feature.
bool SchemaUsesTimestampNtz(const arrow::Schema& schema);

}  // namespace sluice::delta
