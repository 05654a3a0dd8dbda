#include "sluice/pipeline/table_replay.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <chrono>

#include "sluice/core/arrow_init.h"
#include "sluice/core/clock.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/merge/merged_table.h"

namespace sluice::pipeline {

namespace {

// Keeps the rows with _cdc_ts <= as_of; counts the others.
Result<std::shared_ptr<arrow::Table>> RowsAsOf(const std::shared_ptr<arrow::Table>& rows,
                                               int64_t as_of_us, ReplaySummary& summary) {
  auto ts = rows->GetColumnByName("_cdc_ts");
  if (!ts) return Status::Invalid("the log table has no _cdc_ts column");
  arrow::BooleanBuilder keep;
  ARROW_RETURN_NOT_OK(keep.Reserve(rows->num_rows()));
  for (const auto& chunk : ts->chunks()) {
    if (chunk->type_id() != arrow::Type::TIMESTAMP) {
      return Status::Invalid("_cdc_ts is ", chunk->type()->ToString(), ", not a timestamp");
    }
    const auto& values = static_cast<const arrow::TimestampArray&>(*chunk);
    for (int64_t i = 0; i < values.length(); ++i) {
      bool take = values.IsValid(i) && values.Value(i) <= as_of_us;
      if (values.IsNull(i)) {
        ++summary.rows_no_time;
      } else if (!take) {
        ++summary.rows_later;
      }
      keep.UnsafeAppend(take);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(rows, mask));
  return filtered.table();
}

}  // namespace

Result<ReplaySummary> ReplayLogTable(const ReplayOptions& options) {
  ARROW_RETURN_NOT_OK(InitArrowCompute());
  ARROW_ASSIGN_OR_RAISE(auto log_loc, io::OpenTableLocation(options.log_table));
  ARROW_ASSIGN_OR_RAISE(auto log, delta::LoadIfExists(log_loc));
  if (!log) return Status::Invalid("no Delta table at ", options.log_table);
  if (!log->schema()->GetFieldByName("_cdc_seq") || !log->schema()->GetFieldByName("_cdc_op")) {
    return Status::Invalid(options.log_table,
                           " is not a change log table (no _cdc_seq / _cdc_op columns)");
  }
  std::vector<std::string> keys = options.primary_keys;
  if (keys.empty()) {
    auto recorded = merge::PrimaryKeysOf(*log);
    if (!recorded || recorded->empty()) {
      return Status::Invalid("log table ", options.log_table, " records no primary keys (",
                             merge::kPrimaryKeysProperty, "); name them with --keys");
    }
    keys = *recorded;
  }
  for (const auto& k : keys) {
    if (!log->schema()->GetFieldByName(k)) {
      return Status::Invalid("key column '", k, "' is not in log table ", options.log_table);
    }
  }
  {
    ARROW_ASSIGN_OR_RAISE(auto out_loc, io::OpenTableLocation(options.out));
    ARROW_ASSIGN_OR_RAISE(auto existing, delta::LoadIfExists(out_loc));
    if (existing) {
      return Status::Invalid("replay output ", options.out,
                             " already holds a Delta table; choose a new path");
    }
  }

  merge::MergeSettings settings;
  settings.mode = options.mode;
  // Every delete of the log must still shadow older events read after it.
  settings.tombstone_retention_ms = INT64_MAX / 4;
  merge::MergedTable merger(options.out, keys, "sluice-replay", settings);
  ARROW_RETURN_NOT_OK(merger.Open());

  const int64_t now_ms = WallClockMs();
  ReplaySummary summary;
  // The log is append-only: its files hold every change once, and the merge
  // rules make the order of reading irrelevant.
  const auto& files = log->files();
  const int64_t total = static_cast<int64_t>(files.size());
  std::vector<std::shared_ptr<arrow::Table>> pending;
  int64_t pending_rows = 0;
  int64_t version = 0;
  auto flush = [&]() -> Status {
    if (pending.empty()) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto table, arrow::ConcatenateTables(pending));
    pending.clear();
    pending_rows = 0;
    ARROW_ASSIGN_OR_RAISE(auto batch, table->CombineChunksToBatch());
    ++version;
    ARROW_ASSIGN_OR_RAISE(auto applied, merger.Apply(*batch, version, now_ms));
    summary.invalid += applied.plan.counts.invalid;
    ++summary.commits;
    return Status::OK();
  };
  for (int64_t i = 0; i < total; ++i) {
    auto rows = delta::ReadDataFile(*log, log_loc, files[i]);
    if (!rows.ok()) {
      return rows.status().WithMessage("log table ", options.log_table, ", file ", files[i].path,
                                       ": ", rows.status().message());
    }
    summary.log_rows += (*rows)->num_rows();
    ARROW_ASSIGN_OR_RAISE(auto taken, RowsAsOf(*rows, options.as_of_us, summary));
    if (taken->num_rows() > 0) {
      summary.rows_taken += taken->num_rows();
      pending_rows += taken->num_rows();
      pending.push_back(std::move(taken));
      if (pending_rows >= options.batch_rows) ARROW_RETURN_NOT_OK(flush());
    }
    if (options.progress) options.progress(i + 1, total, summary.rows_taken);
  }
  ARROW_RETURN_NOT_OK(flush());
  if (!merger.snapshot()) {
    // Nothing had happened yet at that moment: the table existed, empty.
    ARROW_ASSIGN_OR_RAISE(auto empty, arrow::Table::MakeEmpty(log->schema()));
    pending.push_back(std::move(empty));
    ARROW_RETURN_NOT_OK(flush());
  }
  if (merger.snapshot()) summary.rows_out = merger.snapshot()->NumRecords();
  return summary;
}

}  // namespace sluice::pipeline
