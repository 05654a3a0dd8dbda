// The configuration sections a source reads ([source.kafka], [source.dms],
// ...) and the keys each accepts, declared once next to the source's own
// settings parser and published through the registry
// (source_registry.h), so that the configuration loader refuses a typo,
// lists the known keys and offers each as SLUICE_<SECTION>_<KEY> without a
// list of its own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources {

struct SourceSettingSection {
  /// The configuration section: "source.kafka" is [source.kafka] in TOML.
  std::string section;
  /// How SourceOptions::settings names a key of it: prefix + key
  /// ("kafka." + "topics"; "" keeps the bare key).
  std::string settings_prefix;
  /// The keys the source's parser knows.
  std::vector<std::string> keys;
  /// A subsection passed on as it is, any key accepted ("properties":
  /// [source.kafka.properties] for librdkafka); empty: none.
  std::string open_subsection;
};

/// \brief "a, b, c": the known keys, for error messages and help; an open
/// subsection is named after them ("..., properties.*").
std::string KnownKeysText(const SourceSettingSection& section);

/// \brief Where the configuration key `config_key` ("source.kafka.topics")
/// falls in `section`: its SourceOptions::settings name ("kafka.topics"),
/// std::nullopt when the key is outside the section, Invalid (naming the
/// key and the known ones) when it is inside but not declared.
Result<std::optional<std::string>> SettingName(const SourceSettingSection& section,
                                               const std::string& config_key);

}  // namespace sluice::sources
