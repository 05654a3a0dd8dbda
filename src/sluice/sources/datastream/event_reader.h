// Reads, for one Datastream event, what the change log needs besides the
// payload: the operation and the source position (sequence_layout.h).
//
// Source kind: from read_method (sequence_layout.h); when read_method is
// absent or unknown, from which source_metadata fields the batch has
// (log_file / binlog_file: MySQL; scn / rs_id / row_id: Oracle; lsn "X/Y":
// PostgreSQL, lsn "a:b:c": SQL Server).
//
// Operation:
//   is_deleted = true                          -> delete (even in a backfill)
//   backfill read_method                       -> snapshot
//   change_type UPDATE-DELETE                  -> delete (old image of an update;
//                                                 sorts before its UPDATE-INSERT)
//   change_type DELETE                         -> delete
//   change_type INSERT                         -> insert
//   change_type UPDATE-INSERT / UPDATE         -> update
//   change_type TRUNCATE                       -> truncate
//   no change_type (old files)                 -> insert
//   any other change_type                      -> rejected, named
//
// Position fields each kind needs (missing or unparseable -> rejected, with
// the field named; sort_keys is the fallback for a field source_metadata lacks):
//   all kinds        source_timestamp
//   MySQL CDC        log_file + log_position, or in GTID-mode files
//                    binlog_file + binlog_position
//   PostgreSQL CDC   lsn
//   SQL Server CDC   lsn
//   Oracle CDC       scn; rs_id and ssn when present (0 when absent)
//   backfill rows    nothing more (their positions are fixed, see layouts)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sluice/core/change_schema.h"
#include "sluice/sources/datastream/event_columns.h"
#include "sluice/sources/datastream/sequence_layout.h"

namespace sluice::sources::datastream {

struct EventChange {
  CdcOp op = CdcOp::kInsert;
  SourceKind kind = SourceKind::kUnknown;
  EventPosition position;
};

class EventReader {
 public:
  explicit EventReader(const EventColumns& columns);

  /// Fills `out` for row `row` (arrival = file_ordinal, row_index), or returns
  /// why the row cannot be ordered / understood.
  std::optional<std::string> Read(int64_t row, uint64_t file_ordinal, uint64_t row_index,
                                  EventChange* out) const;

  /// The kind guessed from source_metadata fields, used when read_method
  /// does not say.
  SourceKind fallback_kind() const { return fallback_kind_; }

 private:
  std::optional<std::string> ReadMySql(int64_t row, EventPosition* pos) const;
  std::optional<std::string> ReadPostgres(int64_t row, EventPosition* pos) const;
  std::optional<std::string> ReadSqlServer(int64_t row, EventPosition* pos) const;
  std::optional<std::string> ReadOracle(int64_t row, EventPosition* pos) const;
  /// source_metadata.<name> as text, else sort_keys[sort_index] (-1: none).
  std::optional<std::string> Text(const EventColumn& meta, int64_t row, int sort_index) const;

  const EventColumns& c_;
  EventColumn change_type_, is_deleted_, log_file_, log_position_, binlog_file_, binlog_position_,
      lsn_, scn_, rs_id_, ssn_;
  SourceKind fallback_kind_ = SourceKind::kUnknown;
  /// The last read_method seen and what it means: a file holds one or two
  /// distinct values, so rows skip the case-folding. One reader per thread.
  mutable std::string last_read_method_;
  mutable bool has_last_read_method_ = false;
  mutable SourceKind last_kind_ = SourceKind::kUnknown;
  mutable bool last_backfill_ = false;
};

}  // namespace sluice::sources::datastream
