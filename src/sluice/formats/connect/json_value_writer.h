// Kafka Connect JsonConverter payloads into Arrow builders: a writer is
// compiled from a ConnectSchema once (connect_schema.h has the type table)
// and appends one JSON value per call.
//
// Values are simdjson On-Demand values, read from their text (numbers never
// through a double). A record is appended in two passes over its document
// so that a bad value never leaves a half-written row: Check() converts
// without writing (TypeError naming the field path and the problem; Invalid
// for a JSON syntax error), then Append() on a rewound document writes what
// Check() accepted. Append() of a value Check() refused is a caller bug.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <string>

#include "sluice/formats/connect/connect_schema.h"
#include "sluice/formats/json/json_value.h"

namespace sluice::formats::connect {

class JsonValueWriter {
 public:
  virtual ~JsonValueWriter() = default;
  /// Converts `v` without writing; an error names the problem.
  virtual Status Check(json::od::value v) const = 0;
  /// Appends `v` (JSON null -> null), which Check() accepted.
  virtual Status Append(json::od::value v) = 0;
  /// Appends a null (an absent field).
  virtual Status AppendNull() = 0;
};

/// \brief A writer for `schema` bound to `builder`, which must have been
/// made (arrow::MakeBuilder) for ArrowTypeFor(schema, opts). `path` names
/// the value in error messages ("after.price").
Result<std::unique_ptr<JsonValueWriter>> MakeJsonValueWriter(const ConnectSchemaPtr& schema,
                                                             arrow::ArrayBuilder* builder,
                                                             const ConnectArrowOptions& opts,
                                                             std::string path);

/// \brief Standard base64 (RFC 4648, with or without padding) as Jackson
/// writes Connect bytes. False on any other character or a bad length.
bool DecodeBase64(std::string_view text, std::string* out);

/// \brief The exact decimal text of an unscaled big-endian two's complement
/// integer of any length at `scale` ("-12.50" for -1250 at scale 2; "0" for
/// no bytes).
std::string DecimalText(std::string_view big_endian, int32_t scale);

}  // namespace sluice::formats::connect
