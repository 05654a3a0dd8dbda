// Table maintenance between batches (DESIGN.md §1 step 4): one call the
// pipeline makes after a commit, deciding cheaply whether to compact and
// whether vacuum is due. Checkpoints are not its business: commits write
// them every delta.checkpointInterval versions (transaction.h).
//
// Cost when nothing is due: one pass over the snapshot's add actions (size,
// stats numRecords, DV cardinality); no data file is opened and nothing is
// listed. Compaction reads only the files of the bins that qualify, bounded
// by `compaction.max_bytes` per call. Vacuum lists the table directory, so
// it runs at most once per `vacuum_interval_ms`.
//
// The caller owns the schedule: it passes the time of the last vacuum in
// the policy and stores the report's `last_vacuum_ms` for the next call
// (0 = never ran, so the first call vacuums).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "sluice/delta/compaction.h"
#include "sluice/delta/vacuum.h"

namespace sluice::delta {

struct MaintenancePolicy {
  bool compact = true;
  /// The pipeline default bounds one call to 1 GiB of input.
  CompactionOptions compaction = [] {
    CompactionOptions o;
    o.max_bytes = 1LL << 30;
    return o;
  }();
  bool vacuum = true;
  int64_t vacuum_interval_ms = 24LL * 3600 * 1000;
  VacuumOptions vacuum_options;
  /// When vacuum last ran (ms since the epoch; 0 = never).
  int64_t last_vacuum_ms = 0;
};

struct MaintenanceReport {
  /// Set when a compaction committed: the caller remaps its key index with
  /// it (merge::KeyIndex::ApplyCompaction) or rebuilds the index.
  std::optional<CompactionResult> compaction;
  /// Candidate files compaction left for a later call.
  int64_t compaction_deferred = 0;
  std::optional<VacuumResult> vacuum;
  /// The policy's last_vacuum_ms for the next call.
  int64_t last_vacuum_ms = 0;
  /// The table after maintenance (the input snapshot if nothing committed).
  std::shared_ptr<const Snapshot> snapshot;
};

/// Compacts if something qualifies, then vacuums if due (after compaction,
/// so the files it just removed are judged by the retention like any other).
/// A compaction that lost to a concurrent commit fails with the commit
/// conflict (transaction.h); the caller may simply retry after its next batch.
Result<MaintenanceReport> MaintainTable(const io::TableLocation& location,
                                        std::shared_ptr<const Snapshot> snapshot,
                                        const MaintenancePolicy& policy, int64_t now_ms);

}  // namespace sluice::delta
