// Batch dedup: within one change batch only the latest event per primary key
// counts (DESIGN.md §4). Latest = greatest `_cdc_seq` (memcmp order); of
// events with equal sequences the first in the batch wins, since a repeated
// sequence is a replay of the same event.
//
// Primary-key moves need nothing special: Datastream emits UPDATE-DELETE with
// the old key and UPDATE-INSERT with the new key (Debezium: delete + create),
// i.e. two events on two different keys. Each is the winner of its own key,
// so the old key's row is deleted (and tombstoned) and the new key's row is
// written, whatever their order in the batch.
//
// Rows that cannot take part in a merge are returned as `invalid` with the
// reason, for the dead-letter table: a null key column, a null or empty
// `_cdc_seq` ("no usable sequence"), an unknown `_cdc_op`.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/merge/change_event.h"
#include "sluice/merge/key_encoder.h"

namespace sluice::merge {

struct InvalidRow {
  int64_t row = 0;
  std::string reason;
};

struct DedupResult {
  /// Row indexes of the winning events, ascending (so appended rows keep the
  /// batch's order, which makes output deterministic).
  std::vector<int64_t> winners;
  /// The op of each winner (parallel to `winners`).
  std::vector<MergeOp> ops;
  /// Rows that lost to a later (or equal, earlier-placed) event of their key.
  int64_t superseded = 0;
  /// Rows that are dead letters, ascending by row.
  std::vector<InvalidRow> invalid;
  /// Rows with op truncate (not keyed; the caller decides what to do).
  std::vector<int64_t> truncates;
};

/// Dedups `batch` (a change batch) whose keys were encoded into `keys`
/// (keys.size() == batch.num_rows()). Invalid if `_cdc_op` or `_cdc_seq` is
/// missing or mistyped.
Result<DedupResult> DedupBatch(const arrow::RecordBatch& batch, const EncodedKeys& keys);

}  // namespace sluice::merge
