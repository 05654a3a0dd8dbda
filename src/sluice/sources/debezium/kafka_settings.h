// The consumer's configuration ([source.kafka] and [source.kafka.properties]),
// read from SourceOptions::settings where the pipeline puts it as
// `kafka.<key>` and `kafka.properties.<key>` (the `debezium.<key>` entries
// belong to the decoder). docs/debezium.md lists every key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/sources/source_settings.h"

namespace sluice::sources::debezium {

struct KafkaSettings {
  std::string bootstrap_servers;
  std::vector<std::string> topics;  ///< explicit topics, or
  std::string topic_pattern;        ///< a regex every matching topic's name matches whole
  /// The consumer group that splits partitions between processes (empty: no
  /// group, this process reads every partition).
  std::string group_id;
  std::string schema_registry_url;
  std::string schema_registry_user;
  std::string schema_registry_password;
  std::string schema_registry_ca_file;
  /// Where a partition no table has an offset for starts: earliest | latest.
  std::string start_offset = "earliest";
  /// Bounds of one unit (a run of offsets of one partition): at most this
  /// many offsets, and about this many bytes of messages at the record size
  /// of the units decoded so far (unit_sizer.h).
  int64_t max_messages_per_unit = 200'000;
  int64_t max_bytes_per_unit = 64LL << 20;
  /// Broker requests (metadata, watermarks) and a unit's fetch give up after this.
  int64_t timeout_ms = 30'000;
  /// librdkafka properties passed as they are (SASL, SSL, ...).
  std::map<std::string, std::string> properties;
};

/// \brief The `kafka.`-prefixed entries of `settings` (other entries are
/// ignored). Invalid for an unknown key, a bad value, no bootstrap servers,
/// or neither / both of topics and topic_pattern.
Result<KafkaSettings> ParseKafkaSettings(const std::map<std::string, std::string>& settings);

/// [source.kafka]: the keys ParseKafkaSettings knows, read as `kafka.<key>`,
/// and [source.kafka.properties] passed on (registered with the source).
const SourceSettingSection& KafkaSettingSection();

}  // namespace sluice::sources::debezium
