// Orphan deletes of a history table: deletes that, in the fold of the events
// seen so far, found no open version (docs/merge.md "History"). The history
// table's rows cannot carry them (no version ends there), yet an older
// upsert arriving in a later batch must end at such a delete, so they live in
// a hidden side table (side_table.h), `<history table>/_sluice/orphan_deletes`,
// like the merged table's tombstones (tombstone_store.h). Its schema:
//
//   key            binary     encoded primary key (key_encoder.h grammar)
//   seq            binary     _cdc_seq of the delete
//   ts             timestamp[us, UTC]  the delete's _cdc_ts (becomes __END_AT)
//   recorded_at    timestamp[us, UTC]  wall clock when it was written (retention)
//   batch_version  int64      txn version of the batch that wrote it
//
// Append-only: a row is never removed when a late upsert consumes its delete
// (the delete then ends a version, and the planner skips a row whose seq is
// already a version's end). It stays because a still later delete may orphan
// it again; rows are only purged after the retention (by recorded_at, as the
// merged table's tombstones). A delete that stops ending a version (a later
// delete arrived before it) is written again then.
//
// Protocol, per history commit with txn (app_id, version), as tombstones:
//   1. side table first: skipped if its txn for app_id is already >= version
//      (a retried batch); else the new rows are committed with that txn, and
//      files whose oldest row is past the retention (add.tags) are rewritten
//      without the expired rows;
//   2. then the history table's commit.
// A crash between 1 and 2 leaves rows of a batch whose versions are not in
// the history table: loading ignores rows with batch_version above the
// history table's txn version, and the retried batch (same version, same
// events, same table state, hence the same rows) skips step 1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/delta/maintenance.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/history_plan.h"
#include "sluice/merge/side_table.h"

namespace sluice::merge {

/// `<history table root>/_sluice/orphan_deletes` in the same filesystem.
Result<io::TableLocation> OrphanDeleteLocation(const io::TableLocation& history);

/// Every row with batch_version <= `max_batch_version` and recorded_at >=
/// `cutoff_ms`; empty if the side table does not exist.
Result<std::vector<HistoryOrphan>> LoadOrphanDeletes(const io::TableLocation& history,
                                                     int64_t max_batch_version, int64_t cutoff_ms);

/// The side table's description (schema, retention column and tag).
const SideTable& OrphanDeleteTable();

/// skipped: the side table already had this version; purged: expired rows
/// dropped.
using OrphanDeleteCommit = SideTableCommit;

/// Step 1 above: writes `orphans` as given (recorded_at_ms and
/// batch_version set by the caller; a batch_version other than `version` is
/// refused). Nothing is committed when `orphans` is empty: expired rows
/// (recorded_at before `cutoff_ms`) are purged by the next commit that
/// writes some, which is when the side table grows. `commit` are the
/// history table's options (SideTable::Commit).
Result<OrphanDeleteCommit> CommitOrphanDeletes(const io::TableLocation& history,
                                               const std::vector<HistoryOrphan>& orphans,
                                               const std::string& app_id, int64_t version,
                                               int64_t now_ms, int64_t cutoff_ms,
                                               const delta::CommitOptions& commit = {});

/// Compacts and vacuums the side table of `history` (SideTable::Maintain);
/// `last_vacuum_ms` is read and updated. Nothing if it does not exist.
Result<std::optional<delta::MaintenanceReport>> MaintainOrphanDeletes(
    const io::TableLocation& history, const delta::MaintenancePolicy& policy,
    int64_t& last_vacuum_ms, int64_t now_ms);

}  // namespace sluice::merge
