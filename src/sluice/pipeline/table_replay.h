// Replay: rebuilds a table as it was at a moment in the past from its change
// log table (DESIGN.md §1: "replaying it rebuilds the source table as it was
// at any moment"). Every log row whose source commit time `_cdc_ts` is at or
// before the moment is merged, by the same rules and code as the live merged
// table (docs/merge.md), into a new merged-shaped table. Order of reading does
// not matter: the rules decide by `_cdc_seq`, so the result is the state of
// the source at that moment, late arrivals included.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/merge/merge_writer.h"

namespace sluice::pipeline {

struct ReplayOptions {
  std::string log_table;
  std::string out;
  /// Inclusive upper bound on `_cdc_ts`, microseconds since the epoch.
  int64_t as_of_us = 0;
  /// Empty: the keys the log table records (sluice.primaryKeys).
  std::vector<std::string> primary_keys;
  merge::MergeMode mode = merge::MergeMode::kDeletionVectors;
  /// Change rows per merge commit.
  int64_t batch_rows = 1'000'000;
  /// Called after each log file is read (and merged, when its rows filled
  /// a merge commit): files read of all, changes taken so far (progress).
  std::function<void(int64_t files_done, int64_t files_total, int64_t rows_taken)> progress;
};

struct ReplaySummary {
  int64_t log_rows = 0;      ///< rows read from the log
  int64_t rows_taken = 0;    ///< rows at or before as_of
  int64_t rows_later = 0;    ///< rows after as_of (left out)
  int64_t rows_no_time = 0;  ///< rows without _cdc_ts (left out)
  int64_t invalid = 0;       ///< rows the merge could not key
  int64_t commits = 0;
  std::optional<int64_t> rows_out;  ///< rows in the new table
};

/// Refuses an `out` that already holds a table, and a log table without
/// recorded keys when none are given.
Result<ReplaySummary> ReplayLogTable(const ReplayOptions& options);

}  // namespace sluice::pipeline
