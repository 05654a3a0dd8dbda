// Renders one Avro value as JSON text, straight from the binary encoding.
// Used where the Arrow mapping cannot go: a record nested inside itself
// deeper than AvroArrowOptions::max_recursion.
//
// The JSON is the value as a reader would see it, not Avro's JSON encoding:
// unions are unwrapped (the branch's value only), records and maps are
// objects, arrays are arrays, enums their symbol, bytes and fixed a string
// whose code points 0-255 are the bytes (as in Avro's JSON encoding), decimals
// a decimal string ("12.30"), NaN / infinities the strings "NaN",
// "Infinity", "-Infinity". Other logical types are rendered as their
// underlying value (timestamps as integers in their own unit).
#pragma once

#include <string>

#include "sluice/formats/avro/avro_schema.h"
#include "sluice/formats/avro/binary_cursor.h"

namespace sluice::formats::avro {

/// \brief Appends the JSON of the value of type `node` at `in` to `out`.
/// Errors on malformed input or nesting deeper than kMaxJsonDepth.
Status RenderJson(const AvroNode* node, BinaryCursor& in, std::string* out);

constexpr int kMaxJsonDepth = 256;

/// \brief Appends `s` as a JSON string literal (escaping quotes, controls and,
/// when `latin1`, every byte >= 0x80 as \u00XX).
void AppendJsonString(std::string_view s, bool latin1, std::string* out);

}  // namespace sluice::formats::avro
