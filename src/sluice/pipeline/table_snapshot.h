// Dated snapshots (`sluice snapshot`, docs/snapshots.md): a table as it was
// at the end of a day (source commit time `_cdc_ts`, UTC), built from its
// change log table and written in ONE Delta commit, either
//
//   versioned:   <root>/version=YYYY-MM-DD/          a Delta table per date
//   partitioned: <root>/  partition <column>=YYYY-MM-DD of one Delta table
//
// with <root> = <sink>/<db>/<table>_snapshot. Every date holds the whole
// table as of that day (deletes removed), with the merged table's columns
// (payload, `_cdc_seq`, `_cdc_ts`); a re-run of a date replaces it.
//
// The rows come from a hidden state table, <root>/_sluice/state: a merged
// table (merge/merged_table.h, the same code and rules as the live merged
// table, tombstones kept for ever) holding the log rows with `_cdc_ts` at or
// before the end of some date S. Its txn (app "sluice-snapshot-state")
// records S, the log table version it has read, and whether it is complete
// (StateMark). A snapshot of date D >= S applies to it only the log rows it
// lacks (those of files added to the log since, and those of (S, D]) in one
// merge commit, then copies it into the output; anything else (no state, an
// interrupted one, S > D, --rebuild) replays the log up to D from scratch.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/delta/data_writer.h"

namespace sluice::pipeline {

/// Days since 1970-01-01 of a YYYY-MM-DD date; Invalid names the text.
Result<int32_t> ParseSnapshotDate(const std::string& text);
/// YYYY-MM-DD of days since 1970-01-01.
std::string FormatSnapshotDate(int32_t days);

/// What the state table's txn version says (see the file comment). Encoded
/// as date << 32 | complete << 31 | (log version, or the batch number while
/// incomplete), so that every later state has a larger version.
struct StateMark {
  int32_t date = 0;
  bool complete = false;
  int64_t counter = 0;  ///< the log version read (complete) or the batch number

  int64_t Encode() const;
  static StateMark Decode(int64_t version);
};

struct SnapshotOptions {
  std::string log_table;  ///< <sink>/<db>/<table>_log
  std::string root;       ///< <sink>/<db>/<table>_snapshot
  int32_t date = 0;       ///< days since the epoch
  bool partitioned = false;
  std::string partition_column = "snapshot_date";
  /// Dates before it are refused (the CDC start date).
  std::optional<int32_t> start_date;
  /// Replay the log up to `date` from scratch; also allows a date older
  /// than the latest snapshot.
  bool rebuild = false;
  /// Empty: the keys the log table records (sluice.primaryKeys).
  std::vector<std::string> primary_keys;
  /// Change rows per merge commit of a full replay.
  int64_t batch_rows = 1'000'000;
  delta::DataWriteOptions data;
  /// Progress lines (log files read, output files written).
  std::function<void(const std::string&)> progress;
  /// The log files considered so far of all (read or skipped on their
  /// statistics), before each and once at the end: a progress display.
  std::function<void(int64_t done, int64_t total)> files_progress;
};

struct SnapshotSummary {
  std::string output;             ///< the table written (versioned) or the root
  bool incremental = false;       ///< from the state table, not a full replay
  std::string why_full;           ///< why a full replay was needed
  int64_t log_files_read = 0;     ///< log files whose rows were read
  int64_t log_files_skipped = 0;  ///< outside the window by their _cdc_ts stats
  int64_t changes_applied = 0;
  int64_t invalid = 0;                   ///< change rows the merge could not key (left out)
  int64_t rows = 0;                      ///< rows in the snapshot
  int64_t files = 0;                     ///< data files of the snapshot
  int64_t version = 0;                   ///< the output table's commit version
  std::optional<int32_t> latest_before;  ///< the latest snapshot before this run
};

/// Writes the snapshot of `options.date`. Invalid (nothing written) for a
/// date before start_date, a date older than the latest snapshot without
/// rebuild, a root that holds the other layout, a log table without keys.
Result<SnapshotSummary> TakeSnapshot(const SnapshotOptions& options);

/// The latest date with a snapshot under `root` in that layout, if any.
Result<std::optional<int32_t>> LatestSnapshotDate(const std::string& root, bool partitioned);

}  // namespace sluice::pipeline
