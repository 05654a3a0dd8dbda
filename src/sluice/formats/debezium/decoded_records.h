// What a Debezium record reader (json_record_reader.h, avro_record_reader.h)
// returns for a list of Kafka message values: every message accounted for
// exactly once, as a row of a run, a bad message or a tombstone.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/formats/connect/connect_schema.h"

namespace sluice::formats::debezium {

/// Consecutive messages decoded with one schema.
struct RecordRun {
  /// One row per decoded message; columns = the top-level struct's fields.
  std::shared_ptr<arrow::RecordBatch> batch;
  /// Row i came from message `messages[i]` (an index into the input).
  std::vector<int64_t> messages;
  /// The value schema (as written, or inferred for schemaless messages).
  connect::ConnectSchemaPtr schema;
  bool inferred = false;
};

struct BadMessage {
  int64_t index = 0;  ///< into the input
  std::string reason;
};

struct DecodedRecords {
  std::vector<RecordRun> runs;
  std::vector<BadMessage> bad;
  std::vector<int64_t> tombstones;  ///< null values, in input order
};

}  // namespace sluice::formats::debezium
