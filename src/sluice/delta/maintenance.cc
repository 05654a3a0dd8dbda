#include "sluice/delta/maintenance.h"

namespace sluice::delta {

Result<MaintenanceReport> MaintainTable(const io::TableLocation& location,
                                        std::shared_ptr<const Snapshot> snapshot,
                                        const MaintenancePolicy& policy, int64_t now_ms) {
  MaintenanceReport report;
  report.snapshot = snapshot;
  report.last_vacuum_ms = policy.last_vacuum_ms;
  if (policy.compact) {
    // Planning is metadata only; CompactTable would plan again, but only
    // after this says there is work, so the common case reads nothing.
    ARROW_ASSIGN_OR_RAISE(auto plan, PlanCompaction(*snapshot, policy.compaction));
    report.compaction_deferred = plan.files_deferred;
    if (!plan.Empty()) {
      ARROW_ASSIGN_OR_RAISE(auto result, CompactTable(location, snapshot, policy.compaction));
      report.compaction_deferred = result.files_deferred;
      if (result.committed) {
        report.snapshot = result.snapshot;
        report.compaction = std::move(result);
      }
    }
  }
  const bool due =
      policy.last_vacuum_ms <= 0 || now_ms - policy.last_vacuum_ms >= policy.vacuum_interval_ms;
  if (policy.vacuum && due) {
    VacuumOptions options = policy.vacuum_options;
    if (options.now_ms <= 0) options.now_ms = now_ms;
    ARROW_ASSIGN_OR_RAISE(report.vacuum, VacuumTable(location, report.snapshot, options));
    report.last_vacuum_ms = now_ms;
  }
  return report;
}

}  // namespace sluice::delta
