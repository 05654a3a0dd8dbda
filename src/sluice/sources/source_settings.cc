#include "sluice/sources/source_settings.h"

#include <algorithm>

namespace sluice::sources {

std::string KnownKeysText(const SourceSettingSection& section) {
  std::string out;
  for (const auto& key : section.keys) out += (out.empty() ? "" : ", ") + key;
  if (!section.open_subsection.empty()) {
    out += (out.empty() ? "" : ", ") + section.open_subsection + ".*";
  }
  return out;
}

Result<std::optional<std::string>> SettingName(const SourceSettingSection& section,
                                               const std::string& config_key) {
  const std::string prefix = section.section + ".";
  if (config_key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string key = config_key.substr(prefix.size());
  const std::string open = section.open_subsection + ".";
  const bool in_open = !section.open_subsection.empty() && key.size() > open.size() &&
                       key.compare(0, open.size(), open) == 0;
  if (!in_open && std::find(section.keys.begin(), section.keys.end(), key) == section.keys.end()) {
    return Status::Invalid("unknown configuration key '", config_key,
                           "' (known: ", KnownKeysText(section), ")");
  }
  return section.settings_prefix + key;
}

}  // namespace sluice::sources
