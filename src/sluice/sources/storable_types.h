// Arrow types a Delta table can store, for every source. Decoders map a
// source's types literally, so a payload column can arrive as an Arrow type
// Delta has no equivalent for (time64, uint64, a duration, ...).
// ToDeltaStorable rewrites one payload column, recursively through structs,
// lists and maps, so that delta::DeltaTypeFromArrowType always accepts the
// result:
//
//   Arrow in                                      Arrow out
//   --------                                      ---------
//   time32 / time64 (TIME)                        utf8 "[-]HH:MM:SS[.ffffff]";
//                                                 hours may exceed 23 (MySQL
//                                                 TIME spans +-838 h); 9
//                                                 fraction digits only for
//                                                 nanoseconds that are not
//                                                 whole microseconds
//                                                 (time_text.h)
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
//   a struct a source recognises (StorableStructs) the source's form
//   anything else                                 unchanged
//
// A source whose own records carry one value each (Datastream's unified
// types: sources/datastream/unified_types.h) passes a StorableStructs that
// replaces them, at any depth. A row whose value cannot be carried by the
// output type is reported in `unrepresentable` (the caller dead-letters it;
// its converted value is not meaningful).
//
// Work is per column with typed loops or Arrow casts; instants are integer
// arithmetic, never floating point.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources {

struct UnrepresentableRow {
  int64_t row = 0;
  std::string reason;
};

struct StorableColumn {
  std::shared_ptr<arrow::Field> field;              // same name, nullability, metadata
  std::shared_ptr<arrow::Array> values;             // same length as the input
  std::vector<UnrepresentableRow> unrepresentable;  // ascending rows
};

/// Why each element of an array being converted cannot be stored: a static
/// text ("holds a ..."), or null when it can.
using RowProblems = std::vector<const char*>;

/// Converts a nested array by the table above (with the same
/// StorableStructs); `problems` has one entry per element, all null on entry.
using ConvertNested = std::function<Result<std::shared_ptr<arrow::Array>>(
    const std::shared_ptr<arrow::Array>&, RowProblems*)>;

/// A source's struct types that each carry one value, replaced as a whole
/// instead of field by field.
class StorableStructs {
 public:
  virtual ~StorableStructs() = default;
  /// True if `type` (a struct) is one of them.
  virtual bool Recognises(const arrow::DataType& type) const = 0;
  /// The storable form of `s`, whose type Recognises; sets problems[i] for a
  /// row the form cannot carry (`problems` has s.length() entries).
  virtual Result<std::shared_ptr<arrow::Array>> Convert(const arrow::StructArray& s,
                                                        const ConvertNested& convert,
                                                        RowProblems* problems) const = 0;
};

/// \brief True if `type`, at any depth, is not what ToDeltaStorable returns
/// (so the column would be rewritten).
bool NeedsDeltaConversion(const arrow::DataType& type, const StorableStructs* structs = nullptr);

/// \brief Rewrites one payload column by the table above; `structs` (may be
/// null) names the source's own records. Fails only on allocation failure or
/// a cast Arrow refuses (an instant in seconds or milliseconds beyond the
/// int64 microsecond range).
Result<StorableColumn> ToDeltaStorable(const std::shared_ptr<arrow::Field>& field,
                                       const std::shared_ptr<arrow::Array>& values,
                                       const StorableStructs* structs = nullptr);

}  // namespace sluice::sources
