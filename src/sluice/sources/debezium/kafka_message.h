// The seam between the Kafka consumer (sources/debezium/kafka_source.h) and
// the Debezium decoding (sources/debezium/debezium_decoder.h): a unit of a
// Kafka stream is a run of messages of one partition, fetched again by offset
// whenever it is decoded, and a MessageDecoder turns such a run into change
// rows per table. The consumer knows nothing of Debezium; the decoder nothing
// of librdkafka.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/sources/source.h"

namespace sluice::sources::debezium {

/// One Kafka record as fetched (owned bytes).
struct KafkaMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;          ///< the record's timestamp (0: none)
  std::optional<std::string> key;    ///< nullopt: no key
  std::optional<std::string> value;  ///< nullopt: a tombstone
  /// Headers in record order (a header may repeat; nullopt: a null value).
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;

  /// "topic/partition@offset": the origin every row, dead letter and error
  /// message names.
  std::string Origin() const {
    return topic + "/" + std::to_string(partition) + "@" + std::to_string(offset);
  }
};

/// Turns runs of messages into change rows. Implementations are thread-safe
/// (Decode is called in parallel for the units of a batch) and pure: the same
/// messages decode to the same rows with the same _cdc_seq every time.
class MessageDecoder {
 public:
  virtual ~MessageDecoder() = default;

  /// \brief Decodes `messages` (one partition, ascending offsets) into rows per
  /// table, in the canonical change schema. Bad messages become BadRecords
  /// (where = Origin(), offset = the Kafka offset, the raw value), never an
  /// error; an error means a dependency failed (the schema registry is down)
  /// and the unit is retried later.
  virtual Result<DecodedUnit> Decode(const std::vector<KafkaMessage>& messages,
                                     const DecodeContext& ctx) const = 0;
};

}  // namespace sluice::sources::debezium
