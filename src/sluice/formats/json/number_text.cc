#include "sluice/formats/json/number_text.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace sluice::formats::json {

namespace {

constexpr int64_t kExponentClamp = 1000000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The digits of int_digits followed by frac_digits, as one sequence.
struct Digits {
  std::string_view a, b;
  size_t size() const { return a.size() + b.size(); }
  int at(size_t i) const { return (i < a.size() ? a[i] : b[i - a.size()]) - '0'; }
};

using u128 = unsigned __int128;

u128 Pow10(int n) {
  u128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

}  // namespace

std::string_view TrimNumberToken(std::string_view text) {
  while (!text.empty() && IsJsonSpace(text.back())) text.remove_suffix(1);
  return text;
}

bool ScanNumber(std::string_view text, NumberText* out) {
  text = TrimNumberToken(text);
  *out = NumberText{};
  size_t i = 0;
  const size_t n = text.size();
  if (i < n && text[i] == '-') {
    out->negative = true;
    ++i;
  }
  size_t start = i;
  if (i >= n || !IsDigit(text[i])) return false;
  if (text[i] == '0') {
    ++i;
  } else {
    while (i < n && IsDigit(text[i])) ++i;
  }
  out->int_digits = text.substr(start, i - start);
  if (i < n && text[i] == '.') {
    out->has_dot = true;
    start = ++i;
    while (i < n && IsDigit(text[i])) ++i;
    if (i == start) return false;
    out->frac_digits = text.substr(start, i - start);
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    out->has_exponent = true;
    ++i;
    bool neg = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
    start = i;
    int64_t e = 0;
    while (i < n && IsDigit(text[i])) {
      if (e < kExponentClamp) e = e * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start) return false;
    out->exponent = neg ? -e : e;
  }
  return i == n;
}

DecimalShape ShapeOf(const NumberText& n) {
  Digits d{n.int_digits, n.frac_digits};
  size_t lead = 0;
  while (lead < d.size() && d.at(lead) == 0) ++lead;
  const int64_t significant = static_cast<int64_t>(d.size() - lead);
  const int64_t e = n.exponent - static_cast<int64_t>(n.frac_digits.size());
  DecimalShape s;
  // Clamped to keep the sums small; anything this wide becomes float64.
  s.scale = static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(0, -e), 100000));
  s.int_digits = static_cast<int32_t>(
      std::min<int64_t>(std::max<int64_t>(0, significant == 0 ? 0 : significant + e), 100000));
  return s;
}

bool IntegerToInt64(const NumberText& n, int64_t* out) {
  // |INT64_MIN| = 9223372036854775808 fits in uint64.
  uint64_t acc = 0;
  for (char c : n.int_digits) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (acc > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    acc = acc * 10 + digit;
  }
  if (n.negative) {
    if (acc > uint64_t{1} << 63) return false;
    *out = static_cast<int64_t>(~acc + 1);
  } else {
    if (acc > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(acc);
  }
  return true;
}

bool ToDecimal128(const NumberText& n, int32_t precision, int32_t scale, arrow::Decimal128* out) {
  if (precision < 1 || precision > 38) return false;
  Digits d{n.int_digits, n.frac_digits};
  // value = D * 10^e; the unscaled result is D * 10^(e + scale).
  const int64_t shift =
      n.exponent - static_cast<int64_t>(n.frac_digits.size()) + static_cast<int64_t>(scale);
  size_t end = d.size();
  if (shift < 0) {
    // The dropped digits must all be zero: never round.
    const uint64_t drop = static_cast<uint64_t>(-shift);
    const size_t keep = drop >= end ? 0 : end - static_cast<size_t>(drop);
    for (size_t i = keep; i < end; ++i) {
      if (d.at(i) != 0) return false;
    }
    end = keep;
  }
  size_t i = 0;
  while (i < end && d.at(i) == 0) ++i;
  const int64_t digits = static_cast<int64_t>(end - i) + (shift > 0 && i < end ? shift : 0);
  if (digits > precision) return false;
  u128 acc = 0;
  for (; i < end; ++i) acc = acc * 10 + static_cast<u128>(d.at(i));
  if (acc != 0 && shift > 0) acc *= Pow10(static_cast<int>(shift));
  if (acc >= Pow10(precision)) return false;
  const __int128 v = n.negative ? -static_cast<__int128>(acc) : static_cast<__int128>(acc);
  *out =
      arrow::Decimal128(static_cast<int64_t>(v >> 64), static_cast<uint64_t>(static_cast<u128>(v)));
  return true;
}

bool ToInteger(const NumberText& n, int64_t min, int64_t max, int64_t* out) {
  int64_t v = 0;
  if (n.is_integer()) {
    if (!IntegerToInt64(n, &v)) return false;
  } else {
    arrow::Decimal128 d;
    if (!ToDecimal128(n, 38, 0, &d)) return false;
    if (d.high_bits() != (d.low_bits() >> 63 ? -1 : 0)) return false;
    v = static_cast<int64_t>(d.low_bits());
  }
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

double ToDouble(std::string_view token) {
  token = TrimNumberToken(token);
  double v = 0;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec == std::errc::result_out_of_range) {
    NumberText n;
    ScanNumber(token, &n);
    const bool huge = ShapeOf(n).int_digits > 0;
    v = huge ? std::numeric_limits<double>::infinity() : 0.0;
    if (n.negative) v = -v;
  }
  (void)ptr;
  return v;
}

}  // namespace sluice::formats::json
