// Datastream "unified types" -> Arrow types a Delta table can store.
//
// The Avro decoder maps Datastream's writer schema literally
// (formats/avro/arrow_mapping.h), so a payload column can arrive as one of
// Datastream's custom records (timestampTz, varchar, ...) whose meaning is a
// single value, besides the Arrow types Delta has no equivalent for that
// every source meets (time64, uint64, ...: sources/storable_types.h).
// ToDeltaStorable here is that conversion with these records replaced, at
// any depth, so that delta::DeltaTypeFromArrowType always accepts the
// result:
//
//   Arrow in (Datastream unified type)            Arrow out
//   ----------------------------------            ---------
//   struct{timestamp, offset} (timestampTz)       timestamp(us, "UTC") (ns
//                                                 kept as ns): the
//                                                 `timestamp` field, which
//                                                 already is the instant; the
//                                                 offset only names the zone
//                                                 the source wrote it in and
//                                                 is dropped
//   struct{time, offset} (timeTz)                 utf8 "HH:MM:SS[.ffffff]+HH:MM"
//   struct{value, length} (old Oracle varchar)    utf8, the value
//   struct{date, time} (datetime)                 timestamp(us), no zone:
//                                                 date * 86400 s + time
//   struct{nestedArray, elementValue}             list<T>, T = the elements'
//     (multidimensionalArray_*, PostgreSQL         converted elementValue type
//     arrays)
//   anything else                                 as sources/storable_types.h
//
// The records are recognised by shape (exactly these two field names), not
// by Avro record name, which the Arrow type does not keep: relational
// sources never produce other structs. time-interval-micros (TIME_INTERVAL)
// and number already decode to int64 / decimal; INTERVAL, calendarDate and
// year records are plain structs of integers and stay structs.
//
// A row whose value cannot be carried by the output type is reported in
// `unrepresentable` (the caller dead-letters it; its converted value is not
// meaningful): a PostgreSQL array of two or more dimensions (the column is
// list<T>; Datastream does not say an array's dimension in the schema, so
// the type cannot depend on it), an array value without `nestedArray`, or a
// datetime beyond the int64 microsecond range.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>

#include "sluice/core/status.h"
#include "sluice/sources/storable_types.h"

namespace sluice::sources::datastream {

/// Datastream's unified-type records, replaced by the values they carry.
const StorableStructs& UnifiedTypeRecords();

/// \brief True if `type`, at any depth, is not what ToDeltaStorable returns
/// (so the column would be rewritten).
bool NeedsDeltaConversion(const arrow::DataType& type);

/// \brief Rewrites one payload column by the tables above and in
/// sources/storable_types.h. Fails only on allocation failure or a cast
/// Arrow refuses (an instant in seconds or milliseconds beyond the int64
/// microsecond range).
Result<StorableColumn> ToDeltaStorable(const std::shared_ptr<arrow::Field>& field,
                                       const std::shared_ptr<arrow::Array>& values);

}  // namespace sluice::sources::datastream
