// _cdc_seq of Debezium events (DESIGN.md §4): a byte string whose memcmp
// order is the order of changes of one key, built with SequenceKeyBuilder:
//
//   layout       bytes (most significant first)
//   PostgreSQL   phase u8 | commit LSN u64 | LSN u64     | partition u32 | offset i64
//   binlog       phase u8 | file number u64 | pos u64 | row u64 | partition u32 | offset i64
//   Kafka        phase u8 | partition u32 | offset i64
//
// phase is 0 for snapshot (backfill) rows and 1 for streamed changes, so a
// snapshot row sorts before every streamed change of its key. The Kafka
// position closes every layout: it breaks ties (snapshot rows share one
// LSN; a MySQL transaction's rows may share file and pos) in the order the
// connector wrote the events, which for one key (one partition) is theirs.
// A table's events all take the layout of its connector; keys of different
// layouts are not compared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::sources::debezium {

/// PostgreSQL's `source.sequence`: `["<last commit LSN>","<LSN>"]`, each
/// element a decimal number as a string or null.
struct PostgresSequence {
  std::optional<uint64_t> commit_lsn;
  std::optional<uint64_t> lsn;
};

/// \brief Parses `source.sequence`; nullopt when it is not a JSON array of
/// two elements, each a decimal string (or number) or null.
std::optional<PostgresSequence> ParsePostgresSequence(std::string_view text);

/// \brief The number a binlog file name ends with ("mysql-bin.000003" -> 3,
/// "binlog.12" -> 12); nullopt when it does not end in digits (or they
/// overflow 64 bits).
std::optional<uint64_t> BinlogFileNumber(std::string_view file);

/// \brief The PostgreSQL layout. A null commit LSN (the first events after
/// the connector starts) takes the event's own LSN: the commit LSN of a
/// later transaction is above every change LSN of an earlier one, so the
/// order holds.
std::string PostgresSequenceKey(bool snapshot, uint64_t commit_lsn, uint64_t lsn, int32_t partition,
                                int64_t offset);

/// \brief The binlog (MySQL, MariaDB) layout.
std::string BinlogSequenceKey(bool snapshot, uint64_t file_number, uint64_t pos, uint64_t row,
                              int32_t partition, int64_t offset);

/// \brief The Kafka layout (any other connector).
std::string KafkaSequenceKey(bool snapshot, int32_t partition, int64_t offset);

}  // namespace sluice::sources::debezium
