// HistoryPlanner: decides what one change batch does to an SCD type 2
// history table (docs/merge.md "History"), as a HistoryPlan. Pure: the index
// and the rows of the versions it may touch are given; no I/O.
//
// The target is order-independent: the table must equal the fold, in
// _cdc_seq order, of every event seen so far (equal seq of the same key =
// the same event: the first one seen counts). So for each key of the batch
// the planner re-folds the tail of the key's chain that the batch's oldest
// event can reach: the stored versions become events again (an opening event
// carrying the version's image and its last sequence, plus the delete that
// ended it when no version follows at that sequence; the key's orphan
// deletes, history_orphans.h, not older than the batch's oldest event), the
// batch's events are merged in, and the fold's versions are compared with
// the stored ones.
// Unchanged versions stay; the others are marked deleted and their new form
// appended. An in-order batch reaches only the key's current version.
//
// Fold, per key, over events sorted by seq (no open version at the start of
// the reachable tail unless the tail's first stored version is open there):
//   upsert, open version O with equal tracked columns → O absorbs it (image
//       and last seq taken when the event is newer than O's last seq)
//   upsert otherwise → O (if any) ends at the event; a version opens
//   delete, O open  → O ends at the delete
//   delete, none    → nothing in the table; the delete goes to the orphan
//       side table (plan.orphans) unless it already has a row there, so an
//       older upsert arriving later ends at it
#pragma once

#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/merge/history_index.h"
#include "sluice/merge/history_plan.h"

namespace sluice::merge {

/// Rows of stored versions, read from the table for the planner.
struct VersionRows {
  /// Rows in the table's schema (empty table with that schema when none).
  std::shared_ptr<arrow::Table> table;
  /// (add.path, row in the file) → row of `table`.
  std::map<std::pair<std::string, int64_t>, int64_t> at;
};

/// Which rows PlanHistory needs for `changes`: per add.path, the rows (in the
/// file, before DVs) of every stored version the batch's events can reach.
Result<std::map<std::string, std::vector<int64_t>>> HistoryRowsNeeded(
    const HistoryIndex& index, const arrow::RecordBatch& changes);

/// Plans `changes` (a change batch; any order, replays allowed). `existing`
/// must hold at least the rows HistoryRowsNeeded named. A truncate event ends
/// every version open at its seq (plan.truncates: the table's list to store).
Result<HistoryPlan> PlanHistory(const HistoryIndex& index, const arrow::RecordBatch& changes,
                                const VersionRows& existing, const HistoryOptions& options);

}  // namespace sluice::merge
