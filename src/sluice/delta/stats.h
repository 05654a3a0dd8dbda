// Per-file statistics for `add.stats` (PROTOCOL.md "Per-file Statistics"),
// accumulated over all the record batches written into one data file, in the
// shape Spark writes:
//   {"numRecords":N,"minValues":{...},"maxValues":{...},"nullCount":{...}}
// Struct columns become nested JSON objects in all three maps.
//
// Which columns: leaves are counted depth-first in schema order, a struct
// contributing its leaves and every other column (array, map, primitive)
// counting as one leaf, as Spark does for delta.dataSkippingNumIndexedCols.
// Only the first `num_indexed_cols` leaves get stats (negative = all).
//
// nullCount: every indexed leaf, and arrays/maps as a whole. A row whose
// enclosing struct is null counts as null for each of the struct's leaves.
//
// minValues/maxValues (omitted for a column with no non-null value):
//  - integers, floats: JSON numbers. uint64 is written exactly.
//  - float/double: NaN values are not comparable; if a column holds any NaN,
//    its min and max are both omitted (a reader then cannot skip the file on
//    that column, which is always safe). +-Infinity cannot be written in
//    JSON, so a min or max that is infinite is omitted too.
//  - decimals: JSON numbers written from the decimal's exact text (e.g.
//    123.45, never through a double).
//  - date: "YYYY-MM-DD".
//  - timestamp: "YYYY-MM-DDTHH:MM:SS.mmmZ" (timestamp_ntz: without 'Z').
//    Delta stats carry milliseconds, so the min is rounded down and the max
//    rounded UP to the millisecond: every value v in the file satisfies
//    min <= v <= max even for sub-millisecond values (Spark truncates the max
//    and compensates at read time; rounding up is safe for every reader).
//  - string: the min is the prefix of `string_prefix_length` code points
//    (never splitting a UTF-8 sequence), which is <= the true min. The max,
//    when longer than the prefix, is cut after the prefix and given a
//    tie-breaker (as Delta/Spark do): if the next code point is below 0x7F,
//    append 0x7F; otherwise skip over any U+10FFFF code points and append
//    U+10FFFF. Comparing in UTF-8 bytes (= code point order) the result is
//    > the true max. If no cut is possible within 2x the prefix length the
//    max is omitted. Strings that are not valid UTF-8 get no min/max.
//  - boolean, binary, arrays, maps, and Arrow-only types: no min/max.
// Dictionary-encoded columns are handled through their dictionaries.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::delta {

struct StatsOptions {
  /// delta.dataSkippingNumIndexedCols; negative means every column.
  int32_t num_indexed_cols = 32;
  /// Code points kept of string min/max values.
  int32_t string_prefix_length = 32;
};

/// Accumulates statistics over the batches written into one data file.
class StatsCollector {
 public:
  explicit StatsCollector(std::shared_ptr<arrow::Schema> schema, StatsOptions options = {});
  ~StatsCollector();
  StatsCollector(StatsCollector&&) noexcept;
  StatsCollector& operator=(StatsCollector&&) noexcept;

  /// Adds one batch; its columns must have the collector's schema types.
  Status Update(const arrow::RecordBatch& batch);

  /// The stats JSON for everything seen so far.
  std::string ToJson() const;

  int64_t num_records() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct FileStatsSummary {
  int64_t num_records;
};

/// numRecords from an `add.stats` JSON text; nullopt if the field is absent.
/// Malformed JSON is an error.
Result<std::optional<int64_t>> NumRecordsFromStats(std::string_view stats_json);

}  // namespace sluice::delta
