#include "sluice/formats/json/timestamp_text.h"

namespace sluice::formats::json {

namespace {

// Reads exactly `width` digits at s[*i].
bool Fixed(std::string_view s, size_t* i, int width, int* out) {
  if (*i + static_cast<size_t>(width) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < width; ++k) {
    const char c = s[*i + static_cast<size_t>(k)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *i += static_cast<size_t>(width);
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool ParseYmd(std::string_view s, size_t* i, int* y, int* m, int* d) {
  if (!Fixed(s, i, 4, y) || !Expect(s, i, '-') || !Fixed(s, i, 2, m) || !Expect(s, i, '-') ||
      !Fixed(s, i, 2, d)) {
    return false;
  }
  return *m >= 1 && *m <= 12 && *d >= 1 && *d <= DaysInMonth(*y, *m);
}

}  // namespace

int64_t DaysFromCivil(int64_t y, int m, int d) {
  // Shift the year to start in March so the leap day is last; then count
  // whole 400-year eras (146097 days each).
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (m + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ParseDate(std::string_view s, int32_t* days) {
  size_t i = 0;
  int y, m, d;
  if (!ParseYmd(s, &i, &y, &m, &d) || i != s.size()) return false;
  *days = static_cast<int32_t>(DaysFromCivil(y, m, d));
  return true;
}

bool ParseTimePoint(std::string_view s, TimePoint* out) {
  size_t i = 0;
  int y, mo, d;
  if (!ParseYmd(s, &i, &y, &mo, &d)) return false;
  int hh = 0, mm = 0, ss = 0;
  int64_t nanos = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ') && i + 1 < s.size() &&
      s[i + 1] >= '0' && s[i + 1] <= '9') {
    ++i;
    if (!Fixed(s, &i, 2, &hh) || !Expect(s, &i, ':') || !Fixed(s, &i, 2, &mm)) return false;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!Fixed(s, &i, 2, &ss)) return false;
      if (i < s.size() && s[i] == '.') {
        ++i;
        int digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          // Digits past nanoseconds are dropped (truncation).
          if (digits < 9) nanos = nanos * 10 + (s[i] - '0');
          ++digits;
          ++i;
        }
        if (digits == 0) return false;
        for (int k = digits; k < 9; ++k) nanos *= 10;
      }
    }
    if (hh > 23 || mm > 59 || ss > 59) return false;
  }
  int64_t offset_seconds = 0;
  if (i < s.size()) {
    const std::string_view rest = s.substr(i);
    if (rest == "Z" || rest == "z" || rest == " UTC" || rest == "UTC") {
      i = s.size();
    } else if (rest[0] == '+' || rest[0] == '-') {
      const int sign = rest[0] == '-' ? -1 : 1;
      ++i;
      int oh = 0, om = 0;
      if (!Fixed(s, &i, 2, &oh)) return false;
      if (i < s.size()) {
        if (s[i] == ':') ++i;
        if (!Fixed(s, &i, 2, &om)) return false;
      }
      if (oh > 23 || om > 59) return false;
      offset_seconds = sign * (oh * 3600 + om * 60);
    }
    if (i != s.size()) return false;
  }
  out->seconds = DaysFromCivil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss - offset_seconds;
  out->nanos = static_cast<int32_t>(nanos);
  return true;
}

bool TimePointToUnits(const TimePoint& t, int64_t units_per_second, int64_t* out) {
  int64_t v;
  if (__builtin_mul_overflow(t.seconds, units_per_second, &v)) return false;
  const int64_t sub = static_cast<int64_t>(t.nanos) / (1000000000 / units_per_second);
  if (__builtin_add_overflow(v, sub, &v)) return false;
  *out = v;
  return true;
}

}  // namespace sluice::formats::json
