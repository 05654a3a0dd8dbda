// Partition values as text (PROTOCOL.md "Partition Value Serialization"):
// the strings stored in add.partitionValues, and the Hive-style escaping of
// the `column=value` directory names that Spark uses for partitioned tables.
//
// Encodings (SerializePartitionValue; ParsePartitionValue accepts the same):
//   string       raw UTF-8. An empty string serializes as null (nullopt), as
//                Spark does: Hive-style directories cannot hold "".
//   binary       the raw bytes (JSON escaping happens at the JSON layer).
//   boolean      "true" / "false" (parse is case-insensitive).
//   integers     decimal digits, e.g. "-42".
//   float/double shortest text that round-trips, "NaN", "Infinity",
//                "-Infinity".
//   decimal      plain notation with exactly `scale` fraction digits,
//                e.g. "-0.050" for decimal(p,3); parse accepts any notation
//                Arrow's decimal parser does, rescaled without loss.
//   date         "YYYY-MM-DD".
//   timestamp    UTC "YYYY-MM-DD HH:MM:SS" plus ".ffffff" when the value has
//                a sub-second part (".fffffffff" if it needs nanoseconds).
//                Parse also accepts 'T' for the space, 1..9 fraction digits,
//                and (timestamp with tz only) a 'Z' or ±HH:MM / ±HHMM offset.
//   timestamp_ntz the same text, read and written as wall-clock time; an
//                offset or 'Z' is rejected.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::delta {

/// Directory name used for a null partition value: `col=__HIVE_DEFAULT_PARTITION__`.
inline constexpr std::string_view kHiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__";

/// The partition value of `array[row]`; nullopt for null (and for ""). Works
/// on dictionary arrays. NotImplemented for types with no encoding.
Result<std::optional<std::string>> SerializePartitionValue(const arrow::Array& array, int64_t row);

/// A scalar of `type` from its serialized form. nullopt, and "" for any type
/// other than string/binary, give a null scalar of `type`.
Result<std::shared_ptr<arrow::Scalar>> ParsePartitionValue(
    const std::optional<std::string>& value, const std::shared_ptr<arrow::DataType>& type);

/// Escapes a partition column name or value for a directory name, as
/// Spark/Hive do: the ASCII control characters, DEL, and
/// " # % ' * / : = ? \ { [ ] ^ become %XX (uppercase hex); everything else,
/// including non-ASCII UTF-8, is kept. (NUL is escaped too, unlike Spark,
/// since no file system accepts it.)
std::string EscapePartitionPathSegment(std::string_view segment);

/// Reverses EscapePartitionPathSegment (any %XX is decoded; a '%' not
/// followed by two hex digits is kept as is, as Spark does).
std::string UnescapePartitionPathSegment(std::string_view segment);

/// "column=value" with both parts escaped; a null value gives
/// "column=__HIVE_DEFAULT_PARTITION__".
std::string PartitionPathSegment(std::string_view column, const std::optional<std::string>& value);

}  // namespace sluice::delta
