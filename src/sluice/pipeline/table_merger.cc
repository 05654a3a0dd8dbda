#include "sluice/pipeline/table_merger.h"

#include <arrow/api.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "sluice/core/clock.h"
#include "sluice/delta/table_writer.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/tombstone_store.h"

namespace sluice::pipeline {

namespace {}  // namespace

std::string EncodePrimaryKeys(const std::vector<std::string>& keys) {
  return nlohmann::json(keys).dump();
}

std::optional<std::vector<std::string>> PrimaryKeysOf(const delta::Snapshot& snapshot) {
  const auto& conf = snapshot.metadata().configuration;
  auto it = conf.find(kPrimaryKeysProperty);
  if (it == conf.end()) return std::nullopt;
  auto parsed = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return std::nullopt;
  std::vector<std::string> keys;
  for (const auto& k : parsed) {
    if (!k.is_string()) return std::nullopt;
    keys.push_back(k.get<std::string>());
  }
  return keys;
}

MergeSettings MergeSettings::From(const Config& config) {
  MergeSettings s;
  s.mode = config.merge_mode == "copy_on_write" ? merge::MergeMode::kCopyOnWrite
                                                : merge::MergeMode::kDeletionVectors;
  s.tombstone_retention_ms = config.tombstone_retention_ms;
  s.checkpoint_interval = config.checkpoint_interval;
  s.data = DataWriteOptionsFor(config);
  return s;
}

TableMerger::TableMerger(std::string path, std::vector<std::string> keys, std::string app_id,
                         MergeSettings settings)
    : path_(std::move(path)),
      keys_(std::move(keys)),
      app_id_(std::move(app_id)),
      settings_(settings) {}

Status TableMerger::Open() {
  if (!location_) {
    ARROW_ASSIGN_OR_RAISE(auto loc, io::OpenTableLocation(path_));
    location_ = std::move(loc);
  }
  ARROW_ASSIGN_OR_RAISE(snapshot_, delta::LoadIfExists(*location_));
  index_.reset();
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

void TableMerger::Invalidate() {
  index_.reset();
  if (location_) {
    auto reloaded = delta::LoadIfExists(*location_);
    if (reloaded.ok()) snapshot_ = *reloaded;
  }
}

std::optional<int64_t> TableMerger::done() const {
  if (!snapshot_) return std::nullopt;
  return snapshot_->TxnVersion(app_id_);
}

Result<merge::MergePlan> TableMerger::Plan(const arrow::RecordBatch& changes, int64_t version,
                                           int64_t now_ms) {
  auto merged_schema = merge::MergedTableSchema(*changes.schema());
  Status st = EnsureIndex(*merged_schema, now_ms);
  if (!st.ok()) {
    index_.reset();
    return st.WithMessage("merged table ", path_, ": ", st.message());
  }
  merge::PlanOptions popts;
  popts.now_ms = now_ms;
  popts.batch_version = version;
  auto plan = merge::PlanBatch(*index_, changes, popts);
  if (!plan.ok()) {
    index_.reset();
    return plan.status().WithMessage("merged table ", path_, ": ", plan.status().message());
  }
  return plan;
}

Result<merge::MergeCommit> TableMerger::Commit(const merge::MergePlan& plan, int64_t version,
                                               int64_t now_ms) {
  merge::MergeWriteOptions mopts;
  mopts.mode = settings_.mode;
  mopts.app_id = app_id_;
  mopts.version = version;
  mopts.tombstone_retention_ms = settings_.tombstone_retention_ms;
  mopts.now_ms = now_ms;
  mopts.allow_schema_change =
      snapshot_ && plan.appends && !snapshot_->schema()->Equals(*plan.appends->schema(), false);
  mopts.configuration[kPrimaryKeysProperty] = EncodePrimaryKeys(keys_);
  mopts.commit.checkpoint_interval = settings_.checkpoint_interval;
  mopts.data = settings_.data;
  auto commit = merge::WriteMerge(*location_, snapshot_, plan, mopts);
  if (!commit.ok()) {
    Invalidate();  // the index is a cache: rebuild it (and re-read the table) next time
    return commit.status().WithMessage("merged table ", path_, ": ", commit.status().message());
  }
  snapshot_ = commit->snapshot;
  if (index_) {
    if (!commit->outcome.already_applied && index_->version() != plan.base_version) {
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

Result<merge::MergeCommit> TableMerger::CommitEmpty(int64_t version, int64_t now_ms) {
  if (!snapshot_) return merge::MergeCommit{};
  merge::MergePlan plan;
  ARROW_ASSIGN_OR_RAISE(plan.appends, arrow::Table::MakeEmpty(snapshot_->schema()));
  plan.base_version = snapshot_->version();
  return Commit(plan, version, now_ms);
}

Result<delta::MaintenanceReport> TableMerger::Maintain(const delta::MaintenancePolicy& policy,
                                                       int64_t& tombstones_last_vacuum_ms,
                                                       int64_t now_ms) {
  if (!snapshot_) return delta::MaintenanceReport{};
  auto report = delta::MaintainTable(*location_, snapshot_, policy, now_ms);
  if (!report.ok()) {
    Invalidate();
    return report.status().WithMessage("merged table ", path_, ": ", report.status().message());
  }
  if (report->snapshot) snapshot_ = report->snapshot;
  if (report->compaction && report->compaction->committed && index_) {
    if (!index_->ApplyCompaction(*report->compaction).ok()) index_.reset();
  }
  // The tombstone side table: small appends, compacted and vacuumed alike.
  ARROW_ASSIGN_OR_RAISE(auto side, merge::TombstoneLocation(*location_));
  ARROW_ASSIGN_OR_RAISE(auto side_snapshot, delta::LoadIfExists(side));
  if (side_snapshot) {
    delta::MaintenancePolicy side_policy = policy;
    side_policy.compaction = merge::TombstoneCompactionOptions(policy.compaction);
    side_policy.last_vacuum_ms = tombstones_last_vacuum_ms;
    auto side_report = delta::MaintainTable(side, side_snapshot, side_policy, now_ms);
    if (!side_report.ok()) {
      return side_report.status().WithMessage("tombstones of ", path_, ": ",
                                              side_report.status().message());
    }
    tombstones_last_vacuum_ms = side_report->last_vacuum_ms;
  }
  return report;
}

Status TableMerger::EnsureIndex(const arrow::Schema& merged_schema, int64_t now_ms) {
  ARROW_ASSIGN_OR_RAISE(auto encoder, merge::KeyEncoder::Make(merged_schema, keys_));
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
    index_ = std::make_unique<merge::KeyIndex>(std::move(encoder), *location_);
    return Status::OK();
  }
  if (now_ms == 0) now_ms = WallClockMs();
  auto done_version = snapshot_->TxnVersion(app_id_);
  ARROW_ASSIGN_OR_RAISE(auto tombstones,
                        merge::LoadTombstones(*location_, done_version ? *done_version : 0,
                                              now_ms - settings_.tombstone_retention_ms));
  ARROW_ASSIGN_OR_RAISE(
      index_, merge::KeyIndex::Build(*snapshot_, *location_, std::move(encoder), tombstones));
  last_purge_ms_ = now_ms;
  return Status::OK();
}

}  // namespace sluice::pipeline
