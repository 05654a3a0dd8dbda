// Proleptic-Gregorian calendar helpers shared by the Delta text encodings of
// dates and timestamps (file statistics and partition values). Epoch-based
// integers in, fixed-width text out, and back; years are limited to
// 0000..9999 because that is what the four-digit formats can express.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/arrow_util.h"  // TicksPerSecond
#include "sluice/core/status.h"

namespace sluice::delta {

/// Floor division (rounds toward negative infinity); `d` > 0.
constexpr int64_t FloorDiv(int64_t n, int64_t d) {
  int64_t q = n / d;
  return (n % d != 0 && n < 0) ? q - 1 : q;
}

/// Days since 1970-01-01 -> "YYYY-MM-DD". Error outside years 0000..9999.
Result<std::string> FormatDate(int64_t days_since_epoch);

/// "YYYY-MM-DD" -> days since 1970-01-01. Error on malformed or invalid dates.
Result<int64_t> ParseDate(std::string_view text);

/// Nanoseconds within a day -> "HH:MM:SS" followed by '.' and the first
/// `fraction_digits` (0..9) digits of the second's fraction if > 0.
std::string FormatTimeOfDay(int64_t nanos_of_day, int fraction_digits);

}  // namespace sluice::delta
