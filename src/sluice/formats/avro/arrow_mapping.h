// How Avro types become Arrow types. The decoder (decoder.h) compiles a
// writer schema with these rules; they are written down here once.
//
//   Avro                               Arrow
//   ----                               -----
//   null                               null
//   boolean, int, long                 bool, int32, int64
//   float, double                      float32, float64
//   bytes                              binary
//   string                             utf8 (UTF-8 validated unless disabled)
//   fixed(n)                           fixed_size_binary(n)
//   enum                               utf8 (the symbol)
//   array<T>                           list<T>
//   map<T>                             map<utf8, T>
//   record                             struct (the top-level record's fields
//                                      become the RecordBatch columns; any
//                                      other top-level type is one column
//                                      named "value")
//   union [null, T] / [T, null]        T, nullable
//   union [T]                          T
//   any other union                    struct with one nullable child per
//                                      member, named after the member (type
//                                      name for unnamed types, simple name for
//                                      named ones, full name if two clash);
//                                      exactly one child is set per row; a
//                                      null member makes the struct null.
//                                      (Arrow unions are not representable in
//                                      Delta/Parquet; a struct is.)
//   decimal(p,s) on bytes or fixed     decimal128(p,s), decimal256 if p > 38
//   date                               date32
//   time-millis, time-micros           time64(us)
//   timestamp-millis / -micros         timestamp(us, "UTC")
//   timestamp-nanos                    timestamp(ns, "UTC")
//   local-timestamp-millis / -micros   timestamp(us)
//   local-timestamp-nanos              timestamp(ns)
//   uuid (string)                      utf8
//   number (Datastream, on string)     decimal128(38,0) by default
//                                      (number_precision/number_scale), or
//                                      utf8 with NumberMapping::kString. A
//                                      value that does not fit is an error,
//                                      never rounded.
//   unknown / invalid logical type     the underlying type
//   a record nested in itself more     utf8 holding the value as JSON (see
//   than max_recursion times           json_fallback.h): Arrow types cannot
//                                      be recursive.
//
// Field nullability: only union-with-null, null and fallback-struct members
// are nullable.
#pragma once

#include <cstdint>

namespace sluice::formats::avro {

enum class NumberMapping {
  kDecimal,  // decimal128(number_precision, number_scale)
  kString,   // the text as written
};

struct AvroArrowOptions {
  NumberMapping number = NumberMapping::kDecimal;
  int32_t number_precision = 38;
  int32_t number_scale = 0;
  /// How many times a record may be expanded inside itself before the
  /// innermost occurrence is rendered as JSON text. 1 suits Datastream's
  /// PostgreSQL arrays (`multidimensionalArray_*`): a 1-D array is a list of
  /// structs; deeper dimensions arrive as JSON.
  int max_recursion = 1;
  /// Reject strings that are not valid UTF-8 (Arrow's utf8 type requires it).
  bool validate_utf8 = true;
};

}  // namespace sluice::formats::avro
