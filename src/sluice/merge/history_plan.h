// HistoryPlan: what applying one change batch does to an SCD type 2 history
// table (`<table>_history`, docs/merge.md "History"), decided by the planner
// (history_planner.h) without I/O, committed by the writer
// (history_writer.h), then folded into the history index (history_index.h)
// with the writer's MergeOutcome. A value, like MergePlan.
//
// A history row is one version of one key:
//
//   payload columns     the image of the version (its latest event's values)
//   __START_AT          _cdc_ts of the event that opened the version
//   __END_AT            _cdc_ts of the event that ended it (the next version's
//                       opening event or a delete); NULL while current
//   _cdc_seq            _cdc_seq of the opening event: orders versions whose
//                       __START_AT are equal, and rejects replays
//   _cdc_last_seq       _cdc_seq of the latest event folded into the version
//                       (== _cdc_seq unless in-place updates were absorbed)
//   _cdc_end_seq        _cdc_seq of the ending event; NULL while current
//
// The two extra sequences make the table its own state: rebuilding the index
// from it (and re-folding a key's chain for a late event) needs no other
// record of which events were seen.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/delta/deletion_bitmap.h"
#include "sluice/merge/batch_dedup.h"

namespace sluice::merge {

inline constexpr std::string_view kStartAtColumn = "__START_AT";
inline constexpr std::string_view kEndAtColumn = "__END_AT";
inline constexpr std::string_view kLastSeqColumn = "_cdc_last_seq";
inline constexpr std::string_view kEndSeqColumn = "_cdc_end_seq";

struct HistoryOptions {
  /// Primary-key column names (at least one).
  std::vector<std::string> keys;
  /// Columns whose changes open a new version; empty = every payload column.
  /// An upsert whose tracked columns equal the current version's updates
  /// that version in place.
  std::vector<std::string> track_history;
};

/// The history table's schema for a change batch schema: the payload columns
/// (every column but the _cdc_* ones), then __START_AT and __END_AT typed as
/// `_cdc_ts`, then _cdc_seq, _cdc_last_seq, _cdc_end_seq. Invalid if
/// `_cdc_ts` is missing or not a timestamp.
Result<std::shared_ptr<arrow::Schema>> HistoryTableSchema(const arrow::Schema& change_schema);

/// A version as the index and the plan name it.
struct HistoryVersion {
  std::string start_seq;
  std::string last_seq;
  std::string end_seq;  ///< empty while current
  bool operator==(const HistoryVersion&) const = default;
};

/// A delete that found no open version in the fold, kept in the side table
/// of history_orphans.h so that an older upsert arriving later ends there.
struct HistoryOrphan {
  std::string key;  ///< encoded (key_encoder.h)
  std::string seq;
  int64_t ts_us = 0;           ///< the delete's _cdc_ts, microseconds since the epoch
  int64_t recorded_at_ms = 0;  ///< wall clock when written (retention)
  int64_t batch_version = 0;   ///< txn version of the batch that wrote it
  bool operator==(const HistoryOrphan&) const = default;
};

/// A truncate the history table holds: at its seq every version open then
/// ends (`__END_AT` = its ts), whatever order the events arrive in. The
/// table keeps them all in its configuration (kHistoryTruncatesProperty).
struct HistoryTruncate {
  std::string seq;
  int64_t ts_us = 0;  ///< the truncate's _cdc_ts, microseconds since the epoch
  bool operator==(const HistoryTruncate&) const = default;
};

/// The history table's configuration key listing its truncates, sorted by
/// seq: `<seq in lowercase hex>:<ts_us>` joined by commas.
inline constexpr const char* kHistoryTruncatesProperty = "sluice.truncates";
std::string EncodeHistoryTruncates(const std::vector<HistoryTruncate>& truncates);
Result<std::vector<HistoryTruncate>> DecodeHistoryTruncates(std::string_view text);

struct HistoryCounts {
  int64_t events = 0;   ///< rows in the change batch
  int64_t invalid = 0;  ///< null key, null/empty seq, unknown op (skipped)
  int64_t replays = 0;  ///< seq already known for the key (or repeated in the batch)
  int64_t late = 0;     ///< older than the key's latest known event
  int64_t versions_opened = 0;
  int64_t in_place = 0;  ///< upserts absorbed into the open version (track-history)
  int64_t closed_by_delete = 0;
  int64_t truncates = 0;           ///< new truncate events of the batch
  int64_t closed_by_truncate = 0;  ///< open versions a new truncate ended
  int64_t deletes_ignored = 0;     ///< deletes of the batch that found no open version
  /// Deletes written to the orphan side table: the batch's deletes_ignored,
  /// plus stored deletes a late delete before them left with no version.
  int64_t orphans_recorded = 0;
  /// Stored orphan deletes that now end a version (a late older upsert).
  int64_t orphans_consumed = 0;
  /// Late events with changed tracked columns that fell inside a run of
  /// absorbed in-place updates: the version is split at the late event with
  /// its final image (the absorbed events themselves are not stored).
  int64_t split_absorbed = 0;
  int64_t rows_deleted = 0;  ///< existing rows marked deleted (rewritten or spliced)
  int64_t rows_appended = 0;
};

struct HistoryPlan {
  /// Per data file (add.path): row indexes to mark deleted.
  std::map<std::string, delta::DeletionBitmap> deletes;
  /// New rows in the history schema.
  std::shared_ptr<arrow::Table> appends;
  /// Encoded key and version of each row of `appends`, in row order.
  std::vector<std::string> append_keys;
  std::vector<HistoryVersion> append_versions;
  /// Encoded key of each row marked deleted (one entry per row), so the
  /// index knows which chains to drop them from.
  std::vector<std::string> removed_keys;
  /// Deletes to add to the orphan side table (history_orphans.h); their
  /// recorded_at_ms and batch_version are set by the writer.
  std::vector<HistoryOrphan> orphans;
  HistoryCounts counts;
  /// Every truncate the table holds after this batch (sorted by seq) when
  /// the batch brings a new one, for the writer to store; empty otherwise.
  std::vector<HistoryTruncate> truncates;
  /// Skipped rows (indexes into the change batch) with the reason.
  std::vector<InvalidRow> invalid;
  /// The table version the plan was made against (-1: no table yet).
  int64_t base_version = -1;

  bool Empty() const {
    return deletes.empty() && append_keys.empty() && orphans.empty() && truncates.empty();
  }
};

}  // namespace sluice::merge
