// Pinned payload types: the caller knows a column's real type (from the
// source database's schema, or from the Avro files of the same stream) and
// the JSON value is converted to it instead of inferred. Conversions are
// exact; a value that does not convert is an error for that event (it goes
// to the bad records with the reason), never a silent null or a rounding.
//
//   target                         accepted JSON values
//   ------                         --------------------
//   bool                           true/false; 0/1; "true"/"false"/"0"/"1"
//   int8..int64, uint8..uint64     integer-valued numbers in range (1e3 and
//                                  7.0 are fine, 7.5 is not), or such a
//                                  number as a string
//   float32, float64               numbers or numeric strings (nearest
//                                  value); "NaN", "Infinity", "-Infinity"
//   decimal128(p,s)                numbers or numeric strings that fit
//                                  exactly (12.340 fits (p,2); 12.345 not)
//   utf8, large_utf8               strings as is; other values as JSON text
//   binary, large_binary           strings, their UTF-8 bytes
//   date32                         "YYYY-MM-DD"; integers (days since epoch)
//   timestamp(unit[, tz])          timestamp strings (timestamp_text.h;
//                                  sub-unit digits truncated); integers,
//                                  taken as already in `unit` since epoch
// JSON null is null for every target. Other targets are refused by Open().
#pragma once

#include <arrow/type_fwd.h>

#include "sluice/formats/json/json_value.h"

namespace sluice::formats::json {

/// \brief OK when ConvertPinned supports `type`; otherwise NotImplemented
/// naming it.
Status CheckPinnedSupported(const arrow::DataType& type);

/// \brief Converts one value (JSON null -> null) and appends it to `builder`,
/// which must have been made for `type`. With builder == nullptr only checks
/// that the value converts. ContentError when it does not.
Status ConvertPinned(od::value v, const arrow::DataType& type, arrow::ArrayBuilder* builder);

}  // namespace sluice::formats::json
