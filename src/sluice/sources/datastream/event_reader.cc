#include "sluice/sources/datastream/event_reader.h"

#include <arrow/array.h>

#include <algorithm>
#include <cctype>

#include "sluice/sources/datastream/position_parsers.h"

namespace sluice::sources::datastream {

namespace {

// ASCII case-insensitive equality with an upper-case literal.
bool IsUpper(std::string_view s, std::string_view upper) {
  if (s.size() != upper.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[i])) != upper[i]) return false;
  }
  return true;
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The first non-null text of a column, to guess the lsn flavour.
std::optional<std::string> FirstText(const EventColumn& col) {
  if (!col.present()) return std::nullopt;
  for (int64_t i = 0; i < col.array()->length(); ++i) {
    if (auto s = col.String(i)) return std::string(*s);
  }
  return std::nullopt;
}

}  // namespace

EventReader::EventReader(const EventColumns& columns) : c_(columns) {
  change_type_ = c_.Meta("change_type");
  is_deleted_ = c_.Meta("is_deleted");
  log_file_ = c_.Meta("log_file");
  log_position_ = c_.Meta("log_position");
  binlog_file_ = c_.Meta("binlog_file");
  binlog_position_ = c_.Meta("binlog_position");
  lsn_ = c_.Meta("lsn");
  scn_ = c_.Meta("scn");
  rs_id_ = c_.Meta("rs_id");
  ssn_ = c_.Meta("ssn");

  if (log_file_.present() || binlog_file_.present()) {
    fallback_kind_ = SourceKind::kMySql;
  } else if (scn_.present() || rs_id_.present() || c_.Meta("row_id").present()) {
    fallback_kind_ = SourceKind::kOracle;
  } else if (auto lsn = FirstText(lsn_)) {
    if (lsn->find('/') != std::string::npos) fallback_kind_ = SourceKind::kPostgres;
    if (lsn->find(':') != std::string::npos) fallback_kind_ = SourceKind::kSqlServer;
  }
}

std::optional<std::string> EventReader::Text(const EventColumn& meta, int64_t row,
                                             int sort_index) const {
  if (auto s = meta.String(row)) return std::string(*s);
  if (auto n = meta.Int64(row)) return std::to_string(*n);
  if (sort_index >= 0) return SortKeyElement(c_.sort_keys, row, sort_index);
  return std::nullopt;
}

std::optional<std::string> EventReader::Read(int64_t row, uint64_t file_ordinal, uint64_t row_index,
                                             EventChange* out) const {
  *out = EventChange();
  EventPosition& pos = out->position;
  pos.file_ordinal = file_ordinal;
  pos.row_index = row_index;

  auto read_method = c_.read_method.String(row);
  out->kind = SourceKind::kUnknown;
  if (read_method) {
    if (!has_last_read_method_ || *read_method != last_read_method_) {
      last_read_method_.assign(*read_method);
      last_kind_ = SourceKindFromReadMethod(*read_method);
      last_backfill_ = IsBackfillReadMethod(*read_method);
      has_last_read_method_ = true;
    }
    out->kind = last_kind_;
  }
  if (out->kind == SourceKind::kUnknown) out->kind = fallback_kind_;
  pos.backfill = read_method && last_backfill_;

  // Operation.
  const bool deleted = is_deleted_.Bool(row).value_or(false);
  auto change_type = change_type_.String(row);
  const std::string_view ct = change_type ? *change_type : std::string_view();
  if (IsUpper(ct, "UPDATE-DELETE")) {
    out->op = CdcOp::kDelete;
    pos.update_delete = true;
  } else if (deleted) {
    out->op = CdcOp::kDelete;
  } else if (pos.backfill) {
    out->op = CdcOp::kSnapshot;
  } else if (IsUpper(ct, "DELETE")) {
    out->op = CdcOp::kDelete;
  } else if (IsUpper(ct, "INSERT") || ct.empty()) {
    out->op = CdcOp::kInsert;
  } else if (IsUpper(ct, "UPDATE-INSERT") || IsUpper(ct, "UPDATE")) {
    out->op = CdcOp::kUpdate;
  } else if (IsUpper(ct, "TRUNCATE")) {
    out->op = CdcOp::kTruncate;
  } else {
    return "source_metadata.change_type " + Quoted(*change_type) + " is not a known change type";
  }

  // Position.
  auto ts = c_.source_timestamp.TimestampMicros(row);
  if (!ts) {
    return c_.source_timestamp.present() && !c_.source_timestamp.IsNull(row)
               ? "source_timestamp is not a timestamp"
               : "source_timestamp is missing";
  }
  pos.source_ts_us = *ts;
  if (pos.backfill) return std::nullopt;
  switch (out->kind) {
    case SourceKind::kMySql:
      return ReadMySql(row, &pos);
    case SourceKind::kPostgres:
      return ReadPostgres(row, &pos);
    case SourceKind::kSqlServer:
      return ReadSqlServer(row, &pos);
    case SourceKind::kOracle:
      return ReadOracle(row, &pos);
    case SourceKind::kUnknown:
      break;
  }
  return std::nullopt;
}

std::optional<std::string> EventReader::ReadMySql(int64_t row, EventPosition* pos) const {
  // Binlog-mode files carry log_file/log_position; GTID-mode files
  // binlog_file/binlog_position. Whichever pair has a non-empty file wins;
  // sort_keys [ts, file, position] is the last resort.
  std::string_view file_label = "source_metadata.log_file";
  std::string_view pos_label = "source_metadata.log_position";
  auto file = Text(log_file_, row, -1);
  std::optional<std::string> offset_text;
  if (file && !file->empty()) {
    offset_text = Text(log_position_, row, -1);
  } else if (auto gtid_file = Text(binlog_file_, row, -1); gtid_file && !gtid_file->empty()) {
    file = gtid_file;
    offset_text = Text(binlog_position_, row, -1);
    file_label = "source_metadata.binlog_file";
    pos_label = "source_metadata.binlog_position";
  } else if (auto sk_file = SortKeyElement(c_.sort_keys, row, 1); sk_file && !sk_file->empty()) {
    file = sk_file;
    offset_text = SortKeyElement(c_.sort_keys, row, 2);
    file_label = "sort_keys[1]";
    pos_label = "sort_keys[2]";
  } else {
    return std::string(file_label) + " is missing";
  }
  auto number = ParseBinlogFileNumber(*file);
  if (!number) return std::string(file_label) + " " + Quoted(*file) + " has no binlog file number";
  if (!offset_text) return std::string(pos_label) + " is missing";
  auto offset = ParseDecimalU64(*offset_text);
  if (!offset) return std::string(pos_label) + " " + Quoted(*offset_text) + " is not a position";
  pos->binlog_file = *number;
  pos->binlog_position = *offset;
  return std::nullopt;
}

std::optional<std::string> EventReader::ReadPostgres(int64_t row, EventPosition* pos) const {
  auto text = Text(lsn_, row, 1);
  if (!text) return "source_metadata.lsn is missing";
  auto lsn = ParsePostgresLsn(*text);
  if (!lsn) return "source_metadata.lsn " + Quoted(*text) + " is not a PostgreSQL LSN";
  pos->pg_lsn = *lsn;
  return std::nullopt;
}

std::optional<std::string> EventReader::ReadSqlServer(int64_t row, EventPosition* pos) const {
  auto text = Text(lsn_, row, 1);
  if (!text) return "source_metadata.lsn is missing";
  auto lsn = ParseSqlServerLsn(*text);
  if (!lsn) return "source_metadata.lsn " + Quoted(*text) + " is not a SQL Server LSN";
  pos->mssql_lsn = *lsn;
  return std::nullopt;
}

std::optional<std::string> EventReader::ReadOracle(int64_t row, EventPosition* pos) const {
  auto scn_text = Text(scn_, row, 1);
  if (!scn_text) return "source_metadata.scn is missing";
  auto scn = scn_.Int64(row);
  if (!scn) {
    // From sort_keys (text) or an unusual type: signed decimal text.
    bool negative = !scn_text->empty() && scn_text->front() == '-';
    auto magnitude = ParseDecimalU64(negative ? scn_text->substr(1) : *scn_text);
    if (!magnitude || *magnitude > static_cast<uint64_t>(INT64_MAX)) {
      return "source_metadata.scn " + Quoted(*scn_text) + " is not a number";
    }
    scn = negative ? -static_cast<int64_t>(*magnitude) : static_cast<int64_t>(*magnitude);
  }
  pos->scn = *scn;
  if (auto rs = Text(rs_id_, row, 2); rs && !rs->empty()) {
    auto parsed = ParseOracleRsId(*rs);
    if (!parsed) return "source_metadata.rs_id " + Quoted(*rs) + " is not a LogMiner RS_ID";
    pos->rs_id = *parsed;
  }
  if (auto ssn = Text(ssn_, row, 3)) {
    auto parsed = ParseDecimalU64(*ssn);
    if (!parsed || *parsed > static_cast<uint64_t>(INT64_MAX)) {
      return "source_metadata.ssn " + Quoted(*ssn) + " is not a number";
    }
    pos->ssn = static_cast<int64_t>(*parsed);
  }
  return std::nullopt;
}

}  // namespace sluice::sources::datastream
