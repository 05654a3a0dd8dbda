#include "sluice/merge/primary_keys.h"

#include <nlohmann/json.hpp>

namespace sluice::merge {

std::string EncodePrimaryKeys(const std::vector<std::string>& keys) {
  return nlohmann::json(keys).dump();
}

std::optional<std::vector<std::string>> PrimaryKeysOf(const delta::Snapshot& snapshot) {
  const auto& conf = snapshot.metadata().configuration;
  auto it = conf.find(kPrimaryKeysProperty);
  if (it == conf.end()) return std::nullopt;
  auto parsed = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return std::nullopt;
  std::vector<std::string> keys;
  for (const auto& k : parsed) {
    if (!k.is_string()) return std::nullopt;
    keys.push_back(k.get<std::string>());
  }
  return keys;
}

}  // namespace sluice::merge
