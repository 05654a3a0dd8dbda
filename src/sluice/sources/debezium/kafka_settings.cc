#include "sluice/sources/debezium/kafka_settings.h"

#include <regex>

#include "sluice/core/setting_text.h"

namespace sluice::sources::debezium {

namespace {

Result<int64_t> PositiveInt(const std::string& key, const std::string& value) {
  if (auto v = ParseInt64(value); v && *v > 0) return *v;
  return Status::Invalid("source.kafka.", key, ": expected a positive integer, got '", value, "'");
}

}  // namespace

const SourceSettingSection& KafkaSettingSection() {
  static const SourceSettingSection kSection = {
      "source.kafka",
      "kafka.",
      {"bootstrap_servers", "topics", "topic_pattern", "group_id", "schema_registry_url",
       "schema_registry_user", "schema_registry_password", "schema_registry_ca_file",
       "start_offset", "max_messages_per_unit", "max_bytes_per_unit", "timeout_ms"},
      "properties"};
  return kSection;
}

Result<KafkaSettings> ParseKafkaSettings(const std::map<std::string, std::string>& settings) {
  KafkaSettings s;
  const SourceSettingSection& section = KafkaSettingSection();
  const std::string& kPrefix = section.settings_prefix;
  const std::string kProperties = kPrefix + section.open_subsection + ".";
  for (const auto& [full, v] : settings) {
    if (full.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    if (full.compare(0, kProperties.size(), kProperties) == 0) {
      s.properties[full.substr(kProperties.size())] = v;
      continue;
    }
    const std::string key = full.substr(kPrefix.size());
    if (key == "bootstrap_servers") {
      s.bootstrap_servers = v;
    } else if (key == "topics") {
      s.topics = SplitList(v);
    } else if (key == "topic_pattern") {
      s.topic_pattern = v;
    } else if (key == "group_id") {
      s.group_id = v;
    } else if (key == "schema_registry_url") {
      s.schema_registry_url = v;
    } else if (key == "schema_registry_user") {
      s.schema_registry_user = v;
    } else if (key == "schema_registry_password") {
      s.schema_registry_password = v;
    } else if (key == "schema_registry_ca_file") {
      s.schema_registry_ca_file = v;
    } else if (key == "start_offset") {
      if (v != "earliest" && v != "latest") {
        return Status::Invalid("source.kafka.start_offset: expected earliest or latest, got '", v,
                               "'");
      }
      s.start_offset = v;
    } else if (key == "max_messages_per_unit") {
      ARROW_ASSIGN_OR_RAISE(s.max_messages_per_unit, PositiveInt(key, v));
    } else if (key == "max_bytes_per_unit") {
      ARROW_ASSIGN_OR_RAISE(s.max_bytes_per_unit, PositiveInt(key, v));
    } else if (key == "timeout_ms") {
      ARROW_ASSIGN_OR_RAISE(s.timeout_ms, PositiveInt(key, v));
    } else {
      return Status::Invalid("unknown configuration key 'source.kafka.", key,
                             "' (known: ", KnownKeysText(section), ")");
    }
  }
  if (s.bootstrap_servers.empty()) {
    return Status::Invalid("source.kafka.bootstrap_servers is required for source.kind debezium");
  }
  if (s.topics.empty() == s.topic_pattern.empty()) {
    return Status::Invalid(
        "source.kafka: set either topics (a list) or topic_pattern (a regex), not ",
        s.topics.empty() ? "neither" : "both");
  }
  if (!s.topic_pattern.empty()) {
    try {
      std::regex check(s.topic_pattern);
    } catch (const std::regex_error& e) {
      return Status::Invalid("source.kafka.topic_pattern '", s.topic_pattern,
                             "' is not a valid regex: ", e.what());
    }
  }
  return s;
}

}  // namespace sluice::sources::debezium
