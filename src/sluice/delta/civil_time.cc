#include "sluice/delta/civil_time.h"

#include <arrow/type.h>

#include <chrono>
#include <cstdio>

namespace sluice::delta {

namespace {

// Days from 1970-01-01 to 0000-01-01 and to 10000-01-01.
constexpr int64_t kMinDay = -719528;
constexpr int64_t kMaxDayExclusive = 2932897;

bool ParseDigits(std::string_view s, int* out) {
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return !s.empty();
}

}  // namespace

Result<std::string> FormatDate(int64_t days_since_epoch) {
  if (days_since_epoch < kMinDay || days_since_epoch >= kMaxDayExclusive) {
    return Status::Invalid("date ", days_since_epoch,
                           " days from the epoch is outside years 0000..9999");
  }
  std::chrono::year_month_day ymd{
      std::chrono::sys_days{std::chrono::days{static_cast<int>(days_since_epoch)}}};
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return std::string(buf);
}

Result<int64_t> ParseDate(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      !ParseDigits(text.substr(0, 4), &y) || !ParseDigits(text.substr(5, 2), &m) ||
      !ParseDigits(text.substr(8, 2), &d)) {
    return Status::Invalid("'", text, "' is not a date of the form YYYY-MM-DD");
  }
  std::chrono::year_month_day ymd{std::chrono::year{y},
                                  std::chrono::month{static_cast<unsigned>(m)},
                                  std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return Status::Invalid("'", text, "' is not a valid calendar date");
  return static_cast<int64_t>(std::chrono::sys_days{ymd}.time_since_epoch().count());
}

std::string FormatTimeOfDay(int64_t nanos_of_day, int fraction_digits) {
  int64_t secs = nanos_of_day / 1000000000;
  int64_t frac = nanos_of_day % 1000000000;
  char buf[32];
  int n = std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d", static_cast<int>(secs / 3600),
                        static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (fraction_digits > 0) {
    std::snprintf(buf, sizeof(buf), "%09lld", static_cast<long long>(frac));
    out += '.';
    out.append(buf, static_cast<size_t>(fraction_digits > 9 ? 9 : fraction_digits));
  }
  return out;
}

}  // namespace sluice::delta
