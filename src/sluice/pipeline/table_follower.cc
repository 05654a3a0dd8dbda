#include "sluice/pipeline/table_follower.h"

#include <arrow/api.h>

#include <algorithm>

#include "sluice/delta/table_writer.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/pipeline/fault_points.h"
#include "sluice/pipeline/merge_settings.h"

namespace sluice::pipeline {

namespace {

// The merge's invalid rows (null key, no usable sequence) as dead letters,
// named by the event's origin (file + row) when it has one.
void AddMergeDeadLetters(const merge::MergePlan& plan, const arrow::RecordBatch& batch,
                         const std::string& fallback, DeadLetterWriter& dead) {
  auto origin = batch.GetColumnByName(std::string(kOriginColumn));
  for (const auto& bad : plan.invalid) {
    std::string where = fallback;
    if (origin && origin->type_id() == arrow::Type::STRING && origin->IsValid(bad.row)) {
      where = std::string(static_cast<const arrow::StringArray&>(*origin).GetView(bad.row));
    }
    dead.Add({where, bad.row, "merge: " + bad.reason, batch.Slice(bad.row, 1)->ToString()});
  }
}

void RecordMergeCounts(const merge::MergePlan& plan, const merge::MergeCommit& commit,
                       FollowResult& result) {
  if (!commit.outcome.already_applied) {
    result.upserts = plan.counts.upserts;
    result.deletes = plan.counts.deletes;
    result.rows_deleted = plan.counts.rows_deleted;
    result.ignored_stale = plan.counts.ignored_stale;
    result.superseded = plan.counts.superseded;
    result.exact_seq_reads = plan.counts.exact_seq_reads;
  }
  result.invalid = plan.counts.invalid;
}

}  // namespace

TableFollower::TableFollower(const Config& config, std::string qualified, std::string merged_path,
                             std::string history_path, std::vector<std::string> keys,
                             std::string app_id, delta::CheckpointQueue* checkpoint_queue)
    : config_(config),
      qualified_(std::move(qualified)),
      merged_path_(std::move(merged_path)),
      history_path_(std::move(history_path)),
      keys_(std::move(keys)),
      app_id_(std::move(app_id)),
      checkpoint_queue_(checkpoint_queue) {}

Status TableFollower::Open() {
  if (merger_) return Status::OK();
  auto merger = std::make_unique<merge::MergedTable>(merged_path_, keys_, app_id_,
                                                     MergeSettingsFor(config_, checkpoint_queue_));
  ARROW_RETURN_NOT_OK(merger->Open());
  if (has_history()) {
    ARROW_ASSIGN_OR_RAISE(auto loc, io::OpenTableLocation(history_path_));
    ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(loc));
    history_through_ = snapshot ? snapshot->TxnVersion(app_id_).value_or(-1) : -1;
    merge::HistoryOptions options;
    options.keys = keys_;
    options.track_history = config_.ForTable(qualified_).track_history;
    ARROW_ASSIGN_OR_RAISE(history_, merge::HistoryTable::Open(std::move(loc), options));
  }
  merged_through_ = merger->done().value_or(-1);
  merger_ = std::move(merger);
  return Status::OK();
}

void TableFollower::Reset() {
  merger_.reset();
  history_.reset();
}

int64_t TableFollower::through() const {
  return history_ ? std::min(merged_through_, history_through_) : merged_through_;
}

std::shared_ptr<const delta::Snapshot> TableFollower::merged_snapshot() const {
  return merger_ ? merger_->snapshot() : nullptr;
}

int64_t TableFollower::IndexBytes() const { return merger_ ? merger_->IndexBytes() : 0; }

Status TableFollower::ApplyHistory(const std::shared_ptr<arrow::Table>& changes, int64_t version,
                                   FollowResult& result) {
  if (!history_ || !changes || changes->num_rows() == 0) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto batch, changes->CombineChunksToBatch());
  merge::HistoryWriteOptions options;
  options.mode = MergeSettingsFor(config_).mode;
  // Orphan deletes are kept as long as the merged table keeps tombstones.
  options.orphan_retention_ms = MergeSettingsFor(config_).tombstone_retention_ms;
  options.app_id = app_id_;
  options.version = version;
  options.allow_schema_change = true;  // evolution was decided on the log side
  options.commit.checkpoint_interval = config_.checkpoint_interval;
  options.commit.checkpoint_queue = checkpoint_queue_;
  options.data = DataWriteOptionsFor(config_);
  auto applied = history_->Apply(*batch, options);
  if (!applied.ok()) {
    return applied.status().WithMessage("history table ", history_path_, ": ",
                                        applied.status().message());
  }
  result.history = true;
  result.history_version = applied->table_version;
  if (!applied->already_applied) result.history_versions_opened = applied->counts.versions_opened;
  return Status::OK();
}

Status TableFollower::ApplyRows(const std::shared_ptr<arrow::Table>& merge_rows, bool merge,
                                const std::shared_ptr<arrow::Table>& history_rows, bool history,
                                int64_t version, int64_t now_ms, bool record_empty,
                                DeadLetterWriter& dead, std::mutex& dead_letters_mu,
                                FollowResult& result) {
  // 1. The plan (pure), and the rows it cannot key as dead letters.
  std::optional<merge::MergePlan> plan;
  std::shared_ptr<arrow::RecordBatch> batch;  // planned again if another writer moves the table
  if (merge && merge_rows && merge_rows->num_rows() > 0) {
    ARROW_ASSIGN_OR_RAISE(batch, merge_rows->CombineChunksToBatch());
    result.changes = batch->num_rows();
    ARROW_ASSIGN_OR_RAISE(plan, merger_->Plan(*batch, version, now_ms));
    AddMergeDeadLetters(*plan, *batch, merged_path_, dead);
  }
  // 2. Dead letters, under this version's txn (a retry writes them once).
  if (dead.size() > 0 || record_empty) {
    std::lock_guard<std::mutex> lock(dead_letters_mu);
    ARROW_RETURN_NOT_OK(dead.Flush(app_id_, version, now_ms * 1000));
  }
  // 3. History first: the merged table's txn is what a restart starts from
  // when both are level.
  if (history) ARROW_RETURN_NOT_OK(ApplyHistory(history_rows, version, result));
  ARROW_RETURN_NOT_OK(CheckFault("history commit"));
  // 4. The merged table.
  std::optional<merge::MergeCommit> commit;
  if (plan) {
    ARROW_ASSIGN_OR_RAISE(commit, merger_->Commit(*batch, *plan, version, now_ms));
    RecordMergeCounts(*plan, *commit, result);
  } else if (record_empty) {
    // No rows: an empty commit still records the position in the txn.
    ARROW_ASSIGN_OR_RAISE(commit, merger_->CommitEmpty(version, now_ms));
  } else {
    // Only commits without new rows (cursor-only, a compaction of the log):
    // nothing to write. The merged table's txn stays behind them; a restart
    // reads them again, which costs a log read and nothing else.
    return Status::OK();
  }
  if (commit->snapshot) {
    result.merged = true;
    result.merged_version = commit->outcome.version;
    result.already_applied = commit->outcome.already_applied;
    result.merged_rows = commit->snapshot->NumRecords();
    result.index_bytes = merger_->IndexBytes();
  }
  return Status::OK();
}

Result<std::optional<TableFollower::PendingMerge>> TableFollower::Prepare(
    const delta::Snapshot& log, const io::TableLocation& log_location, LogTail& tail,
    int64_t now_ms, FollowResult& result) {
  ARROW_RETURN_NOT_OK(Open());
  // The history table may be behind the merged table (turned on later):
  // read from the older of the two; each takes only what it lacks.
  ARROW_ASSIGN_OR_RAISE(auto commits,
                        tail.Read(log, log_location, through(), config_.merge_max_rows));
  if (commits.empty()) return std::nullopt;
  PendingMerge m;
  m.version = commits.back().version;
  m.now_ms = now_ms;
  auto rows_after = [&](int64_t done) -> Result<std::shared_ptr<arrow::Table>> {
    std::vector<std::shared_ptr<arrow::Table>> parts;
    for (const auto& c : commits) {
      if (c.version > done && c.rows->num_rows() > 0) parts.push_back(c.rows);
    }
    if (parts.empty()) return std::shared_ptr<arrow::Table>();
    return arrow::ConcatenateTables(parts);
  };
  result.from_version = commits.front().version;
  result.to_version = m.version;
  if (history_ && history_through_ < m.version) {
    m.history = true;
    ARROW_ASSIGN_OR_RAISE(m.history_rows, rows_after(history_through_));
  }
  if (merged_through_ < m.version) {
    m.merge = true;
    ARROW_ASSIGN_OR_RAISE(m.merge_rows, rows_after(merged_through_));
  }
  return m;
}

Status TableFollower::Run(const PendingMerge& m, std::mutex& dead_letters_mu,
                          FollowResult& result) {
  DeadLetterWriter dead(qualified_, config_.sink_path, DataWriteOptionsFor(config_),
                        checkpoint_queue_);
  return ApplyRows(m.merge_rows, m.merge, m.history_rows, m.history, m.version, m.now_ms,
                   /*record_empty=*/false, dead, dead_letters_mu, result);
}

void TableFollower::Finish(const PendingMerge& m, LogTail& tail) {
  if (m.history) history_through_ = m.version;
  if (m.merge) merged_through_ = m.version;
  tail.ForgetThrough(m.version);
}

Status TableFollower::Apply(const std::shared_ptr<arrow::Table>& rows, int64_t version,
                            int64_t now_ms, DeadLetterWriter& dead, std::mutex& dead_letters_mu,
                            FollowResult& result) {
  ARROW_RETURN_NOT_OK(Open());
  ARROW_RETURN_NOT_OK(ApplyRows(rows, true, rows, true, version, now_ms, /*record_empty=*/true,
                                dead, dead_letters_mu, result));
  merged_through_ = version;
  if (history_) history_through_ = version;
  return Status::OK();
}

Status TableFollower::Maintain(const delta::MaintenancePolicy& merged_policy,
                               const delta::MaintenancePolicy& history_policy, int64_t now_ms,
                               delta::MaintenanceReport& merged_report,
                               std::optional<delta::MaintenanceReport>& history_report) {
  if (!merger_) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(merged_report,
                        merger_->Maintain(merged_policy, tombstones_vacuum_ms_, now_ms));
  if (!history_) return Status::OK();
  auto report = history_->Maintain(history_policy, orphans_vacuum_ms_, now_ms);
  if (!report.ok()) {
    return report.status().WithMessage("history table ", history_path_, ": ",
                                       report.status().message());
  }
  history_report = std::move(*report);
  return Status::OK();
}

}  // namespace sluice::pipeline
