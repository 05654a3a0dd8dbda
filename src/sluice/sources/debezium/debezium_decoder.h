// Debezium change events (Kafka messages from Kafka Connect with Debezium's
// connectors, JSON or Confluent-framed Avro) into change rows in the
// canonical schema (core/change_schema.h), per source table: the
// MessageDecoder (kafka_message.h) the Kafka source calls for each unit.
//
// What a message becomes (docs/debezium.md, "Normalization"):
//   envelope op c / u / d        insert / update / delete; the row is `after`
//                                (c, u) or `before` (d, key columns filled
//                                from the message key when `before` lacks
//                                them)
//   op r, or source.snapshot     snapshot (a backfill read)
//   not false / absent
//   op t                         truncate: one row, every column NULL
//                                (dropped when debezium.truncate = ignore)
//   op m, a Kafka tombstone      nothing
//   flattened records            the same rows (ExtractNewRecordState:
//                                `__op`, `__deleted`, `__source_ts_ms`, ...)
//   anything else                a BadRecord (reason, topic/partition@offset,
//                                the Kafka offset, the raw value)
// `_cdc_seq`, `_cdc_ts`, `_cdc_source` and `_cdc_unchanged` (unavailable
// values: unchanged TOAST columns) are described in debezium_changes.h.
#pragma once

#include <memory>

#include "sluice/core/status.h"
#include "sluice/sources/debezium/kafka_message.h"
#include "sluice/sources/debezium/schema_registry_client.h"
#include "sluice/sources/source_registry.h"

namespace sluice::sources::debezium {

/// \brief A decoder for `options.format` ("json" or "avro") configured by the
/// `debezium.`-prefixed keys of `options.settings` (debezium_settings.h; other
/// keys belong to the consumer and are ignored) and the primary keys of
/// `options.tables` ("<database>.<table>"). `registry` resolves the writer
/// schemas of Avro messages; it may be null for JSON. Invalid for an unknown
/// `debezium.` key, a bad value, an unknown format, or Avro without a
/// registry.
Result<std::shared_ptr<MessageDecoder>> MakeDebeziumDecoder(
    const SourceOptions& options, std::shared_ptr<SchemaRegistryClient> registry);

}  // namespace sluice::sources::debezium
