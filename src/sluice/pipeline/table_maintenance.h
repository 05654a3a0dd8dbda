// Maintenance of every Delta table one source table owns, between batches
// (docs/maintenance.md): the log table, the merged table with its tombstone
// side table, the history table with its side table. Checkpoints come with
// commits; here: compaction of small and DV-heavy files, and vacuum of
// unreferenced files past their retention, each when due.
#pragma once

#include <cstdint>

#include "sluice/delta/maintenance.h"
#include "sluice/pipeline/config.h"
#include "sluice/pipeline/table_ingest.h"

namespace sluice::pipeline {

struct MaintenanceResult {
  bool ran = false;
  int64_t compacted_files_removed = 0;
  int64_t compacted_files_added = 0;
  int64_t vacuumed_files = 0;
  /// Files were compacted or vacuumed (worth a progress line).
  bool worked() const { return compacted_files_removed > 0 || vacuumed_files > 0; }
};

/// When each table was last maintained and vacuumed.
class TableMaintenanceSchedule {
 public:
  TableMaintenanceSchedule();

  /// True when maintenance is due: every maintenance_interval, and once when
  /// a drain has caught up.
  bool Due(const Config& config, int64_t now_ms, bool drain, bool caught_up) const;

  /// Marks a maintenance pass as started at `now_ms`.
  void Start(int64_t now_ms, MaintenanceResult& result);
  /// The log table's part.
  Status RunLog(const Config& config, TableIngest& ingest, int64_t now_ms,
                MaintenanceResult& result);
  /// The merged and history tables' part (a failure here is the follower's).
  Status RunFollower(const Config& config, TableFollower& follower, int64_t now_ms,
                     MaintenanceResult& result);
  /// The policy of every table the pipeline keeps (its own side tables and
  /// the event log too), given when that table was last vacuumed;
  /// compaction commits checkpoint through `checkpoint_queue` (may be null).
  delta::MaintenancePolicy PolicyFor(const Config& config, int64_t last_vacuum_ms,
                                     delta::CheckpointQueue* checkpoint_queue = nullptr) const;

 private:
  int64_t last_ms_ = 0;
  bool ran_this_run_ = false;
  int64_t log_vacuum_ms_ = 0, merged_vacuum_ms_ = 0, history_vacuum_ms_ = 0;
};

}  // namespace sluice::pipeline
