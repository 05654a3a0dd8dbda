#include "sluice/pipeline/table_ingest.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "sluice/core/arrow_init.h"
#include "sluice/core/change_schema.h"
#include "sluice/core/clock.h"
#include "sluice/delta/maintenance.h"
#include "sluice/delta/table_writer.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/primary_keys.h"
#include "sluice/pipeline/dead_letters.h"
#include "sluice/pipeline/schema_evolution.h"

namespace sluice::pipeline {

namespace {

// Newest `_cdc_ts` of a change batch, in microseconds (0 if none). A plain
// loop rather than arrow::compute::MinMax: since Arrow 21 the aggregate
// kernels live in libarrow_compute and are only registered after
// arrow::compute::Initialize().
int64_t NewestTimestampUs(const arrow::RecordBatch& batch) {
  auto ts = batch.GetColumnByName(std::string(kTsColumn));
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

TableIngest::TableIngest(const Config& config, sources::SourceTable table, std::string stream_id,
                         std::string app_id, delta::CheckpointQueue* checkpoint_queue)
    : config_(config),
      table_(std::move(table)),
      stream_id_(std::move(stream_id)),
      app_id_(std::move(app_id)),
      checkpoint_queue_(checkpoint_queue),
      tail_(config.merge_max_rows) {}

Status TableIngest::Open() {
  const std::string db_dir = io::JoinPath(config_.sink_path, table_.database);
  merged_path_ = io::JoinPath(db_dir, config_.table_prefix + table_.table);
  const bool history =
      config_.ForTable(table_.Qualified()).history.value_or(config_.history_tables);
  history_path_ = history ? merged_path_ + "_history" : std::string();
  follower_.reset();
  tail_.Clear();
  ARROW_ASSIGN_OR_RAISE(auto merged_loc, io::OpenTableLocation(merged_path_));
  ARROW_ASSIGN_OR_RAISE(merged_snapshot_, delta::LoadIfExists(merged_loc));
  if (config_.log_tables) {
    log_path_ = io::JoinPath(db_dir, config_.table_prefix + table_.table + "_log");
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
  const auto& configured = config_.ForTable(table_.Qualified()).primary_keys;
  if (!configured.empty()) {
    keys_ = configured;
    keys_known_ = true;
  } else if (auto recorded = snapshot_ ? merge::PrimaryKeysOf(*snapshot_) : std::nullopt) {
    keys_ = *recorded;
    keys_known_ = true;
  } else if (auto merged_keys =
                 merged_snapshot_ ? merge::PrimaryKeysOf(*merged_snapshot_) : std::nullopt) {
    keys_ = *merged_keys;
    keys_known_ = true;
  }
  // Position states live next to the table whose txn commits the position
  // (the log table's, or the merged table's when log tables are off), or
  // under CHECKPOINT_DIR.
  if (config_.checkpoint_dir.empty()) {
    positions_ = std::make_unique<PositionStore>(config_.log_tables ? log_->log : merged_loc.log,
                                                 "_sluice/cursors/" + stream_id_ + "/");
  } else {
    ARROW_ASSIGN_OR_RAISE(auto ckpt, io::OpenTableLocation(config_.checkpoint_dir));
    positions_ = std::make_unique<PositionStore>(ckpt.log, config_.name + "/" + stream_id_ + "/");
  }
  return Status::OK();
}

void TableIngest::Reset() {
  follower_.reset();
  tail_.Clear();
}

std::shared_ptr<const delta::Snapshot> TableIngest::MasterSnapshot() const {
  if (config_.log_tables) return snapshot_;
  if (follower_ && follower_->merged_snapshot()) return follower_->merged_snapshot();
  return merged_snapshot_;
}

Result<std::optional<sources::Position>> TableIngest::Committed(bool with_state) {
  auto master = MasterSnapshot();
  if (!master) return std::nullopt;
  sources::Position position;
  for (const auto& [app, txn] : master->txns()) {
    if (app == app_id_) {
      position.offsets.insert(position.offsets.begin(), {"", txn.version});
    } else if (app.size() > app_id_.size() + 1 && app.compare(0, app_id_.size(), app_id_) == 0 &&
               app[app_id_.size()] == '#' && app.compare(app_id_.size(), 4, "#log") != 0) {
      position.offsets.push_back({app.substr(app_id_.size()), txn.version});
    }
  }
  if (position.offsets.empty()) return std::nullopt;
  if (with_state && position.key() > 0) {
    ARROW_ASSIGN_OR_RAISE(auto state, positions_->Read(position.key()));
    if (!state) {
      return Status::Invalid("table ", qualified(), ": position ", position.key(),
                             " is committed but its state ", positions_->Describe(position.key()),
                             " is missing");
    }
    position.state = std::move(*state);
  }
  return position;
}

bool TableIngest::Holds(const sources::Position& position) const {
  auto master = MasterSnapshot();
  if (!master || position.offsets.empty()) return false;
  for (const auto& o : position.offsets) {
    auto done = master->TxnVersion(app_id_ + o.suffix);
    if (!done || *done < o.version) return false;
  }
  return true;
}

Result<TableFollower*> TableIngest::Follower() {
  if (!keys_known_ || keys_.empty()) return nullptr;
  if (!follower_) {
    // With log tables the merged table follows the log (its txn counts log
    // versions); without, it is the position itself.
    std::string app = config_.log_tables ? app_id_ + "#log" : app_id_;
    follower_ = std::make_unique<TableFollower>(config_, qualified(), merged_path_, history_path_,
                                                keys_, app, checkpoint_queue_);
    auto st = follower_->Open();
    if (!st.ok()) {
      follower_.reset();
      return st;
    }
  }
  return follower_.get();
}

Status TableIngest::Commit(const TableBatch& batch, std::mutex& dead_letters_mu,
                           IngestResult& result, FollowResult& direct) {
  const std::string qualified_name = qualified();
  const int64_t ingested_at = batch.ingested_at_us;
  DeadLetterWriter dead(qualified_name, config_.sink_path, DataWriteOptionsFor(config_),
                        checkpoint_queue_);
  for (const auto& b : batch.bad) dead.Add({b.where, b.offset, b.reason, b.raw});
  std::vector<std::shared_ptr<arrow::RecordBatch>> changes;
  for (const auto* tc : batch.changes) {
    for (const auto& b : tc->bad) dead.Add({b.where, b.offset, b.reason, b.raw});
    if (tc->batches.empty()) continue;
    // The merged table is keyed by the keys the table records (or those of
    // its first batch).
    // Rows that name no keys (a truncate) take whatever the table is keyed by.
    if (tc->primary_keys && !keys_known_) {
      keys_ = *tc->primary_keys;
      keys_known_ = true;
    } else if (tc->primary_keys && *tc->primary_keys != keys_ &&
               config_.ForTable(qualified_name).primary_keys.empty()) {
      return Status::Invalid("table ", qualified_name, ": primary keys changed from [",
                             JoinNames(keys_), "] to [", JoinNames(*tc->primary_keys), "] in ",
                             batch.units.empty() ? stream_id_ : batch.units.front(),
                             "; the merged table ", merged_path_,
                             " is keyed by the first, so this table stops");
    }
    for (const auto& b : tc->batches) changes.push_back(b);
  }
  const int64_t version = batch.position.key();
  if (keys_known_ && keys_.empty() && !config_.log_tables) {
    return Status::Invalid("table ", qualified_name,
                           " has no primary keys and log tables are off (GENERATE_LOG_TABLE="
                           "false): there is nothing to write; set tables.\"",
                           qualified_name, "\".primary_keys or turn log tables on");
  }
  TableFollower* follower = nullptr;
  if (!config_.log_tables) {
    if (batch.position.offsets.size() > 1) {
      return Status::NotImplemented("table ", qualified_name,
                                    ": log tables off needs a source with one offset per stream");
    }
    ARROW_ASSIGN_OR_RAISE(follower, Follower());
  }

  // One schema for the commit: the log table's, evolved by each batch in
  // turn. Without log tables, the log-shaped schema is rebuilt from the
  // merged table's (payload + _cdc_seq + _cdc_ts) plus the batch's other
  // _cdc_ columns, so evolution works the same way.
  std::shared_ptr<arrow::Schema> schema;
  std::shared_ptr<const delta::Snapshot> merged_snapshot =
      follower ? follower->merged_snapshot() : nullptr;
  if (config_.log_tables) {
    if (snapshot_) schema = snapshot_->schema();
  } else if (merged_snapshot && !changes.empty()) {
    schema = LogShapedSchema(merged_snapshot->schema(), StorableSchema(changes.front()->schema()));
  }
  const auto strategy =
      config_.ForTable(qualified_name).schema_evolution.value_or(config_.schema_evolution);
  for (const auto& b : changes) {
    if (!schema) {
      schema = StorableSchema(b->schema());
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(schema, EvolveSchema(qualified_name + "_log", schema, *b, strategy));
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
    for (const auto& b : changes) {
      ARROW_ASSIGN_OR_RAISE(auto c, ConformBatch(qualified_name + "_log", b, schema));
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
    if (auto seq = table->GetColumnByName(std::string(kSeqColumn)); seq && !SortedBySeq(*seq)) {
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
  }
  result.dead_letters = static_cast<int64_t>(dead.size());
  {
    const auto& letters = dead.letters();
    const size_t n = std::min(letters.size(), IngestResult::kDeadLetterSamples);
    for (size_t i = letters.size() - n; i < letters.size(); ++i) {
      result.dead_letter_samples.emplace_back(
          letters[i].file + "#" + std::to_string(letters[i].offset), letters[i].reason);
    }
  }

  if (!config_.log_tables) {
    // The merged table takes the batch directly; its txn is the position.
    if (follower) {
      ARROW_RETURN_NOT_OK(
          follower->Apply(table, version, ingested_at / 1000, dead, dead_letters_mu, direct));
    } else {
      std::lock_guard<std::mutex> lock(dead_letters_mu);
      ARROW_RETURN_NOT_OK(dead.Flush(app_id_, version, ingested_at));
    }
    result.units = static_cast<int64_t>(batch.units.size());
    return Status::OK();
  }

  // Dead letters first (same txn version: skipped if they already landed),
  // then the commit that makes the batch count.
  {
    std::lock_guard<std::mutex> lock(dead_letters_mu);  // a merge may run alongside
    ARROW_RETURN_NOT_OK(dead.Flush(app_id_, version, ingested_at));
  }
  if (!table) {
    // Nothing decodable in these units: the commit still records the
    // position (a table must exist for that, so one is created only once
    // there are rows).
    if (!snapshot_) {
      result.units = static_cast<int64_t>(batch.units.size());
      return Status::OK();
    }
    table = arrow::Table::MakeEmpty(snapshot_->schema()).ValueOrDie();
  }
  delta::TableWriteOptions options;
  options.deletion_vectors = false;  // log tables are append-only
  options.allow_schema_change = true;
  for (const auto& o : batch.position.offsets) {
    delta::Txn txn{app_id_ + o.suffix, o.version, {}};
    if (!options.txn) {
      options.txn = txn;
    } else {
      options.more_txns.push_back(txn);
    }
  }
  options.operation_parameters = "\"units\":" + nlohmann::json(batch.units).dump();
  // Built on the table as this process last saw it: a commit another
  // process made since with the same txn (the same batch, or one planned
  // from the same position) makes this one conflict instead of landing twice.
  options.read_snapshot = snapshot_;
  options.commit.checkpoint_interval = config_.checkpoint_interval;
  options.commit.checkpoint_queue = checkpoint_queue_;
  options.data = DataWriteOptionsFor(config_);
  if (keys_known_ && !keys_.empty()) {
    options.configuration[merge::kPrimaryKeysProperty] = merge::EncodePrimaryKeys(keys_);
  }
  ARROW_ASSIGN_OR_RAISE(auto committed, delta::WriteTable(*log_, table, options));
  snapshot_ = committed.snapshot;
  // Only a table with keys has merged or history tables to read its tail;
  // a keyless log table would hold its last million rows for nothing.
  if (keys_known_ && !keys_.empty()) tail_.Remember(committed.version, table);
  result.units = static_cast<int64_t>(batch.units.size());
  result.version = committed.version;
  return Status::OK();
}

Result<std::optional<delta::MaintenanceReport>> TableIngest::Maintain(
    const delta::MaintenancePolicy& policy, int64_t now_ms) {
  if (!log_ || !snapshot_) return std::nullopt;
  // The log is append-only: compaction re-adds rows with dataChange=false,
  // which the follower's log tail skips (the rows were merged already).
  auto report = delta::MaintainTable(*log_, snapshot_, policy, now_ms);
  if (!report.ok()) {
    return report.status().WithMessage("log table ", log_path_, ": ", report.status().message());
  }
  if (report->snapshot) snapshot_ = report->snapshot;
  return std::optional<delta::MaintenanceReport>(std::move(*report));
}

}  // namespace sluice::pipeline
