// JSON numbers read from their text, never through a double: a Datastream
// DECIMAL(7,2) value written as 12345.67 must come back as exactly 1234567
// at scale 2. The decoder keeps the token text (simdjson's raw token) and uses
// these helpers both to infer a column's type and to convert each value.
#pragma once

#include <arrow/util/decimal.h>

#include <cstdint>
#include <string_view>

namespace sluice::formats::json {

/// The parts of a JSON number token (RFC 8259 grammar:
/// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
struct NumberText {
  bool negative = false;
  std::string_view int_digits;   // as written; "0" or starts with 1-9
  std::string_view frac_digits;  // after '.', empty when there is none
  int64_t exponent = 0;          // the e-part, clamped to +-1e6
  bool has_dot = false;
  bool has_exponent = false;

  /// An integer token: no fraction and no exponent.
  bool is_integer() const { return !has_dot && !has_exponent; }
};

/// \brief Splits a number token. `text` may carry trailing JSON whitespace
/// (simdjson tokens do); anything else after the number makes it invalid.
/// Returns false when the text is not a JSON number.
bool ScanNumber(std::string_view text, NumberText* out);

/// The trimmed token text (trailing whitespace removed).
std::string_view TrimNumberToken(std::string_view text);

/// Smallest decimal that holds a value exactly, as written: trailing zeros
/// of the fraction count (12.50 needs scale 2).
struct DecimalShape {
  int32_t int_digits = 0;  // significant digits left of the point
  int32_t scale = 0;       // digits right of the point
};
DecimalShape ShapeOf(const NumberText& n);

/// \brief Plain integer token -> int64; false on overflow.
bool IntegerToInt64(const NumberText& n, int64_t* out);

/// \brief Exact conversion to an unscaled decimal at `scale` whose magnitude
/// is below 10^precision (precision <= 38). Digits that would be dropped must
/// be zeros; nothing is rounded. False when the value does not fit.
bool ToDecimal128(const NumberText& n, int32_t precision, int32_t scale, arrow::Decimal128* out);

/// \brief Exact conversion to an integer in [min, max] (1e3 and 7.0 are
/// integers; 7.5 is not).
bool ToInteger(const NumberText& n, int64_t min, int64_t max, int64_t* out);

/// \brief Correctly rounded double (std::from_chars). Values beyond the
/// double range become +-infinity or +-0, like Python's json module.
double ToDouble(std::string_view token);

}  // namespace sluice::formats::json
