// Avro schema (specification 1.11, "Schema Declaration"): the JSON text of a
// writer schema parsed into a graph of nodes. Named types (record, enum,
// fixed) are defined once and referenced by full name afterwards, so the graph
// can be recursive (a record may contain itself through a union or an array):
// consumers must not assume it is a tree.
//
// Logical types are attached to the node they annotate. An unknown logical
// type, or one that does not fit its underlying type (time-millis on a long,
// decimal with scale > precision), is ignored as the specification demands:
// the node is read as its underlying type. Datastream's
// {"type":"string","logicalType":"number"} is recognised as kNumber.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::formats::avro {

enum class AvroType {
  kNull,
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kBytes,
  kString,
  kRecord,
  kEnum,
  kArray,
  kMap,
  kFixed,
  kUnion,
};

enum class LogicalType {
  kNone,
  kDecimal,               // bytes or fixed
  kDate,                  // int
  kTimeMillis,            // int
  kTimeMicros,            // long
  kTimestampMillis,       // long
  kTimestampMicros,       // long
  kTimestampNanos,        // long (Avro 1.12)
  kLocalTimestampMillis,  // long
  kLocalTimestampMicros,  // long
  kLocalTimestampNanos,   // long (Avro 1.12)
  kUuid,                  // string
  kNumber,                // string: Datastream's arbitrary-precision number
};

/// \brief Name of an Avro type as the specification spells it ("long", "record").
std::string_view AvroTypeName(AvroType t);

struct AvroNode;

struct AvroField {
  std::string name;
  const AvroNode* type = nullptr;
};

/// \brief One node of the schema graph. Which members are meaningful depends
/// on `type`. Nodes are owned by the AvroSchema that created them.
struct AvroNode {
  AvroType type = AvroType::kNull;
  LogicalType logical = LogicalType::kNone;
  int32_t precision = 0;                  // decimal
  int32_t scale = 0;                      // decimal
  std::string name;                       // named types: the simple name
  std::string full_name;                  // named types: namespace + "." + name
  std::vector<AvroField> fields;          // record
  std::vector<std::string> symbols;       // enum
  int64_t fixed_size = 0;                 // fixed
  const AvroNode* items = nullptr;        // array items, map values
  std::vector<const AvroNode*> branches;  // union

  bool is_named() const {
    return type == AvroType::kRecord || type == AvroType::kEnum || type == AvroType::kFixed;
  }
};

/// \brief A parsed writer schema. Immutable once built; movable, not copyable
/// (nodes point at each other).
class AvroSchema {
 public:
  /// \brief Parses schema JSON. Errors (bad JSON, unknown type names, duplicate
  /// names, unions nested in unions, nesting deeper than kMaxDepth) are Invalid.
  static Result<std::shared_ptr<AvroSchema>> Parse(std::string_view json_text);

  const AvroNode* root() const { return root_; }
  const std::string& json() const { return json_; }

  /// Schemas from files are untrusted: bound recursion in the parser.
  static constexpr int kMaxDepth = 200;
  /// ...and the number of nodes (a schema is tiny next to this).
  static constexpr size_t kMaxNodes = 100000;

 private:
  friend class SchemaParser;
  AvroSchema() = default;

  std::vector<std::unique_ptr<AvroNode>> nodes_;
  const AvroNode* root_ = nullptr;
  std::string json_;
};

}  // namespace sluice::formats::avro
