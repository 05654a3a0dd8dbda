#include "sluice/pipeline/table_pipeline.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/filesystem/filesystem.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "sluice/core/arrow_init.h"
#include "sluice/core/clock.h"
#include "sluice/delta/maintenance.h"
#include "sluice/delta/schema.h"
#include "sluice/delta/table_writer.h"
#include "sluice/io/local_log_store.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/merge_writer.h"
#include "sluice/merge/tombstone_store.h"
#include "sluice/pipeline/dead_letters.h"
#include "sluice/pipeline/merge_settings.h"
#include "sluice/pipeline/schema_evolution.h"
#include "sluice/sources/datastream/change_batch_builder.h"
#include "sluice/sources/datastream/file_decoder.h"
#include "sluice/sources/datastream/table_identity.h"

namespace sluice::pipeline {

namespace ds = sources::datastream;

namespace {

ds::DecodeOptions DecodeOptionsFor(const Config& config) {
  ds::DecodeOptions o;
  o.format = config.format == "json" ? ds::FileFormat::kJson : ds::FileFormat::kAvro;
  o.number_as_string = config.number_type == "string";
  return o;
}

// Pinned JSON column types of a table, written as Delta type names
// ("decimal(7,2)", "long", "timestamp", …).
Result<std::map<std::string, std::shared_ptr<arrow::DataType>>> PinnedTypes(
    const Config& config, const std::string& qualified) {
  std::map<std::string, std::shared_ptr<arrow::DataType>> out;
  for (const auto& [column, name] : config.ForTable(qualified).column_types) {
    auto type = delta::ArrowTypeFromDeltaType(nlohmann::ordered_json(name), column);
    if (!type.ok()) {
      return Status::Invalid("tables.\"", qualified, "\".column_types.", column, ": ",
                             type.status().message());
    }
    out[column] = *type;
  }
  return out;
}

// Newest `_cdc_ts` of a change batch, in microseconds (0 if none). A plain
// loop rather than arrow::compute::MinMax: since Arrow 21 the aggregate
// kernels live in libarrow_compute and are only registered after
// arrow::compute::Initialize(), so MinMax failed here and every progress
// line reported "lag 0s".
int64_t NewestTimestampUs(const arrow::RecordBatch& batch) {
  auto ts = batch.GetColumnByName("_cdc_ts");
  if (!ts || ts->type_id() != arrow::Type::TIMESTAMP) return 0;
  const auto& array = static_cast<const arrow::TimestampArray&>(*ts);
  int64_t newest = 0;
  for (int64_t i = 0; i < array.length(); ++i) {
    if (array.IsValid(i)) newest = std::max(newest, array.Value(i));
  }
  return newest;
}

// True if the sequences ascend already (files usually arrive in order), so
// the sort and its copy of every column can be skipped.
bool SortedBySeq(const arrow::ChunkedArray& seq) {
  std::string_view previous;
  bool first = true;
  for (const auto& chunk : seq.chunks()) {
    if (chunk->type_id() != arrow::Type::BINARY) return false;
    const auto& values = static_cast<const arrow::BinaryArray&>(*chunk);
    if (values.null_count() > 0) return false;
    for (int64_t i = 0; i < values.length(); ++i) {
      std::string_view v = values.GetView(i);
      if (!first && v < previous) return false;
      previous = v;
      first = false;
    }
  }
  return true;
}

// The merge's invalid rows (null key, no usable sequence) as dead letters,
// named by the event's origin (file + row) when it has one.
void AddMergeDeadLetters(const merge::MergePlan& plan, const arrow::RecordBatch& batch,
                         const std::string& fallback_file, DeadLetterWriter& dead) {
  auto origin = batch.GetColumnByName("_cdc_origin");
  for (const auto& bad : plan.invalid) {
    std::string file = fallback_file;
    if (origin && origin->type_id() == arrow::Type::STRING && origin->IsValid(bad.row)) {
      file = std::string(static_cast<const arrow::StringArray&>(*origin).GetView(bad.row));
    }
    dead.Add({file, bad.row, "merge: " + bad.reason, batch.Slice(bad.row, 1)->ToString()});
  }
}

// What a committed merge did, for the progress line and the metrics.
void RecordMergeCounts(const merge::MergePlan& plan, const merge::MergeCommit& commit,
                       StepResult& result) {
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

// The merge's part of a step that ran on a worker.
void CopyMergeResult(const StepResult& from, StepResult& to) {
  to.merge_ms = from.merge_ms;
  to.merged = from.merged;
  to.merged_version = from.merged_version;
  to.merge_already_applied = from.merge_already_applied;
  to.merge_changes = from.merge_changes;
  to.merge_from_version = from.merge_from_version;
  to.merge_to_version = from.merge_to_version;
  to.merged_rows = from.merged_rows;
  to.index_bytes = from.index_bytes;
  to.exact_seq_reads = from.exact_seq_reads;
  to.history = from.history;
  to.history_version = from.history_version;
  to.history_versions_opened = from.history_versions_opened;
  to.upserts = from.upserts;
  to.deletes = from.deletes;
  to.rows_deleted = from.rows_deleted;
  to.ignored_stale = from.ignored_stale;
  to.superseded = from.superseded;
  to.invalid += from.invalid;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The log-shaped schema of a merged table (which keeps the payload, _cdc_seq
// and _cdc_ts): its fields, then the batch's other _cdc_ columns.
std::shared_ptr<arrow::Schema> LogShapedSchema(const std::shared_ptr<arrow::Schema>& merged,
                                               const std::shared_ptr<arrow::Schema>& batch) {
  arrow::FieldVector fields = merged->fields();
  for (const auto& f : batch->fields()) {
    if (f->name().rfind("_cdc_", 0) == 0 && merged->GetFieldIndex(f->name()) < 0) {
      fields.push_back(f);
    }
  }
  return arrow::schema(std::move(fields));
}

}  // namespace

TablePipeline::TablePipeline(const Config& config, std::shared_ptr<arrow::fs::FileSystem> source_fs,
                             std::string source_root, std::string folder)
    : config_(config),
      source_fs_(std::move(source_fs)),
      source_root_(std::move(source_root)),
      folder_(std::move(folder)),
      app_id_(config.name + "/" + folder_),
      tail_(config.merge_max_rows) {}

Result<std::shared_ptr<arrow::Buffer>> TablePipeline::ReadSource(const std::string& relative) {
  std::string path = source_root_ + "/" + folder_ + "/" + relative;
  ARROW_ASSIGN_OR_RAISE(auto file, source_fs_->OpenInputFile(path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
  return file->ReadAt(0, size);
}

std::string TablePipeline::CursorPath(int64_t version) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld.json", static_cast<long long>(version));
  return cursor_prefix_ + name;
}

Status TablePipeline::Open(const std::vector<ds::SourceFile>& listing) {
  // The table's identity comes from its events; peek at the first file.
  std::shared_ptr<arrow::RecordBatch> first;
  for (const auto& f : listing) {
    auto bytes = ReadSource(f.path);
    if (!bytes.ok()) continue;
    auto decoded = ds::DecodeFile(*bytes, folder_ + "/" + f.path, DecodeOptionsFor(config_));
    if (decoded.ok() && !decoded->batches.empty()) {
      first = decoded->batches.front();
      break;
    }
  }
  ds::TableIdentity id = ds::IdentifyTable(first.get(), folder_);
  qualified_ = id.Qualified();
  decode_options_ = DecodeOptionsFor(config_);
  ARROW_ASSIGN_OR_RAISE(decode_options_.pinned_types, PinnedTypes(config_, qualified_));
  merged_path_ =
      io::JoinPath(io::JoinPath(config_.sink_path, id.database), config_.table_prefix + id.table);
  merger_.reset();
  history_.reset();
  tail_.Clear();
  merged_through_ = -1;
  history_through_ = -1;
  history_enabled_ = config_.ForTable(qualified_).history.value_or(config_.history_tables);
  last_maintenance_ms_ = WallClockUs() / 1000;
  history_path_ = history_enabled_ ? merged_path_ + "_history" : std::string();
  std::shared_ptr<const delta::Snapshot> merged_snapshot;
  {
    ARROW_ASSIGN_OR_RAISE(auto merged_loc, io::OpenTableLocation(merged_path_));
    ARROW_ASSIGN_OR_RAISE(merged_snapshot, delta::LoadIfExists(merged_loc));
  }
  if (config_.log_tables) {
    log_path_ = io::JoinPath(io::JoinPath(config_.sink_path, id.database),
                             config_.table_prefix + id.table + "_log");
    ARROW_ASSIGN_OR_RAISE(auto loc, io::OpenTableLocation(log_path_));
    log_ = std::move(loc);
    ARROW_ASSIGN_OR_RAISE(snapshot_, delta::LoadIfExists(*log_));
  } else {
    log_path_.clear();
    log_.reset();
    snapshot_.reset();
  }
  // The keys: configured, else recorded by the log or merged table, else
  // those of the first batch (then recorded when the tables are created).
  keys_known_ = false;
  keys_.clear();
  const auto& configured = config_.ForTable(qualified_).primary_keys;
  if (!configured.empty()) {
    keys_ = configured;
    keys_known_ = true;
  } else if (auto recorded = snapshot_ ? merge::PrimaryKeysOf(*snapshot_) : std::nullopt) {
    keys_ = *recorded;
    keys_known_ = true;
  } else if (auto merged_keys =
                 merged_snapshot ? merge::PrimaryKeysOf(*merged_snapshot) : std::nullopt) {
    keys_ = *merged_keys;
    keys_known_ = true;
  }
  // The master cursor: the log table's txn, or the merged table's when log
  // tables are off; the cursor files live next to it (or under CHECKPOINT_DIR).
  std::optional<io::TableLocation> merged_loc;
  if (!config_.log_tables) {
    ARROW_ASSIGN_OR_RAISE(auto loc, io::OpenTableLocation(merged_path_));
    merged_loc = std::move(loc);
  }
  const io::TableLocation& master_loc = config_.log_tables ? *log_ : *merged_loc;
  auto master = config_.log_tables ? snapshot_ : merged_snapshot;
  std::string master_app = app_id_;
  if (config_.checkpoint_dir.empty()) {
    cursor_store_ = master_loc.log;
    cursor_prefix_ = "_sluice/cursors/" + folder_ + "/";
  } else {
    ARROW_ASSIGN_OR_RAISE(auto ckpt, io::OpenTableLocation(config_.checkpoint_dir));
    cursor_store_ = ckpt.log;
    cursor_prefix_ = config_.name + "/" + folder_ + "/";
  }
  cursor_ = ds::FileCursor();
  if (master) {
    auto done = master->TxnVersion(master_app);
    if (done && *done > 0) {
      ARROW_ASSIGN_OR_RAISE(std::string text, cursor_store_->Read(CursorPath(*done)));
      ARROW_ASSIGN_OR_RAISE(cursor_, ds::FileCursor::FromJson(text, CursorPath(*done)));
      if (static_cast<int64_t>(cursor_.count()) != *done) {
        return Status::Invalid("table ", qualified_, ": cursor ", CursorPath(*done), " holds ",
                               cursor_.count(), " files but the ",
                               config_.log_tables ? "log" : "merged", " table's txn says ", *done);
      }
    }
  }
  // A cursor file one version ahead of the commit is a batch that was about
  // to commit when the process died: redo exactly that batch, so its dead
  // letters (already committed under that version) stay consistent.
  auto ahead = cursor_store_->Read(CursorPath(static_cast<int64_t>(cursor_.count()) + 1));
  resume_.clear();
  if (ahead.ok()) {
    auto planned = ds::FileCursor::FromJson(*ahead, "planned batch");
    if (planned.ok()) {
      for (const auto& f : listing) {
        if (planned->Contains(f.path) && !cursor_.Contains(f.path)) resume_.push_back(f);
      }
    }
  }
  opened_ = true;
  return Status::OK();
}

Result<StepResult> TablePipeline::Step(const std::vector<ds::SourceFile>& listing, bool drain) {
  auto result = StepOnce(listing, drain);
  if (!result.ok()) {
    // A failed step may have written its cursor file, dead letters or merge:
    // open again (re-reading the tables and the planned batch) so the retry
    // redoes exactly that batch, as after a restart.
    opened_ = false;
    merger_.reset();
    history_.reset();
  }
  return result;
}

Result<merge::MergedTable*> TablePipeline::Merger() {
  if (!merger_) {
    // With log tables the merged table follows the log (its txn counts log
    // versions); without, it is the cursor itself (its txn counts files).
    std::string app = config_.log_tables ? app_id_ + "#log" : app_id_;
    auto merger =
        std::make_unique<merge::MergedTable>(merged_path_, keys_, app, MergeSettingsFor(config_));
    ARROW_RETURN_NOT_OK(merger->Open());
    if (history_enabled_) {
      ARROW_ASSIGN_OR_RAISE(auto loc, io::OpenTableLocation(history_path_));
      ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(loc));
      history_through_ = snapshot ? snapshot->TxnVersion(app).value_or(-1) : -1;
      merge::HistoryOptions options;
      options.keys = keys_;
      options.track_history = config_.ForTable(qualified_).track_history;
      ARROW_ASSIGN_OR_RAISE(history_, merge::HistoryTable::Open(std::move(loc), options));
    }
    merger_ = std::move(merger);
    if (config_.log_tables) merged_through_ = merger_->done().value_or(-1);
  }
  return merger_.get();
}

Status TablePipeline::ApplyHistory(const std::shared_ptr<arrow::Table>& changes, int64_t version,
                                   StepResult& result) {
  if (!history_ || !changes || changes->num_rows() == 0) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto batch, changes->CombineChunksToBatch());
  merge::HistoryWriteOptions options;
  options.mode = MergeSettingsFor(config_).mode;
  // Orphan deletes are kept as long as the merged table keeps tombstones.
  options.orphan_retention_ms = MergeSettingsFor(config_).tombstone_retention_ms;
  options.app_id = config_.log_tables ? app_id_ + "#log" : app_id_;
  options.version = version;
  options.allow_schema_change = true;  // evolution was decided on the log side
  options.commit.checkpoint_interval = config_.checkpoint_interval;
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

Result<StepResult> TablePipeline::StepOnce(const std::vector<ds::SourceFile>& listing, bool drain) {
  StepResult result;
  if (!opened_) {
    // The table's identity (database, table, hence the log table's path)
    // comes from its events; a folder seen before its first file lands (an
    // empty directory tree on a local or mounted source) would otherwise be
    // named by guessing from the folder name, and "sales_eu_orders" would
    // then become table "eu_orders" of database "sales" for good. Wait.
    if (listing.empty()) return result;
    ARROW_RETURN_NOT_OK(Open(listing));
  }
  auto pending = cursor_.Pending(listing, static_cast<size_t>(config_.max_files_per_batch));
  if (!resume_.empty()) pending = std::move(resume_);
  resume_.clear();

  auto follows = [&] { return config_.log_tables && keys_known_ && !keys_.empty() && snapshot_; };
  auto merge_due = [&](int64_t now_ms) {
    const int64_t through =
        history_ ? std::min(merged_through_, history_through_) : merged_through_;
    const bool behind = through < snapshot_->version();
    const bool due = (drain && pending.empty()) || last_merge_ms_ == 0 ||
                     now_ms - last_merge_ms_ >= config_.merge_interval_ms;
    return behind && due;
  };
  // Two batches in memory at once only when they fit the budget: the rows
  // a merge holds plus `next`'s input, decoded (~1.6 times its bytes).
  auto overlap_fits = [&](const std::vector<ds::SourceFile>& next) {
    int64_t bytes = 0;
    for (const auto& f : next) bytes += f.size;
    return config_.merge_overlap_bytes > 0 && !next.empty() &&
           tail_.BytesAfter(merged_through_) + 2 * bytes <= config_.merge_overlap_bytes;
  };
  // A merge due before this batch (of the log as it stands) runs on a worker
  // while the batch is decoded and committed to the log: the two touch
  // different tables, and the merged table still follows the log in order.
  // The batch itself is merged at the next due merge.
  std::optional<PendingMerge> overlapped;
  StepResult merge_result;
  if (follows() && merger_ && last_merge_ms_ != 0 && overlap_fits(pending)) {
    const int64_t now_ms = WallClockUs() / 1000;
    if (merge_due(now_ms)) {
      ARROW_ASSIGN_OR_RAISE(overlapped, PrepareMerge(merge_result, now_ms));
    }
  }

  std::future<Status> merge;
  if (overlapped) {
    merge = std::async(std::launch::async, [&] {
      const auto merge_started = std::chrono::steady_clock::now();
      Status st = RunMerge(*overlapped, merge_result);
      merge_result.merge_ms = std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - merge_started)
                                  .count();
      return st;
    });
  }
  Status ingested;
  if (!pending.empty()) {
    const auto started = std::chrono::steady_clock::now();
    ingested = Ingest(pending, result);
    result.ingest_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
  }
  if (overlapped) {
    Status merged = merge.get();  // also when the ingest failed: never left running
    if (merged.ok()) FinishMerge(*overlapped);
    ARROW_RETURN_NOT_OK(ingested);
    ARROW_RETURN_NOT_OK(merged);
    CopyMergeResult(merge_result, result);
  }
  ARROW_RETURN_NOT_OK(ingested);

  // The merged table follows the log table (unless it just did, above).
  // When more input is already waiting, a due merge is left to the next
  // step, which runs it alongside that step's ingest; so with
  // merge_interval 0s the merged table is at most one log commit behind
  // while input flows, and level once it stops.
  const bool defer =
      !pending.empty() && last_merge_ms_ != 0 &&
      overlap_fits(cursor_.Pending(listing, static_cast<size_t>(config_.max_files_per_batch)));
  if (follows() && !result.merged && !result.history && !defer) {
    const int64_t now_ms = WallClockUs() / 1000;
    if (!merger_) ARROW_RETURN_NOT_OK(Merger().status());
    if (merge_due(now_ms)) {
      const auto merge_started = std::chrono::steady_clock::now();
      ARROW_RETURN_NOT_OK(MergeFromLog(result, now_ms));
      result.merge_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                  merge_started)
                            .count();
    }
  }

  // Maintenance between batches: every maintenance_interval, and once when
  // a --once run has drained its input and caught up.
  if (config_.maintenance && (snapshot_ || merger_)) {
    const int64_t now_ms = WallClockUs() / 1000;
    const bool caught_up = pending.empty() && !result.merged && !result.history;
    const bool due = now_ms - last_maintenance_ms_ >= config_.maintenance_interval_ms ||
                     (drain && caught_up && !maintained_this_run_);
    if (due) {
      ARROW_RETURN_NOT_OK(MaintainTables(result, now_ms));
      last_maintenance_ms_ = now_ms;
      maintained_this_run_ = true;
    }
  }
  return result;
}

delta::MaintenancePolicy TablePipeline::MaintenancePolicyFor(int64_t last_vacuum_ms) const {
  delta::MaintenancePolicy policy;
  policy.compaction.max_deleted_ratio = config_.compact_deleted_ratio;
  policy.compaction.commit.checkpoint_interval = config_.checkpoint_interval;
  policy.compaction.data = DataWriteOptionsFor(config_);
  policy.vacuum_interval_ms = config_.vacuum_interval_ms;
  policy.vacuum_options.retention_ms = config_.vacuum_retention_ms;
  policy.last_vacuum_ms = last_vacuum_ms;
  return policy;
}

Status TablePipeline::MaintainTables(StepResult& result, int64_t now_ms) {
  auto count = [&](const delta::MaintenanceReport& report) {
    if (report.compaction && report.compaction->committed) {
      result.compacted_files_removed += report.compaction->files_removed;
      result.compacted_files_added += report.compaction->files_added;
    }
    if (report.vacuum) result.vacuumed_files += static_cast<int64_t>(report.vacuum->deleted.size());
  };
  result.maintained = true;
  if (log_ && snapshot_) {
    // The log is append-only: compaction re-adds rows with dataChange=false,
    // which the merge's log tail skips (the rows were merged already).
    auto report =
        delta::MaintainTable(*log_, snapshot_, MaintenancePolicyFor(log_vacuum_ms_), now_ms);
    if (!report.ok()) {
      return report.status().WithMessage("log table ", log_path_, ": ", report.status().message());
    }
    if (report->snapshot) snapshot_ = report->snapshot;
    log_vacuum_ms_ = report->last_vacuum_ms;
    count(*report);
  }
  if (merger_) {
    ARROW_ASSIGN_OR_RAISE(auto report, merger_->Maintain(MaintenancePolicyFor(merged_vacuum_ms_),
                                                         tombstones_vacuum_ms_, now_ms));
    merged_vacuum_ms_ = report.last_vacuum_ms;
    count(report);
  }
  if (history_) {
    auto report =
        history_->Maintain(MaintenancePolicyFor(history_vacuum_ms_), orphans_vacuum_ms_, now_ms);
    if (!report.ok()) {
      return report.status().WithMessage("history table ", history_path_, ": ",
                                         report.status().message());
    }
    history_vacuum_ms_ = report->last_vacuum_ms;
    count(*report);
  }
  return Status::OK();
}

Result<std::optional<TablePipeline::PendingMerge>> TablePipeline::PrepareMerge(StepResult& result,
                                                                               int64_t now_ms) {
  ARROW_RETURN_NOT_OK(Merger().status());
  // The history table may be behind the merged table (turned on later):
  // read from the older of the two; each takes only what it lacks.
  int64_t after = merged_through_;
  if (history_) after = std::min(after, history_through_);
  ARROW_ASSIGN_OR_RAISE(auto commits, tail_.Read(*snapshot_, *log_, after, config_.merge_max_rows));
  if (commits.empty()) return std::nullopt;
  PendingMerge m;
  m.version = commits.back().version;
  auto rows_after = [&](int64_t done) -> Result<std::shared_ptr<arrow::Table>> {
    std::vector<std::shared_ptr<arrow::Table>> parts;
    for (const auto& c : commits) {
      if (c.version > done && c.rows->num_rows() > 0) parts.push_back(c.rows);
    }
    if (parts.empty()) return std::shared_ptr<arrow::Table>();
    return arrow::ConcatenateTables(parts);
  };
  result.merge_from_version = commits.front().version;
  result.merge_to_version = m.version;
  last_merge_ms_ = now_ms;
  m.now_ms = now_ms;
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

Status TablePipeline::RunMerge(const PendingMerge& m, StepResult& result) {
  // History first: the merged table's txn is what the next run starts from
  // when both are level.
  if (m.history) ARROW_RETURN_NOT_OK(ApplyHistory(m.history_rows, m.version, result));
  // Only commits without new rows (cursor-only, or a compaction of the log):
  // nothing to write. The merged table's txn stays behind them; a restart
  // reads them again, which costs a log read and nothing else.
  if (!m.merge || !m.merge_rows) return Status::OK();
  merge::MergedTable* merger = merger_.get();
  ARROW_ASSIGN_OR_RAISE(auto batch, m.merge_rows->CombineChunksToBatch());
  result.merge_changes = batch->num_rows();
  ARROW_ASSIGN_OR_RAISE(auto plan, merger->Plan(*batch, m.version, m.now_ms));
  if (!plan.invalid.empty()) {
    // Rows the merge cannot key (null key, no sequence): dead letters,
    // committed under the merge's own txn so a retry writes them once.
    DeadLetterWriter dead(qualified_, config_.sink_path, DataWriteOptionsFor(config_));
    AddMergeDeadLetters(plan, *batch, log_path_, dead);
    std::lock_guard<std::mutex> lock(dead_letters_mu_);
    ARROW_RETURN_NOT_OK(dead.Flush(app_id_ + "#log", m.version, m.now_ms * 1000));
  }
  ARROW_ASSIGN_OR_RAISE(auto commit, merger->Commit(*batch, plan, m.version, m.now_ms));
  RecordMergeCounts(plan, commit, result);
  result.merged = true;
  result.merged_version = commit.outcome.version;
  result.merge_already_applied = commit.outcome.already_applied;
  if (commit.snapshot) result.merged_rows = commit.snapshot->NumRecords();
  result.index_bytes = merger->IndexBytes();
  return Status::OK();
}

void TablePipeline::FinishMerge(const PendingMerge& m) {
  if (m.history) history_through_ = m.version;
  if (m.merge) merged_through_ = m.version;
  tail_.ForgetThrough(m.version);
}

Status TablePipeline::MergeFromLog(StepResult& result, int64_t now_ms) {
  ARROW_ASSIGN_OR_RAISE(auto pending, PrepareMerge(result, now_ms));
  if (!pending) return Status::OK();
  ARROW_RETURN_NOT_OK(RunMerge(*pending, result));
  FinishMerge(*pending);
  return Status::OK();
}

Status TablePipeline::Ingest(const std::vector<ds::SourceFile>& pending, StepResult& result) {
  int64_t ingested_at = WallClockUs();
  ds::FileCursor next = cursor_;
  DeadLetterWriter dead(qualified_, config_.sink_path, DataWriteOptionsFor(config_));
  std::vector<std::shared_ptr<arrow::RecordBatch>> changes;
  ds::NormalizeOptions norm;
  norm.primary_keys_override = config_.ForTable(qualified_).primary_keys;
  // Read, decode and normalize the files in parallel (each is independent
  // and pure), then take their results in file order.
  struct FileWork {
    std::string where;
    ds::DecodedFile decoded;
    std::vector<ds::NormalizedBatch> normalized;
  };
  std::vector<uint64_t> ordinals;
  for (const auto& f : pending) ordinals.push_back(next.Add(f.path));
  auto work_on = [&](size_t k) -> Result<FileWork> {
    FileWork w;
    w.where = folder_ + "/" + pending[k].path;
    ARROW_ASSIGN_OR_RAISE(auto bytes, ReadSource(pending[k].path));  // IO errors: retry later
    ARROW_ASSIGN_OR_RAISE(w.decoded, ds::DecodeFile(bytes, w.where, decode_options_));
    int64_t row_index = 0;
    for (const auto& events : w.decoded.batches) {
      ds::FileContext ctx{w.where, ordinals[k], ingested_at, row_index};
      ARROW_ASSIGN_OR_RAISE(auto normalized, ds::Normalize(*events, ctx, norm));
      w.normalized.push_back(std::move(normalized));
      row_index += events->num_rows();
    }
    return w;
  };
  std::vector<Result<FileWork>> works;
  const size_t parallel = std::max(1u, std::thread::hardware_concurrency());
  for (size_t first = 0; first < pending.size(); first += parallel) {
    std::vector<std::future<Result<FileWork>>> wave;
    for (size_t k = first; k < std::min(pending.size(), first + parallel); ++k) {
      wave.push_back(std::async(std::launch::async, work_on, k));
    }
    for (auto& w : wave) works.push_back(w.get());
  }
  for (auto& work : works) {
    ARROW_RETURN_NOT_OK(work.status());
    FileWork& w = *work;
    const std::string& where = w.where;
    for (auto& bad : w.decoded.bad) {
      dead.Add({where, bad.offset, std::move(bad.reason), std::move(bad.raw)});
    }
    int64_t row_index = 0;
    for (size_t b = 0; b < w.decoded.batches.size(); ++b) {
      const auto& events = w.decoded.batches[b];
      auto& normalized = w.normalized[b];
      for (const auto& rejected : normalized.rejected) {
        auto row = events->Slice(rejected.row, 1);
        dead.Add({where, row_index + rejected.row, rejected.reason, row->ToString()});
      }
      if (normalized.changes && normalized.changes->num_rows() > 0) {
        // The merged table is keyed by the keys the table records (or those
        // of its first batch).
        if (!keys_known_) {
          keys_ = normalized.primary_keys;
          keys_known_ = true;
        } else if (normalized.primary_keys != keys_) {
          return Status::Invalid("table ", qualified_, ": primary keys changed from [",
                                 JoinNames(keys_), "] to [", JoinNames(normalized.primary_keys),
                                 "] in ", where, "; the merged table ", merged_path_,
                                 " is keyed by the first, so this table stops");
        }
        changes.push_back(normalized.changes);
      }
      row_index += events->num_rows();
    }
  }
  int64_t version = static_cast<int64_t>(next.count());

  if (keys_known_ && keys_.empty() && !config_.log_tables) {
    return Status::Invalid("table ", qualified_,
                           " has no primary keys and log tables are off (GENERATE_LOG_TABLE="
                           "false): there is nothing to write; set tables.\"",
                           qualified_, "\".primary_keys or turn log tables on");
  }
  const bool merging = keys_known_ && !keys_.empty();
  merge::MergedTable* direct = nullptr;  // log tables off: merge this batch right away
  if (merging && !config_.log_tables) {
    ARROW_ASSIGN_OR_RAISE(direct, Merger());
  }

  // One schema for the commit: the log table's, evolved by each batch in
  // turn. Without log tables, the log-shaped schema is rebuilt from the
  // merged table's (payload + _cdc_seq + _cdc_ts) plus the batch's other
  // _cdc_ columns, so evolution works the same way.
  std::shared_ptr<arrow::Schema> schema;
  std::shared_ptr<const delta::Snapshot> merged_snapshot = direct ? direct->snapshot() : nullptr;
  if (config_.log_tables) {
    if (snapshot_) schema = snapshot_->schema();
  } else if (merged_snapshot && !changes.empty()) {
    schema = LogShapedSchema(merged_snapshot->schema(), StorableSchema(changes.front()->schema()));
  }
  for (const auto& batch : changes) {
    if (!schema) {
      schema = StorableSchema(batch->schema());
      continue;
    }
    auto table_strategy =
        config_.ForTable(qualified_).schema_evolution.value_or(config_.schema_evolution);
    ARROW_ASSIGN_OR_RAISE(schema,
                          EvolveSchema(qualified_ + "_log", schema, *batch, table_strategy));
  }
  if (config_.log_tables) {
    result.schema_changed = snapshot_ && schema && !schema->Equals(*snapshot_->schema(), false);
  } else {
    result.schema_changed =
        merged_snapshot && schema &&
        !merge::MergedTableSchema(*schema)->Equals(*merged_snapshot->schema(), false);
  }

  std::shared_ptr<arrow::Table> table;
  if (schema && !changes.empty()) {
    std::vector<std::shared_ptr<arrow::RecordBatch>> conformed;
    int64_t newest_us = 0;
    for (const auto& batch : changes) {
      ARROW_ASSIGN_OR_RAISE(auto c, ConformBatch(qualified_ + "_log", batch, schema));
      conformed.push_back(c);
      result.rows += c->num_rows();
      newest_us = std::max(newest_us, NewestTimestampUs(*c));
    }
    // Lag of the batch: how far behind the source its newest event is.
    if (newest_us > 0) result.lag_ms = std::max<int64_t>(0, (ingested_at - newest_us) / 1000);
    ARROW_ASSIGN_OR_RAISE(table, arrow::Table::FromRecordBatches(schema, conformed));
    // The log holds a commit's rows in source order (files can interleave:
    // a late file, several files of one minute), so a reader replaying it
    // sees changes as they happened.
    if (auto seq = table->GetColumnByName("_cdc_seq"); seq && !SortedBySeq(*seq)) {
      ARROW_RETURN_NOT_OK(InitArrowCompute());
      ARROW_ASSIGN_OR_RAISE(auto order, arrow::compute::SortIndices(*seq));
      ARROW_ASSIGN_OR_RAISE(auto sorted, arrow::compute::Take(table, order));
      table = sorted.table();
    }
    // One chunk, made here once: the merge plans one batch, and the decoded
    // pieces can go now instead of living on while a merge of this batch
    // runs alongside the next ingest (which would otherwise copy it again).
    if (table->num_columns() > 0 && table->column(0)->num_chunks() > 1) {
      ARROW_ASSIGN_OR_RAISE(auto one, table->CombineChunksToBatch());
      ARROW_ASSIGN_OR_RAISE(table, arrow::Table::FromRecordBatches({one}));
    }
    conformed.clear();
    changes.clear();
    works.clear();
  }

  // Log tables off: the merge plan of this batch (pure; its invalid rows
  // join this version's dead letters).
  std::optional<merge::MergePlan> plan;
  std::shared_ptr<arrow::RecordBatch> direct_batch;  // planned again if the table moves
  const int64_t now_ms = ingested_at / 1000;
  if (direct && table) {
    ARROW_ASSIGN_OR_RAISE(direct_batch, table->CombineChunksToBatch());
    ARROW_ASSIGN_OR_RAISE(plan, direct->Plan(*direct_batch, version, now_ms));
    result.merge_changes = direct_batch->num_rows();
    AddMergeDeadLetters(*plan, *direct_batch, folder_, dead);
  }

  // The cursor file first (it records which files this version holds, so a
  // retry after a crash redoes the same batch), then the dead letters (same
  // txn version: skipped if they already landed), then the commit that makes
  // it all count: the log table's, or (log tables off) the merge.
  ARROW_RETURN_NOT_OK(cursor_store_->Put(CursorPath(version), next.ToJson()));
  result.dead_letters = static_cast<int64_t>(dead.size());
  {
    std::lock_guard<std::mutex> lock(dead_letters_mu_);  // a merge may run alongside
    ARROW_RETURN_NOT_OK(dead.Flush(app_id_, version, ingested_at));
  }

  if (!config_.log_tables) {
    if (direct) {
      ARROW_RETURN_NOT_OK(ApplyHistory(table, version, result));
      std::optional<merge::MergeCommit> commit;
      if (plan) {
        ARROW_ASSIGN_OR_RAISE(commit, direct->Commit(*direct_batch, *plan, version, now_ms));
        RecordMergeCounts(*plan, *commit, result);
      } else {
        // No rows: an empty merge still records the cursor in the txn.
        ARROW_ASSIGN_OR_RAISE(commit, direct->CommitEmpty(version, now_ms));
      }
      if (commit->snapshot) {
        result.merged = true;
        result.merged_version = commit->outcome.version;
        result.merge_already_applied = commit->outcome.already_applied;
        result.merged_rows = commit->snapshot->NumRecords();
        if (merger_) result.index_bytes = merger_->IndexBytes();
      }
    }
    cursor_ = std::move(next);
    result.files = static_cast<int64_t>(pending.size());
    return Status::OK();
  }
  if (!table) {
    // Nothing decodable in these files: the commit still records the cursor
    // (a table must exist for that, so one is created only once there are rows).
    if (!snapshot_) {
      cursor_ = next;  // dead letters hold everything; nothing to commit yet
      result.files = static_cast<int64_t>(pending.size());
      return Status::OK();
    }
    table = arrow::Table::MakeEmpty(snapshot_->schema()).ValueOrDie();
  }
  delta::TableWriteOptions options;
  options.deletion_vectors = false;  // log tables are append-only
  options.allow_schema_change = true;
  options.txn = delta::Txn{app_id_, version, {}};
  options.commit.checkpoint_interval = config_.checkpoint_interval;
  options.data = DataWriteOptionsFor(config_);
  if (merging) options.configuration[merge::kPrimaryKeysProperty] = merge::EncodePrimaryKeys(keys_);
  ARROW_ASSIGN_OR_RAISE(auto committed, delta::WriteTable(*log_, table, options));
  snapshot_ = committed.snapshot;
  tail_.Remember(committed.version, table);
  cursor_ = std::move(next);
  result.files = static_cast<int64_t>(pending.size());
  result.version = committed.version;
  return Status::OK();
}

}  // namespace sluice::pipeline
