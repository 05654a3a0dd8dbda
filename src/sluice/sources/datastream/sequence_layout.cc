#include "sluice/sources/datastream/sequence_layout.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "sluice/sources/sequence_key.h"

namespace sluice::sources::datastream {

namespace {
std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}
}  // namespace

std::string_view SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kMySql:
      return "mysql";
    case SourceKind::kPostgres:
      return "postgresql";
    case SourceKind::kSqlServer:
      return "sqlserver";
    case SourceKind::kOracle:
      return "oracle";
    case SourceKind::kUnknown:
      break;
  }
  return "unknown";
}

SourceKind SourceKindFromReadMethod(std::string_view read_method) {
  std::string m = Lower(read_method);
  if (m.starts_with("mysql")) return SourceKind::kMySql;
  if (m.starts_with("postgres")) return SourceKind::kPostgres;
  if (m.starts_with("oracle")) return SourceKind::kOracle;
  if (m.starts_with("sqlserver")) return SourceKind::kSqlServer;
  return SourceKind::kUnknown;
}

bool IsBackfillReadMethod(std::string_view read_method) {
  std::string m = Lower(read_method);
  return m.find("backfill") != std::string::npos || m.find("dump") != std::string::npos;
}

std::string EncodeSequence(SourceKind kind, const EventPosition& pos) {
  SequenceKeyBuilder key;
  switch (kind) {
    case SourceKind::kMySql:
      key.U8(pos.backfill ? 0 : 1)
          .U64(pos.backfill ? 0 : pos.binlog_file)
          .U64(pos.backfill ? 0 : pos.binlog_position)
          .I64(pos.source_ts_us);
      break;
    case SourceKind::kPostgres:
      key.I64(pos.source_ts_us).U64(pos.pg_lsn);
      break;
    case SourceKind::kSqlServer:
      key.I64(pos.source_ts_us)
          .U32(pos.mssql_lsn.vlf)
          .U32(pos.mssql_lsn.block)
          .U16(pos.mssql_lsn.slot);
      break;
    case SourceKind::kOracle: {
      const bool bf = pos.backfill;
      key.I64(pos.source_ts_us)
          .I64(bf ? -1 : pos.scn)
          .U64(bf ? 0 : pos.rs_id.log_sequence)
          .U64(bf ? 0 : pos.rs_id.block)
          .U64(bf ? 0 : pos.rs_id.offset)
          .I64(bf ? 0 : pos.ssn);
      break;
    }
    case SourceKind::kUnknown:
      key.I64(pos.source_ts_us);
      break;
  }
  key.U8(pos.update_delete ? 0 : 1).U64(pos.file_ordinal).U64(pos.row_index);
  return key.Take();
}

}  // namespace sluice::sources::datastream
