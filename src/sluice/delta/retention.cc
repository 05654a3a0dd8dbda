#include "sluice/delta/retention.h"

#include <cctype>
#include <string>

namespace sluice::delta {

namespace {

int64_t PropertyMs(const Metadata& metadata, const char* key, int64_t fallback) {
  auto it = metadata.configuration.find(key);
  if (it == metadata.configuration.end()) return fallback;
  return ParseIntervalMs(it->second).value_or(fallback);
}

}  // namespace

std::optional<int64_t> ParseIntervalMs(std::string_view text) {
  auto skip_spaces = [&] {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
      text.remove_prefix(1);
    }
  };
  skip_spaces();
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view s = lower;
  if (s.substr(0, 8) == "interval") s.remove_prefix(8);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  int64_t n = std::stoll(std::string(s.substr(0, digits)));
  s.remove_prefix(digits);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.size() > 1 && s.back() == 's') s.remove_suffix(1);
  int64_t unit = 0;
  if (s == "millisecond")
    unit = 1;
  else if (s == "second")
    unit = 1000;
  else if (s == "minute")
    unit = 60'000;
  else if (s == "hour")
    unit = 3'600'000;
  else if (s == "day")
    unit = 86'400'000;
  else if (s == "week")
    unit = 7 * 86'400'000LL;
  else
    return std::nullopt;
  return n * unit;
}

int64_t DeletedFileRetentionMs(const Metadata& metadata) {
  return PropertyMs(metadata, "delta.deletedFileRetentionDuration", kDefaultDeletedFileRetentionMs);
}

int64_t LogRetentionMs(const Metadata& metadata) {
  return PropertyMs(metadata, "delta.logRetentionDuration", kDefaultLogRetentionMs);
}

}  // namespace sluice::delta
