// One run of decoded Debezium records (formats/debezium: consecutive
// messages of one schema, JSON or Avro alike) -> change rows in the
// canonical schema (core/change_schema.h), per source table.
//
//   <table columns>  the fields of `after` (then any only `before` has), or
//                    of a flattened record less the added fields (those
//                    starting with the prefix, and the four named ones)
//   row image        c, u, r: `after`; d: `before`, each key column NULL there
//                    taken from the message key; t: every column NULL;
//                    flattened: the record itself
//   _cdc_op          c insert, u update, d delete, r snapshot, t truncate;
//                    c/u/r with source.snapshot not "false"/absent: snapshot;
//                    flattened: the op field, else `__deleted` = true: delete,
//                    else update; m and truncates when ignored: no row
//   _cdc_seq         debezium_sequence.h; the layout by source.connector
//                    (postgresql | mysql | mariadb; else Kafka), and for a
//                    record that does not name it, by the fields it carries
//                    (sequence/lsn, file/pos)
//   _cdc_ts          source.ts_us, else ts_ns / 1000, else ts_ms x 1000
//                    (flattened: ts_field in ms, `__source_ts_us`/`_ns`);
//                    NULL when none
//   _cdc_ingested_at, _cdc_origin ("topic/partition@offset")
//   _cdc_source      DebeziumSourceType()
//   [_cdc_unchanged] list<utf8>, only when a row carries an unavailable-value
//                    placeholder (an unchanged TOASTed column): the columns
//                    whose value the merge keeps (merge/partial_image.h);
//                    those cells are NULL
//
// A row is a BadRecord (where = topic/partition@offset, offset = the Kafka
// offset, raw = the value) when it is neither an envelope nor a flattened
// record, has no or an unknown op, has no usable position (PostgreSQL
// without LSN, MySQL without file/pos), cannot be routed to a table, has no
// key while no primary keys are configured, or a primary key column is NULL.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/formats/debezium/json_record_reader.h"
#include "sluice/sources/debezium/debezium_settings.h"
#include "sluice/sources/debezium/kafka_message.h"
#include "sluice/sources/source.h"

namespace sluice::sources::debezium {

/// A message's decoded key: row `row` of `batch` (columns = the key's fields).
struct MessageKey {
  std::shared_ptr<arrow::RecordBatch> batch;  ///< null: no key (or not decodable)
  int64_t row = 0;
  std::string error;  ///< why the key did not decode ("" when it did or was null)
};

struct RunInput {
  const formats::debezium::RecordRun* run = nullptr;
  const std::vector<KafkaMessage>* messages = nullptr;  ///< the unit
  const std::vector<MessageKey>* keys = nullptr;        ///< one per message
  int64_t ingested_at_us = 0;
};

struct RunChanges {
  /// Per table, in the order of their first row: at most one batch each.
  std::vector<TableChanges> tables;
  /// Rows that could not be routed to a table.
  std::vector<BadRecord> bad;
};

/// \brief Normalizes one run. Bad rows are returned, never an error; an
/// error means Arrow failed (out of memory).
Result<RunChanges> NormalizeRun(const RunInput& input, const DebeziumSettings& settings,
                                const std::map<std::string, SourceTableOptions>& tables);

/// \brief Kafka tombstones as deletes (DebeziumSettings::tombstone_deletes):
/// `tombstones` are indices into `messages` of messages without a value.
/// Each becomes a delete row of the topic's table holding the key's columns
/// (the rest NULL), `_cdc_seq` its Kafka position, `_cdc_ts` the record's
/// timestamp (NULL when it has none), `_cdc_source` its topic, partition and
/// offset only. A tombstone without a usable key, or whose key lacks a
/// configured primary key column, is a BadRecord.
Result<RunChanges> NormalizeTombstones(const std::vector<KafkaMessage>& messages,
                                       const std::vector<MessageKey>& keys,
                                       const std::vector<size_t>& tombstones,
                                       int64_t ingested_at_us,
                                       const std::map<std::string, SourceTableOptions>& tables);

/// \brief The `_cdc_source` struct: topic utf8, partition int32, offset int64,
/// connector, db, schema, table, op (the event's letter), snapshot (utf8),
/// lsn int64, commit_lsn int64 (PostgreSQL's source.sequence), file utf8,
/// pos int64, row int64 (binlog), gtid utf8, tx_id int64 (source.txId),
/// ts_ms int64 (source.ts_ms). A field the event does not carry is NULL.
std::shared_ptr<arrow::DataType> DebeziumSourceType();

}  // namespace sluice::sources::debezium
