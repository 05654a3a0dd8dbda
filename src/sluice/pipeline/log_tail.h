// LogTail: the rows a change log table gained after some version, in commit
// order, for the merged and history tables that follow it (DESIGN.md §1: the
// log is appended first; merges run every merge_interval from the log). The
// rows of commits this process just wrote are kept in memory, up to a bound;
// older ones (after a restart, or beyond the bound) are read back from the
// data files each commit added. Every table comes back in the log table's
// current schema, so a batch spanning a schema change is one schema.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"

namespace sluice::pipeline {

struct LogCommitRows {
  int64_t version = -1;
  std::shared_ptr<arrow::Table> rows;  ///< may be empty (a cursor-only commit)
};

class LogTail {
 public:
  explicit LogTail(int64_t max_cached_rows) : max_cached_rows_(max_cached_rows) {}

  /// Keeps the rows just committed as `version` (dropped if over the bound).
  void Remember(int64_t version, std::shared_ptr<arrow::Table> rows);
  /// Drops cached commits up to and including `version` (merged everywhere).
  void ForgetThrough(int64_t version);
  void Clear();
  /// Bytes of the cached rows of commits after `version` (what a merge
  /// from there holds in memory).
  int64_t BytesAfter(int64_t version) const;

  /// Whole commits after `after`, up to `log`'s version, stopping once
  /// `max_rows` rows are collected (at least one commit when there is one).
  Result<std::vector<LogCommitRows>> Read(const delta::Snapshot& log,
                                          const io::TableLocation& location, int64_t after,
                                          int64_t max_rows);

 private:
  int64_t max_cached_rows_;
  int64_t cached_rows_ = 0;
  std::map<int64_t, std::shared_ptr<arrow::Table>> cache_;
};

}  // namespace sluice::pipeline
