// Datastream "unified types" -> Arrow types a Delta table can store.
//
// The Avro decoder maps Datastream's writer schema literally
// (formats/avro/arrow_mapping.h), so a payload column can arrive as an Arrow
// type Delta has no equivalent for (time64, a null column, uint64, ...) or as
// one of Datastream's custom records (timestampTz, varchar, ...) whose
// meaning is a single value. ToDeltaStorable rewrites one payload column,
// recursively through structs, lists and maps, so that
// delta::DeltaTypeFromArrowType always accepts the result:
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
//   time32 / time64 (TIME)                        utf8 "[-]HH:MM:SS[.ffffff]";
//                                                 hours may exceed 23 (MySQL
//                                                 TIME spans +-838 h); 9
//                                                 fraction digits only for
//                                                 nanoseconds that are not
//                                                 whole microseconds
//   duration(s|ms|us)                             int64 microseconds
//   duration(ns)                                  int64 nanoseconds (exact)
//   interval months                               int32 months
//   interval day-time                             int64 microseconds (a day
//                                                 counted as 86400 s)
//   interval month-day-nano                       struct{months int32, days
//                                                 int32, nanoseconds int64}
//   uint8 / uint16 / uint32                       int16 / int32 / int64
//   uint64                                        decimal128(20, 0)
//   null                                          unchanged (type unknown: the pipeline
//                                                 adds the column once it has one)
//   fixed_size_binary                             binary
//   decimal256 with precision <= 38               decimal128, same (p, s)
//   decimal with precision > 38 or scale < 0      utf8, the exact decimal text
//   dictionary<V> with V needing a change         V converted
//   extension                                     its storage, converted
//   anything else                                 unchanged
//
// The records are recognised by shape (exactly these two field names), not
// by Avro record name, which the Arrow type does not keep: relational
// sources never produce other structs. time-interval-micros (TIME_INTERVAL)
// and number already decode to int64 / decimal; INTERVAL, calendarDate and
// year records are plain structs of integers and stay structs.
//
// A row whose value cannot be carried by the output type is reported in
// `unrepresentable` (the caller dead-letters it; its converted value is not
// meaningful):
// a PostgreSQL array of two or more dimensions (the column is list<T>;
// Datastream does not say an array's dimension in the schema, so the type
// cannot depend on it), an array value without `nestedArray`, or a datetime
// beyond the int64 microsecond range.
//
// Work is per column with typed loops or Arrow casts; instants are integer
// arithmetic, never floating point.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources::datastream {

struct UnrepresentableRow {
  int64_t row = 0;
  std::string reason;
};

struct StorableColumn {
  std::shared_ptr<arrow::Field> field;              // same name, nullability, metadata
  std::shared_ptr<arrow::Array> values;             // same length as the input
  std::vector<UnrepresentableRow> unrepresentable;  // ascending rows
};

/// \brief True if `type`, at any depth, is not what ToDeltaStorable returns
/// (so the column would be rewritten).
bool NeedsDeltaConversion(const arrow::DataType& type);

/// \brief Rewrites one payload column by the table above. Fails only on
/// allocation failure or a cast Arrow refuses (an instant in seconds or
/// milliseconds beyond the int64 microsecond range).
Result<StorableColumn> ToDeltaStorable(const std::shared_ptr<arrow::Field>& field,
                                       const std::shared_ptr<arrow::Array>& values);

}  // namespace sluice::sources::datastream
