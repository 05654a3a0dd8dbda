// Timestamps and dates written as text. Datastream JSON files carry
// read_timestamp / source_timestamp as "2021-12-25 05:42:04.408" and as
// "2021-12-25T05:42:04.408Z"; pinned payload columns may hold either, or a
// UTC offset. Parsed by hand: strptime is locale- and TZ-dependent and slow.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::formats::json {

/// A point in time: whole seconds since the epoch (UTC) plus nanoseconds.
struct TimePoint {
  int64_t seconds = 0;
  int32_t nanos = 0;  // 0..999'999'999
};

/// \brief Accepts YYYY-MM-DD, optionally followed by ('T'|'t'|' ')
/// HH:MM[:SS[.fraction of 1-9 digits]], optionally followed by 'Z', 'z',
/// " UTC", or an offset +HH, +HH:MM, +HHMM (also '-'). No zone means UTC.
/// Fields are range-checked (Feb 30 is refused; leap second 60 is refused).
bool ParseTimePoint(std::string_view s, TimePoint* out);

/// \brief Days since 1970-01-01 for YYYY-MM-DD (nothing else).
bool ParseDate(std::string_view s, int32_t* days);

/// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t y, int m, int d);

/// \brief The TimePoint in `units_per_second` units (1, 1e3, 1e6, 1e9),
/// truncated toward the past below the unit. False on int64 overflow.
bool TimePointToUnits(const TimePoint& t, int64_t units_per_second, int64_t* out);

}  // namespace sluice::formats::json
