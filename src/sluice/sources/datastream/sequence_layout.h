// _cdc_seq layouts of Datastream events, one per source database
// (DESIGN.md §4). All integers big-endian; "i64" is sign-flipped (see
// sequence_key.h). ts = source_timestamp in microseconds since the epoch.
// image = 0 for an UPDATE-DELETE, 1 for anything else. arrival = (file
// ordinal in the table's cursor: u64, row index in that file: u64).
//
//   MySQL       u8 phase (0 backfill, 1 CDC) | u64 binlog file number |
//               u64 binlog position | i64 ts | u8 image | arrival      42 bytes
//               Backfill rows have file number and position 0, so every
//               backfill row sorts before every CDC row (a CDC event always
//               supersedes the dump).
//   PostgreSQL  i64 ts | u64 lsn | u8 image | arrival                 33 bytes
//   SQL Server  i64 ts | u32 vlf | u32 block | u16 slot | u8 image |
//               arrival                                               35 bytes
//   Oracle      i64 ts | i64 scn | u64 rs_id.log_sequence |
//               u64 rs_id.block | u64 rs_id.offset | i64 ssn | u8 image |
//               arrival                                               65 bytes
//               Backfill rows use scn -1 and rs_id/ssn 0.
//   Unknown     i64 ts | u8 image | arrival                           25 bytes
//
// For PostgreSQL, SQL Server, Oracle and unknown sources the backfill is
// ordered by timestamp like any event (their backfill rows have no log
// position, lsn 0 / scn -1): a backfill row read after a CDC event of the
// same key wins, matching what the source held when it was read.
//
// Why the image byte: Datastream splits an update into UPDATE-DELETE (old
// image) and UPDATE-INSERT (new image) at the same log position; the old
// image must come first or a key-preserving update would end deleted. It
// sits just before arrival so it only breaks ties of the source position.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/sources/datastream/position_parsers.h"

namespace sluice::sources::datastream {

enum class SourceKind { kUnknown, kMySql, kPostgres, kSqlServer, kOracle };

std::string_view SourceKindName(SourceKind kind);

/// From the read_method prefix: "mysql-..." (mysql-cdc-binlog,
/// mysql-backfill-fulldump, mysql-backfill-incremental), "postgres..."
/// (postgresql-cdc, postgres-cdc-wal, postgresql-cdc-logical-decoding,
/// postgresql-backfill), "oracle..." (oracle-cdc-logminer, oracle-backfill,
/// oracle-supplementation, the old oracle_dump), "sqlserver..."
/// (sqlserver-cdc, sqlserver-backfill). Anything else: kUnknown.
SourceKind SourceKindFromReadMethod(std::string_view read_method);

/// A backfill (full dump) read: the read_method says "backfill" or "dump".
bool IsBackfillReadMethod(std::string_view read_method);

/// Everything a layout needs for one event, already parsed.
struct EventPosition {
  bool backfill = false;
  int64_t source_ts_us = 0;
  bool update_delete = false;  // the UPDATE-DELETE half of an update
  uint64_t file_ordinal = 0;
  uint64_t row_index = 0;
  // MySQL
  uint64_t binlog_file = 0;
  uint64_t binlog_position = 0;
  // PostgreSQL
  uint64_t pg_lsn = 0;
  // SQL Server
  SqlServerLsn mssql_lsn;
  // Oracle
  int64_t scn = -1;
  OracleRsId rs_id;
  int64_t ssn = 0;
};

/// The _cdc_seq bytes of `pos` under `kind`'s layout.
std::string EncodeSequence(SourceKind kind, const EventPosition& pos);

}  // namespace sluice::sources::datastream
