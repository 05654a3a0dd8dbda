#include "sluice/pipeline/table_pipeline.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/filesystem/filesystem.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "sluice/core/arrow_init.h"
#include "sluice/delta/schema.h"
#include "sluice/delta/table_writer.h"
#include "sluice/io/local_log_store.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/merge_writer.h"
#include "sluice/merge/tombstone_store.h"
#include "sluice/pipeline/dead_letters.h"
#include "sluice/pipeline/schema_evolution.h"
#include "sluice/sources/datastream/change_batch_builder.h"
#include "sluice/sources/datastream/file_decoder.h"
#include "sluice/sources/datastream/table_identity.h"

namespace sluice::pipeline {

namespace ds = sources::datastream;

namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
      app_id_(config.name + "/" + folder_) {}

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
  ARROW_ASSIGN_OR_RAISE(auto merged_loc, io::OpenTableLocation(merged_path_));
  merged_ = std::move(merged_loc);
  ARROW_ASSIGN_OR_RAISE(merged_snapshot_, delta::LoadIfExists(*merged_));
  index_.reset();
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
  // The master cursor: the log table's txn, or the merged table's when log
  // tables are off; the cursor files live next to it (or under CHECKPOINT_DIR).
  const io::TableLocation& master_loc = config_.log_tables ? *log_ : *merged_;
  auto master = config_.log_tables ? snapshot_ : merged_snapshot_;
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
    auto done = master->TxnVersion(app_id_);
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

Result<StepResult> TablePipeline::Step(const std::vector<ds::SourceFile>& listing) {
  auto result = StepOnce(listing);
  if (!result.ok()) {
    // A failed step may have written its cursor file, dead letters or merge:
    // open again (re-reading the tables and the planned batch) so the retry
    // redoes exactly that batch, as after a restart.
    opened_ = false;
    index_.reset();
  }
  return result;
}

Result<StepResult> TablePipeline::StepOnce(const std::vector<ds::SourceFile>& listing) {
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
  if (pending.empty()) return result;

  int64_t ingested_at = NowUs();
  ds::FileCursor next = cursor_;
  DeadLetterWriter dead(qualified_, config_.sink_path);
  std::vector<std::shared_ptr<arrow::RecordBatch>> changes;
  ds::NormalizeOptions norm;
  norm.primary_keys_override = config_.ForTable(qualified_).primary_keys;
  for (const auto& f : pending) {
    std::string where = folder_ + "/" + f.path;
    ARROW_ASSIGN_OR_RAISE(auto bytes, ReadSource(f.path));  // IO errors: retry later
    uint64_t ordinal = next.Add(f.path);
    ARROW_ASSIGN_OR_RAISE(auto decoded, ds::DecodeFile(bytes, where, decode_options_));
    for (auto& bad : decoded.bad) {
      dead.Add({where, bad.offset, std::move(bad.reason), std::move(bad.raw)});
    }
    int64_t row_index = 0;
    for (const auto& events : decoded.batches) {
      ds::FileContext ctx{where, ordinal, ingested_at, row_index};
      ARROW_ASSIGN_OR_RAISE(auto normalized, ds::Normalize(*events, ctx, norm));
      for (const auto& rejected : normalized.rejected) {
        auto row = events->Slice(rejected.row, 1);
        dead.Add({where, row_index + rejected.row, rejected.reason, row->ToString()});
      }
      if (normalized.changes && normalized.changes->num_rows() > 0) {
        // The merged table is keyed by the keys of the table's first batch.
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

  // One schema for the commit: the log table's, evolved by each batch in
  // turn. Without log tables, the log-shaped schema is rebuilt from the
  // merged table's (payload + _cdc_seq + _cdc_ts) plus the batch's other
  // _cdc_ columns, so evolution works the same way.
  std::shared_ptr<arrow::Schema> schema;
  if (config_.log_tables) {
    if (snapshot_) schema = snapshot_->schema();
  } else if (merged_snapshot_ && !changes.empty()) {
    schema = LogShapedSchema(merged_snapshot_->schema(), StorableSchema(changes.front()->schema()));
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
        merged_snapshot_ && schema &&
        !merge::MergedTableSchema(*schema)->Equals(*merged_snapshot_->schema(), false);
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
    if (auto seq = table->GetColumnByName("_cdc_seq")) {
      ARROW_RETURN_NOT_OK(InitArrowCompute());
      ARROW_ASSIGN_OR_RAISE(auto order, arrow::compute::SortIndices(*seq));
      ARROW_ASSIGN_OR_RAISE(auto sorted, arrow::compute::Take(table, order));
      table = sorted.table();
    }
  }

  // The merge plan (pure; its invalid rows join this version's dead letters).
  std::optional<merge::MergePlan> plan;
  const int64_t now_ms = ingested_at / 1000;
  if (merging && (table || merged_snapshot_)) {
    Status st = [&]() -> Status {
      if (table) {
        ARROW_ASSIGN_OR_RAISE(auto batch, table->CombineChunksToBatch());
        auto merged_schema = merge::MergedTableSchema(*schema);
        ARROW_RETURN_NOT_OK(EnsureIndex(*merged_schema));
        merge::PlanOptions popts;
        popts.now_ms = now_ms;
        popts.batch_version = version;
        ARROW_ASSIGN_OR_RAISE(plan, merge::PlanBatch(*index_, *batch, popts));
        auto origin = batch->GetColumnByName("_cdc_origin");
        for (const auto& bad : plan->invalid) {
          std::string file = folder_;
          if (origin && origin->type_id() == arrow::Type::STRING && origin->IsValid(bad.row)) {
            file = std::string(static_cast<const arrow::StringArray&>(*origin).GetView(bad.row));
          }
          dead.Add({file, bad.row, "merge: " + bad.reason, batch->Slice(bad.row, 1)->ToString()});
        }
      } else {
        // No rows: an empty merge still records the cursor in the txn.
        plan.emplace();
        ARROW_ASSIGN_OR_RAISE(plan->appends, arrow::Table::MakeEmpty(merged_snapshot_->schema()));
        plan->base_version = merged_snapshot_->version();
      }
      return Status::OK();
    }();
    if (!st.ok()) {
      index_.reset();
      return st.WithMessage("merged table ", merged_path_, ": ", st.message());
    }
  }

  // The cursor file first (it records which files this version holds, so a
  // retry after a crash redoes the same batch), then the dead letters (same
  // txn version: skipped if they already landed), then the merge (tombstones,
  // merged table), then the log commit that makes it all count.
  ARROW_RETURN_NOT_OK(cursor_store_->Put(CursorPath(version), next.ToJson()));
  result.dead_letters = static_cast<int64_t>(dead.size());
  ARROW_RETURN_NOT_OK(dead.Flush(app_id_, version, ingested_at));

  if (plan) {
    merge::MergeWriteOptions mopts;
    mopts.mode = config_.merge_mode == "copy_on_write" ? merge::MergeMode::kCopyOnWrite
                                                       : merge::MergeMode::kDeletionVectors;
    mopts.app_id = app_id_;
    mopts.version = version;
    mopts.tombstone_retention_ms = config_.tombstone_retention_ms;
    mopts.now_ms = now_ms;
    mopts.allow_schema_change =
        merged_snapshot_ && !merged_snapshot_->schema()->Equals(*plan->appends->schema(), false);
    mopts.commit.checkpoint_interval = config_.checkpoint_interval;
    auto commit = merge::WriteMerge(*merged_, merged_snapshot_, *plan, mopts);
    if (!commit.ok()) {
      // The index is a cache: rebuild it (and re-read the table) next time.
      index_.reset();
      auto reloaded = delta::LoadIfExists(*merged_);
      if (reloaded.ok()) merged_snapshot_ = *reloaded;
      return commit.status().WithMessage("merged table ", merged_path_, ": ",
                                         commit.status().message());
    }
    merged_snapshot_ = commit->snapshot;
    if (index_) {
      if (!commit->outcome.already_applied && index_->version() != plan->base_version) {
        index_.reset();
      } else if (!index_->Apply(*plan, commit->outcome).ok()) {
        index_.reset();
      } else if (now_ms - last_purge_ms_ > 3'600'000) {
        index_->PurgeTombstones(now_ms - config_.tombstone_retention_ms);
        last_purge_ms_ = now_ms;
      }
    }
    result.merged = true;
    result.merged_version = commit->outcome.version;
    result.merge_already_applied = commit->outcome.already_applied;
    if (!commit->outcome.already_applied) {
      result.upserts = plan->counts.upserts;
      result.deletes = plan->counts.deletes;
      result.rows_deleted = plan->counts.rows_deleted;
      result.ignored_stale = plan->counts.ignored_stale;
      result.superseded = plan->counts.superseded;
    }
    result.invalid = plan->counts.invalid;
  }

  if (!config_.log_tables) {
    cursor_ = std::move(next);
    result.files = static_cast<int64_t>(pending.size());
    return result;
  }
  if (!table) {
    // Nothing decodable in these files: the commit still records the cursor
    // (a table must exist for that, so one is created only once there are rows).
    if (!snapshot_) {
      cursor_ = next;  // dead letters hold everything; nothing to commit yet
      result.files = static_cast<int64_t>(pending.size());
      return result;
    }
    table = arrow::Table::MakeEmpty(snapshot_->schema()).ValueOrDie();
  }
  delta::TableWriteOptions options;
  options.deletion_vectors = false;  // log tables are append-only
  options.allow_schema_change = true;
  options.txn = delta::Txn{app_id_, version, {}};
  options.commit.checkpoint_interval = config_.checkpoint_interval;
  ARROW_ASSIGN_OR_RAISE(auto committed, delta::WriteTable(*log_, table, options));
  snapshot_ = committed.snapshot;
  cursor_ = std::move(next);
  result.files = static_cast<int64_t>(pending.size());
  result.version = committed.version;
  return result;
}

Status TablePipeline::EnsureIndex(const arrow::Schema& merged_schema) {
  ARROW_ASSIGN_OR_RAISE(auto encoder, merge::KeyEncoder::Make(merged_schema, keys_));
  const int64_t table_version = merged_snapshot_ ? merged_snapshot_->version() : -1;
  if (index_) {
    const auto& have = index_->encoder().key_types();
    const auto& want = encoder.key_types();
    bool same = have.size() == want.size() && index_->version() == table_version;
    for (size_t i = 0; same && i < have.size(); ++i) same = have[i]->Equals(*want[i]);
    if (same) return Status::OK();
    index_.reset();
  }
  if (!merged_snapshot_) {
    index_ = std::make_unique<merge::KeyIndex>(std::move(encoder));
    return Status::OK();
  }
  const int64_t now_ms = NowUs() / 1000;
  auto done = merged_snapshot_->TxnVersion(app_id_);
  ARROW_ASSIGN_OR_RAISE(
      auto tombstones,
      merge::LoadTombstones(*merged_, done ? *done : 0, now_ms - config_.tombstone_retention_ms));
  ARROW_ASSIGN_OR_RAISE(
      index_, merge::KeyIndex::Build(*merged_snapshot_, *merged_, std::move(encoder), tombstones));
  last_purge_ms_ = now_ms;
  return Status::OK();
}

}  // namespace sluice::pipeline
