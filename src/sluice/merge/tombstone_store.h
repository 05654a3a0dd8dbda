// Tombstone persistence. DESIGN.md §8 wants all durable state in Delta
// tables, and a Delta commit covers one table, so tombstones live in a hidden
// side table (side_table.h), `<merged table>/_sluice/tombstones`. Its schema:
//
//   key            binary     encoded primary key (key_encoder.h grammar)
//   seq            binary     _cdc_seq of the delete
//   deleted_at     timestamp[us, UTC]  when the merge applied the delete
//   batch_version  int64      txn version of the batch that wrote it
//
// Protocol, per merge commit with txn (app_id, version):
//   1. side table first: if its txn for app_id is already >= version (a
//      retried batch), skip; else commit the new tombstones with that txn,
//      rewriting any file whose oldest tombstone is past the retention
//      (stats minValues.deleted_at) without the expired rows;
//   2. then the main commit (DVs + appends + txn).
// A crash between 1 and 2 leaves tombstones of a batch whose rows are not in
// the main table; Load() ignores every tombstone with batch_version above the
// main table's txn version, and the retried batch (same version, same
// cursor) skips step 1 and redoes step 2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/delta/compaction.h"
#include "sluice/delta/maintenance.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/merge_plan.h"
#include "sluice/merge/side_table.h"

namespace sluice::merge {

inline constexpr int64_t kDefaultTombstoneRetentionMs = 7LL * 24 * 3600 * 1000;

/// `<table root>/_sluice/tombstones` in the same filesystem.
Result<io::TableLocation> TombstoneLocation(const io::TableLocation& table);

/// Every tombstone with batch_version <= `max_batch_version` and deleted_at
/// >= `cutoff_ms`; empty if the side table does not exist.
Result<std::vector<Tombstone>> LoadTombstones(const io::TableLocation& table,
                                              int64_t max_batch_version, int64_t cutoff_ms);

/// The side table's description (schema, retention column and tag).
const SideTable& TombstoneTable();

/// skipped: the side table already had this version; purged: expired
/// tombstones dropped.
using TombstoneCommit = SideTableCommit;

/// Step 1 above. `tombstones` may be empty (then only a purge, if due, is
/// committed; nothing at all if none is due). `latest` caches the side
/// table between commits, `commit` are the merged table's options
/// (SideTable::Commit).
Result<TombstoneCommit> CommitTombstones(const io::TableLocation& table,
                                         const std::vector<Tombstone>& tombstones,
                                         const std::string& app_id, int64_t version,
                                         int64_t cutoff_ms,
                                         std::shared_ptr<const delta::Snapshot>* latest = nullptr,
                                         const delta::CommitOptions& commit = {});

/// `base` with the side table's tag rule: a compacted file's
/// sluice.minDeletedAtMs is the smallest of its inputs', or 0 ("check at the
/// next purge") when an input has none, so the purge still finds expired
/// rows after compaction.
delta::CompactionOptions TombstoneCompactionOptions(delta::CompactionOptions base = {});

/// Compacts and vacuums the side table of `table` (SideTable::Maintain);
/// `last_vacuum_ms` is read and updated. Nothing if it does not exist.
Result<std::optional<delta::MaintenanceReport>> MaintainTombstones(
    const io::TableLocation& table, const delta::MaintenancePolicy& policy, int64_t& last_vacuum_ms,
    int64_t now_ms);

}  // namespace sluice::merge
