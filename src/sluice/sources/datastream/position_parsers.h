// Parsers for the textual log positions Datastream puts in source_metadata.
// Each turns the text into numbers so that positions are compared as numbers,
// never as strings (PostgreSQL "F/FFFFFFFF" < "10/0" though "F" > "1").
// Every parser is strict: surrounding spaces are allowed, anything else that
// is not part of the format makes it return nullopt (the row then goes to the
// dead letters with the field named).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::sources::datastream {

/// MySQL binlog file name -> its sequence number: the digits after the last
/// '.', whatever the base name ("mysql-bin.000123", "binlog.000007",
/// "host-relay-bin.42"). A name with no '.' uses its trailing digits.
std::optional<uint64_t> ParseBinlogFileNumber(std::string_view file);

/// PostgreSQL pg_lsn text "XXXXXXXX/YYYYYYYY" (1-8 hex digits each side) ->
/// (X << 32) | Y.
std::optional<uint64_t> ParsePostgresLsn(std::string_view lsn);

/// SQL Server LSN: a 10-byte number made of the virtual log file sequence
/// (4 bytes), the log block offset (4 bytes) and the slot (2 bytes).
struct SqlServerLsn {
  uint32_t vlf = 0;
  uint32_t block = 0;
  uint16_t slot = 0;
  auto operator<=>(const SqlServerLsn&) const = default;
};

/// "0000002c:00000b88:0003" (hex parts of at most 8, 8 and 4 digits), or the
/// binary(10) form as 20 hex digits, optionally prefixed by "0x".
std::optional<SqlServerLsn> ParseSqlServerLsn(std::string_view lsn);

/// Oracle LogMiner RS_ID: the redo record address " 0x000038.00001a3b.0010 "
/// (log sequence, block, byte offset; hex). Parsed to numbers so that a
/// sequence that outgrows its zero padding still sorts correctly.
struct OracleRsId {
  uint64_t log_sequence = 0;
  uint64_t block = 0;
  uint64_t offset = 0;
  auto operator<=>(const OracleRsId&) const = default;
};
std::optional<OracleRsId> ParseOracleRsId(std::string_view rs_id);

/// Unsigned decimal text that fits in uint64 (Datastream JSON may carry
/// numbers such as log_position or scn as strings).
std::optional<uint64_t> ParseDecimalU64(std::string_view text);

}  // namespace sluice::sources::datastream
