#include "sluice/sources/time_text.h"

#include <arrow/api.h>

#include <cstdio>

#include "sluice/core/arrow_util.h"

namespace sluice::sources {

using arrow::Type;

int64_t TimeTicks(const arrow::Array& a, int64_t i, int64_t* per_second) {
  switch (a.type_id()) {
    case Type::TIME32:
      *per_second = TicksPerSecond(static_cast<const arrow::Time32Type&>(*a.type()).unit());
      return static_cast<const arrow::Time32Array&>(a).Value(i);
    case Type::TIME64:
      *per_second = TicksPerSecond(static_cast<const arrow::Time64Type&>(*a.type()).unit());
      return static_cast<const arrow::Time64Array&>(a).Value(i);
    case Type::INT32:
      return static_cast<const arrow::Int32Array&>(a).Value(i);
    default:
      return static_cast<const arrow::Int64Array&>(a).Value(i);
  }
}

void AppendTimeText(int64_t value, int64_t per_second, std::string* out) {
  // Magnitude as unsigned so INT64_MIN does not overflow.
  uint64_t mag = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  if (value < 0) out->push_back('-');
  const uint64_t ps = static_cast<uint64_t>(per_second);
  uint64_t seconds = mag / ps;
  uint64_t frac = mag % ps;
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu",
                        static_cast<unsigned long long>(seconds / 3600),
                        static_cast<unsigned long long>(seconds / 60 % 60),
                        static_cast<unsigned long long>(seconds % 60));
  out->append(buf, static_cast<size_t>(n));
  if (frac == 0) return;
  // Microseconds when exact (every unit but a nanosecond remainder).
  int digits = 6;
  uint64_t scaled = frac * (1000000 / (ps >= 1000000 ? 1000000 : ps));
  if (ps == 1000000000) {
    if (frac % 1000 == 0) {
      scaled = frac / 1000;
    } else {
      digits = 9;
      scaled = frac;
    }
  }
  n = std::snprintf(buf, sizeof buf, ".%0*llu", digits, static_cast<unsigned long long>(scaled));
  out->append(buf, static_cast<size_t>(n));
}

Result<std::shared_ptr<arrow::Array>> TimesAsText(const arrow::Array& a) {
  arrow::StringBuilder b;
  ARROW_RETURN_NOT_OK(b.Reserve(a.length()));
  std::string text;
  for (int64_t i = 0; i < a.length(); ++i) {
    if (a.IsNull(i)) {
      ARROW_RETURN_NOT_OK(b.AppendNull());
      continue;
    }
    int64_t per_second = 1;
    int64_t v = TimeTicks(a, i, &per_second);
    text.clear();
    AppendTimeText(v, per_second, &text);
    ARROW_RETURN_NOT_OK(b.Append(text));
  }
  return b.Finish();
}

}  // namespace sluice::sources
