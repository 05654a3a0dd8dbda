// The Kafka side of the Debezium source (kind "debezium"): one stream per
// topic (stream id = the topic), listed by name or found by a pattern on
// every Discover(). The MessageDecoder (kafka_message.h) turns messages into
// change rows; this file knows only Kafka.
//
// Position of a topic stream, committed in the tables' Delta txns:
//   ""            a batch counter: +1 per committed batch. It keys the
//                 position's stored state and the batch's dead letters, and
//                 makes any two commits planned from the same position
//                 conflict (two processes, a rebalance), so a commit never
//                 lands on a position it was not planned from.
//   "#<partition>" the next offset to read in that partition.
//   state         {"next":{"<p>":offset},"from":{"<p>":offset}}: the offsets
//                 again plus where this batch started in each partition it
//                 read, so that a planned batch can be rebuilt (Planned).
// A unit is `topic/partition@from-last`: the messages of one partition with
// offsets in [from, last], re-fetched by offset whenever it is decoded
// (gaps from compaction or transaction markers are simply absent); Kafka's
// committed offsets are written for lag tools and never read.
#pragma once

#include <memory>

#include "sluice/sources/debezium/kafka_consumer.h"
#include "sluice/sources/debezium/kafka_message.h"
#include "sluice/sources/source_registry.h"

namespace sluice::sources::debezium {

/// \brief A Kafka source over `consumer` whose messages `decoder` decodes.
/// `options.settings` holds the `kafka.` keys (kafka_settings.h) and
/// `debezium.route_by` ("source": a topic carries several tables).
Result<std::unique_ptr<Source>> MakeKafkaSource(const SourceOptions& options,
                                                std::shared_ptr<MessageDecoder> decoder);

/// \brief The source of kind "debezium": MakeKafkaSource with the Debezium
/// decoder (debezium_decoder.h) and, when `kafka.schema_registry_url` is set,
/// a schema-registry client for Avro. Invalid for a bad key of either.
Result<std::unique_ptr<Source>> MakeDebeziumSource(const SourceOptions& options);

/// \brief The range a unit name `topic/partition@from-last` stands for.
struct UnitRange {
  std::string topic;
  int32_t partition = 0;
  int64_t from = 0;
  int64_t last = 0;
  std::string Name() const;
};
Result<UnitRange> ParseUnitName(const std::string& name);

}  // namespace sluice::sources::debezium
