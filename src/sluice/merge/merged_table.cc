#include "sluice/merge/merged_table.h"

#include <arrow/api.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "sluice/core/clock.h"
#include "sluice/delta/table_writer.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/tombstone_store.h"

namespace sluice::merge {

MergedTable::MergedTable(std::string path, std::vector<std::string> keys, std::string app_id,
                         MergeSettings settings)
    : path_(std::move(path)),
      keys_(std::move(keys)),
      app_id_(std::move(app_id)),
      settings_(std::move(settings)) {}

Status MergedTable::Open() {
  if (!location_) {
    ARROW_ASSIGN_OR_RAISE(auto loc, io::OpenTableLocation(path_));
    location_ = std::move(loc);
  }
  ARROW_ASSIGN_OR_RAISE(snapshot_, delta::LoadIfExists(*location_));
  index_.reset();
  tombstones_snapshot_.reset();
  if (snapshot_) {
    auto recorded = PrimaryKeysOf(*snapshot_);
    if (recorded && *recorded != keys_) {
      return Status::Invalid("merged table ", path_, " is keyed by ", EncodePrimaryKeys(*recorded),
                             " but the source's keys are ", EncodePrimaryKeys(keys_),
                             "; the table stops (a key change needs a new merged table)");
    }
  }
  return Status::OK();
}

void MergedTable::Invalidate() { (void)Reload(); }

Status MergedTable::Reload() {
  index_.reset();
  tombstones_snapshot_.reset();
  if (!location_) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(snapshot_, delta::LoadIfExists(*location_));
  return Status::OK();
}

void MergedTable::Backoff(int replan) const {
  int64_t ms = settings_.replan_backoff_ms << std::min(replan - 1, 10);
  ms = std::min<int64_t>(ms, 1000);
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::optional<int64_t> MergedTable::done() const {
  if (!snapshot_) return std::nullopt;
  return snapshot_->TxnVersion(app_id_);
}

Result<MergePlan> MergedTable::Plan(const arrow::RecordBatch& changes, int64_t version,
                                    int64_t now_ms) {
  auto merged_schema = MergedTableSchema(*changes.schema());
  Status st = EnsureIndex(*merged_schema, now_ms);
  if (!st.ok()) {
    index_.reset();
    return st.WithMessage("merged table ", path_, ": ", st.message());
  }
  PlanOptions popts;
  popts.now_ms = now_ms;
  popts.batch_version = version;
  auto plan = PlanBatch(*index_, changes, popts);
  if (!plan.ok()) {
    index_.reset();
    return plan.status().WithMessage("merged table ", path_, ": ", plan.status().message());
  }
  return plan;
}

Result<MergeCommit> MergedTable::Commit(const arrow::RecordBatch& changes, MergePlan& plan,
                                        int64_t version, int64_t now_ms) {
  for (int attempt = 1;; ++attempt) {
    auto commit = CommitOnce(plan, version, now_ms);
    if (commit.ok() || !IsStalePlan(commit.status())) return commit;
    if (attempt >= settings_.max_plan_attempts) {
      return commit.status().WithMessage(commit.status().message(), " (planned ", attempt,
                                         " times; other writers kept moving the table)");
    }
    // Another writer moved the table: plan again on its new version (the
    // failed attempt already reloaded it and dropped the index).
    ++replans_;
    Backoff(attempt);
    ARROW_RETURN_NOT_OK(Reload());
    auto applied = done();
    if (applied && *applied >= version) continue;  // WriteMerge reports already_applied
    ARROW_ASSIGN_OR_RAISE(plan, Plan(changes, version, now_ms));
  }
}

Result<MergeApplied> MergedTable::Apply(const arrow::RecordBatch& changes, int64_t version,
                                        int64_t now_ms) {
  MergeApplied applied;
  ARROW_ASSIGN_OR_RAISE(applied.plan, Plan(changes, version, now_ms));
  ARROW_ASSIGN_OR_RAISE(applied.commit, Commit(changes, applied.plan, version, now_ms));
  return applied;
}

Result<MergeCommit> MergedTable::CommitOnce(const MergePlan& plan, int64_t version,
                                            int64_t now_ms) {
  MergeWriteOptions mopts;
  mopts.mode = settings_.mode;
  mopts.app_id = app_id_;
  mopts.version = version;
  mopts.tombstone_retention_ms = settings_.tombstone_retention_ms;
  mopts.now_ms = now_ms;
  mopts.allow_schema_change =
      snapshot_ && plan.appends && !snapshot_->schema()->Equals(*plan.appends->schema(), false);
  mopts.configuration[kPrimaryKeysProperty] = EncodePrimaryKeys(keys_);
  mopts.commit.checkpoint_interval = settings_.checkpoint_interval;
  mopts.commit.checkpoint_queue = settings_.checkpoint_queue;
  mopts.data = settings_.data;
  mopts.tombstone_snapshot = &tombstones_snapshot_;
  auto commit = WriteMerge(*location_, snapshot_, plan, mopts);
  if (!commit.ok()) {
    Invalidate();  // the index is a cache: rebuild it (and re-read the table) next time
    return commit.status().WithMessage("merged table ", path_, ": ", commit.status().message());
  }
  snapshot_ = commit->snapshot;
  if (index_) {
    // Landed on top of another writer's commits: the index knows only ours.
    const bool others =
        !commit->outcome.already_applied && commit->outcome.version != plan.base_version + 1;
    if (others || (!commit->outcome.already_applied && index_->version() != plan.base_version)) {
      index_.reset();
    } else if (!index_->Apply(plan, commit->outcome).ok()) {
      index_.reset();
    } else if (now_ms - last_purge_ms_ > 3'600'000) {
      index_->PurgeTombstones(now_ms - settings_.tombstone_retention_ms);
      last_purge_ms_ = now_ms;
    }
  }
  return commit;
}

Result<MergeCommit> MergedTable::CommitEmpty(int64_t version, int64_t now_ms) {
  for (int attempt = 1;; ++attempt) {
    if (!snapshot_) return MergeCommit{};
    MergePlan plan;
    ARROW_ASSIGN_OR_RAISE(plan.appends, arrow::Table::MakeEmpty(snapshot_->schema()));
    plan.base_version = snapshot_->version();
    auto commit = CommitOnce(plan, version, now_ms);
    if (commit.ok() || !IsStalePlan(commit.status()) || attempt >= settings_.max_plan_attempts) {
      return commit;
    }
    ++replans_;
    Backoff(attempt);
    ARROW_RETURN_NOT_OK(Reload());
  }
}

Result<delta::MaintenanceReport> MergedTable::Maintain(const delta::MaintenancePolicy& policy,
                                                       int64_t& tombstones_last_vacuum_ms,
                                                       int64_t now_ms) {
  if (!snapshot_) return delta::MaintenanceReport{};
  auto report = delta::MaintainTable(*location_, snapshot_, policy, now_ms);
  if (!report.ok() && delta::IsCommitConflict(report.status())) {
    // Another writer compacted (or changed) the same files first: their
    // OPTIMIZE did the work. Follow the table; try again next time.
    ARROW_RETURN_NOT_OK(Reload());
    delta::MaintenanceReport skipped;
    skipped.last_vacuum_ms = policy.last_vacuum_ms;
    skipped.snapshot = snapshot_;
    report = std::move(skipped);
  }
  if (!report.ok()) {
    Invalidate();
    return report.status().WithMessage("merged table ", path_, ": ", report.status().message());
  }
  if (report->snapshot) snapshot_ = report->snapshot;
  if (report->compaction && report->compaction->committed && index_) {
    // Invalid when another commit landed in between: rebuilt then.
    if (!index_->ApplyCompaction(*report->compaction).ok()) index_.reset();
  }
  tombstones_snapshot_.reset();  // compaction and vacuum move the side table
  auto side = MaintainTombstones(*location_, policy, tombstones_last_vacuum_ms, now_ms);
  if (!side.ok()) {
    return side.status().WithMessage("tombstones of ", path_, ": ", side.status().message());
  }
  return report;
}

Status MergedTable::EnsureIndex(const arrow::Schema& merged_schema, int64_t now_ms) {
  ARROW_ASSIGN_OR_RAISE(auto encoder, KeyEncoder::Make(merged_schema, keys_));
  const int64_t table_version = snapshot_ ? snapshot_->version() : -1;
  if (index_) {
    const auto& have = index_->encoder().key_types();
    const auto& want = encoder.key_types();
    bool same = have.size() == want.size() && index_->version() == table_version;
    for (size_t i = 0; same && i < have.size(); ++i) same = have[i]->Equals(*want[i]);
    if (same) return Status::OK();
    index_.reset();
  }
  if (!snapshot_) {
    index_ = std::make_unique<KeyIndex>(std::move(encoder), *location_);
    return Status::OK();
  }
  if (now_ms == 0) now_ms = WallClockMs();
  auto done_version = snapshot_->TxnVersion(app_id_);
  ARROW_ASSIGN_OR_RAISE(auto tombstones,
                        LoadTombstones(*location_, done_version ? *done_version : 0,
                                       now_ms - settings_.tombstone_retention_ms));
  ARROW_ASSIGN_OR_RAISE(index_,
                        KeyIndex::Build(*snapshot_, *location_, std::move(encoder), tombstones));
  last_purge_ms_ = now_ms;
  return Status::OK();
}

}  // namespace sluice::merge
