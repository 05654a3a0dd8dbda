#include "sluice/core/setting_text.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace sluice {

std::optional<int64_t> ParseInt64(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(begin, &end, 10);
  if (end == begin || errno == ERANGE || end != begin + text.size()) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace sluice
