#include "sluice/cli/duration.h"

#include <cctype>

namespace sluice::cli {

Result<int64_t> ParseDurationArg(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  const std::string unit = text.substr(digits);
  if (digits == 0 || digits > 15) {
    return Status::Invalid("cannot parse duration '", text, "' (e.g. 168h, 7d, 0s)");
  }
  const int64_t n = std::stoll(text.substr(0, digits));
  if (unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  if (unit == "d") return n * 86'400'000;
  if (unit == "w") return n * 7 * 86'400'000;
  return Status::Invalid("cannot parse duration '", text, "' (units: ms, s, m, h, d, w)");
}

std::string FormatDuration(int64_t ms) {
  struct Unit {
    int64_t ms;
    const char* name;
  };
  for (Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"}}) {
    if (ms > 0 && ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace sluice::cli
