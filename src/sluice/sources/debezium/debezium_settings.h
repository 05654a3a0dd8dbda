// The [source.debezium] keys (docs/debezium.md, "Configuration"). The Kafka
// source passes them in SourceOptions::settings as "debezium.<key>" (text);
// keys with another prefix belong to the consumer and are not read here.
#pragma once

#include <map>
#include <string>

#include "sluice/core/status.h"
#include "sluice/formats/connect/connect_schema.h"
#include "sluice/sources/source_settings.h"

namespace sluice::sources::debezium {

/// Which record shape messages have.
enum class EnvelopeMode {
  kAuto,       ///< per schema: an envelope (op + before/after), else flattened
  kEnvelope,   ///< Debezium's envelope only; anything else is a bad message
  kFlattened,  ///< ExtractNewRecordState's flattened records only
};

/// Where a message's table comes from.
enum class RouteBy {
  kTopic,   ///< `<prefix>.<schema>.<table>` (topic_table.h)
  kSource,  ///< source.schema (else source.db) and source.table
};

struct DebeziumSettings {
  bool avro = false;  ///< source.format: avro (Confluent framing) or json
  EnvelopeMode envelope = EnvelopeMode::kAuto;
  RouteBy route_by = RouteBy::kTopic;
  /// Truncate events (op t) become a truncate row; false drops them.
  bool apply_truncate = true;
  /// A Kafka tombstone (a key, no value) deletes its key: flattened records
  /// with `delete.tombstone.handling.mode = tombstone`, where the tombstone
  /// is the only trace of a delete. It carries no source position, so every
  /// event of such a topic orders by its Kafka position (partition, offset).
  /// Needs envelope = flattened and route_by = topic.
  bool tombstone_deletes = false;
  /// Prefix of the fields ExtractNewRecordState adds (`add.fields`).
  std::string flattened_prefix = "__";
  /// Names of the added fields; empty = prefix + "op", "deleted",
  /// "source_ts_ms", "lsn" (ResolvedField()).
  std::string op_field, deleted_field, ts_field, lsn_field;
  /// PostgreSQL's placeholder for an unchanged TOASTed value
  /// (`unavailable.value.placeholder`); "hex:<hex>" names the bytes.
  std::string unavailable_value = "__debezium_unavailable_value";
  formats::connect::ConnectArrowOptions types;

  std::string OpField() const { return op_field.empty() ? flattened_prefix + "op" : op_field; }
  std::string DeletedField() const {
    return deleted_field.empty() ? flattened_prefix + "deleted" : deleted_field;
  }
  std::string TsField() const {
    return ts_field.empty() ? flattened_prefix + "source_ts_ms" : ts_field;
  }
  std::string LsnField() const { return lsn_field.empty() ? flattened_prefix + "lsn" : lsn_field; }
};

/// \brief Parses `format` and the "debezium."-prefixed keys of `settings`
/// (missing keys keep their defaults). Errors name the key
/// ("source.debezium.<key>") and the bad value; an unknown key lists the
/// known ones.
Result<DebeziumSettings> ParseDebeziumSettings(const std::string& format,
                                               const std::map<std::string, std::string>& settings);

/// [source.debezium]: the keys ParseDebeziumSettings knows, read as
/// `debezium.<key>` (registered with the source).
const SourceSettingSection& DebeziumSettingSection();

}  // namespace sluice::sources::debezium
