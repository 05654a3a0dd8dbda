#include "sluice/pipeline/table_snapshot.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/filesystem/api.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "sluice/core/arrow_init.h"
#include "sluice/core/clock.h"
#include "sluice/core/uuid.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/formats/json/timestamp_text.h"
#include "sluice/merge/merged_table.h"
#include "sluice/pipeline/snapshot_publish.h"

namespace sluice::pipeline {

namespace {

constexpr int64_t kDayUs = 86'400'000'000LL;
constexpr const char* kStateApp = "sluice-snapshot-state";
constexpr const char* kStatePath = "_sluice/state";
constexpr const char* kVersionPrefix = "version=";
constexpr const char* kRebuildPrefix = "rebuild-";

// The last microsecond of `days` (inclusive bound on _cdc_ts).
int64_t EndOfDayUs(int32_t days) { return (static_cast<int64_t>(days) + 1) * kDayUs - 1; }

// Keeps the rows with lower < _cdc_ts <= upper (INT64_MIN: no lower bound).
Result<std::shared_ptr<arrow::Table>> RowsBetween(const std::shared_ptr<arrow::Table>& rows,
                                                  int64_t lower, int64_t upper_us) {
  auto ts = rows->GetColumnByName("_cdc_ts");
  if (!ts) return Status::Invalid("the log table has no _cdc_ts column");
  arrow::BooleanBuilder keep;
  ARROW_RETURN_NOT_OK(keep.Reserve(rows->num_rows()));
  int64_t kept = 0;
  for (const auto& chunk : ts->chunks()) {
    if (chunk->type_id() != arrow::Type::TIMESTAMP) {
      return Status::Invalid("_cdc_ts is ", chunk->type()->ToString(), ", not a timestamp");
    }
    const auto& values = static_cast<const arrow::TimestampArray&>(*chunk);
    for (int64_t i = 0; i < values.length(); ++i) {
      // A row without a source time belongs to no day: left out (as replay).
      bool take = values.IsValid(i) && values.Value(i) <= upper_us && values.Value(i) > lower;
      kept += take;
      keep.UnsafeAppend(take);
    }
  }
  if (kept == rows->num_rows()) return rows;
  ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(rows, mask));
  return filtered.table();
}

// The [min, max] of a log file's _cdc_ts from its stats (milliseconds), if
// they have them.
std::optional<std::pair<int64_t, int64_t>> CdcTsRange(const delta::Add& file) {
  if (!file.stats) return std::nullopt;
  auto json = nlohmann::json::parse(*file.stats, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  auto bound = [&](const char* which) -> std::optional<int64_t> {
    auto values = json.find(which);
    if (values == json.end() || !values->is_object()) return std::nullopt;
    auto ts = values->find("_cdc_ts");
    if (ts == values->end() || !ts->is_string()) return std::nullopt;
    formats::json::TimePoint point;
    int64_t us = 0;
    if (!formats::json::ParseTimePoint(ts->get<std::string>(), &point) ||
        !formats::json::TimePointToUnits(point, 1'000'000, &us)) {
      return std::nullopt;
    }
    return us;
  };
  auto lo = bound("minValues");
  auto hi = bound("maxValues");
  if (!lo || !hi) return std::nullopt;
  // The min is a millisecond at or below every value (rounded down); the
  // max is rounded up by Sluice but truncated by Spark: widen it by 999 us.
  return std::make_pair(*lo, *hi + 999);
}

// Whether `file` holds a row with lower < _cdc_ts <= upper, reading only
// that column.
Result<bool> AnyRowBetween(const delta::TableScan& scan, const delta::Add& file, int64_t lower,
                           int64_t upper) {
  bool any = false;
  ARROW_RETURN_NOT_OK(scan.ScanFile(file, [&](const delta::ScanBatch& batch) -> Status {
    const auto& column = *batch.rows->column(0);
    if (any || column.type_id() != arrow::Type::TIMESTAMP) return Status::OK();
    const auto& values = static_cast<const arrow::TimestampArray&>(column);
    for (int64_t i = 0; i < values.length() && !any; ++i) {
      any = values.IsValid(i) && values.Value(i) > lower && values.Value(i) <= upper;
    }
    return Status::OK();
  }));
  return any;
}

std::string VersionDirName(int32_t date) { return kVersionPrefix + FormatSnapshotDate(date); }

// The version=YYYY-MM-DD folders directly under the root, by date.
Result<std::vector<int32_t>> VersionDirs(const io::TableLocation& root) {
  arrow::fs::FileSelector sel;
  sel.base_dir = root.root;
  sel.allow_not_found = true;
  ARROW_ASSIGN_OR_RAISE(auto infos, root.fs->GetFileInfo(sel));
  std::vector<int32_t> dates;
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::Directory) continue;
    std::string name = info.base_name();
    if (name.rfind(kVersionPrefix, 0) != 0) continue;
    auto date = ParseSnapshotDate(name.substr(std::strlen(kVersionPrefix)));
    if (date.ok()) dates.push_back(*date);
  }
  std::sort(dates.begin(), dates.end());
  return dates;
}

// The state table: a merged table kept by the merge engine. Tombstones are
// kept for ever: a delete must shadow an older event read at any later run.
std::unique_ptr<merge::MergedTable> MakeState(const std::string& path,
                                              const std::vector<std::string>& keys,
                                              const delta::DataWriteOptions& data) {
  merge::MergeSettings settings;
  settings.mode = merge::MergeMode::kDeletionVectors;
  settings.tombstone_retention_ms = INT64_MAX / 4;
  settings.data = data;
  return std::make_unique<merge::MergedTable>(path, keys, kStateApp, settings);
}

// Deletes a state table: its log first, so that a run stopped half-way
// leaves either no table or a consistent (older) version, never a log
// pointing at deleted files.
Status DeleteTree(const io::TableLocation& loc) {
  auto info = loc.fs->GetFileInfo(loc.root);
  if (!info.ok() || info->type() == arrow::fs::FileType::NotFound) return Status::OK();
  const std::string log_dir = io::JoinPath(loc.root, "_delta_log");
  auto log_info = loc.fs->GetFileInfo(log_dir);
  if (log_info.ok() && log_info->type() == arrow::fs::FileType::Directory) {
    ARROW_RETURN_NOT_OK(loc.fs->DeleteDir(log_dir));
  }
  return loc.fs->DeleteDir(loc.root);
}

// Replays built aside by runs that stopped before deleting them.
Status DeleteStaleRebuilds(const io::TableLocation& root) {
  arrow::fs::FileSelector sel;
  sel.base_dir = io::JoinPath(root.root, "_sluice");
  sel.allow_not_found = true;
  ARROW_ASSIGN_OR_RAISE(auto infos, root.fs->GetFileInfo(sel));
  for (const auto& info : infos) {
    if (info.type() == arrow::fs::FileType::Directory &&
        info.base_name().rfind(kRebuildPrefix, 0) == 0) {
      ARROW_ASSIGN_OR_RAISE(auto loc, io::OpenSubLocation(root, "_sluice/" + info.base_name()));
      ARROW_RETURN_NOT_OK(DeleteTree(loc));
    }
  }
  return Status::OK();
}

}  // namespace

Result<int32_t> ParseSnapshotDate(const std::string& text) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
      text[4] != '-' || text[7] != '-') {
    return Status::Invalid("date '", text, "' is not YYYY-MM-DD");
  }
  int64_t days = formats::json::DaysFromCivil(y, m, d);
  if (m < 1 || m > 12 || d < 1 || FormatSnapshotDate(static_cast<int32_t>(days)) != text) {
    return Status::Invalid("date '", text, "' is not a calendar date");
  }
  if (days < 0) return Status::Invalid("date '", text, "' is before 1970-01-01");
  return static_cast<int32_t>(days);
}

std::string FormatSnapshotDate(int32_t days) {
  // Civil from days (the inverse of DaysFromCivil).
  int64_t z = static_cast<int64_t>(days) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return buf;
}

int64_t StateMark::Encode() const {
  return (static_cast<int64_t>(date) << 32) | (complete ? (int64_t{1} << 31) : 0) |
         (counter & 0x7fffffff);
}

StateMark StateMark::Decode(int64_t version) {
  StateMark mark;
  mark.date = static_cast<int32_t>(version >> 32);
  mark.complete = (version >> 31) & 1;
  mark.counter = version & 0x7fffffff;
  return mark;
}

Result<std::optional<int32_t>> LatestSnapshotDate(const std::string& root, bool partitioned) {
  ARROW_ASSIGN_OR_RAISE(auto loc, io::OpenTableLocation(root));
  if (partitioned) {
    ARROW_ASSIGN_OR_RAISE(auto table, delta::LoadIfExists(loc));
    if (!table) return std::optional<int32_t>();
    auto v = table->TxnVersion(kSnapshotAppId);
    if (!v) return std::optional<int32_t>();
    return std::optional<int32_t>(static_cast<int32_t>(*v));
  }
  ARROW_ASSIGN_OR_RAISE(auto dates, VersionDirs(loc));
  for (auto it = dates.rbegin(); it != dates.rend(); ++it) {
    ARROW_ASSIGN_OR_RAISE(auto sub, io::OpenSubLocation(loc, VersionDirName(*it)));
    ARROW_ASSIGN_OR_RAISE(auto table, delta::LoadIfExists(sub));
    if (table) return std::optional<int32_t>(*it);
  }
  return std::optional<int32_t>();
}

Result<SnapshotSummary> TakeSnapshot(const SnapshotOptions& options) {
  ARROW_RETURN_NOT_OK(InitArrowCompute());
  const std::string date_text = FormatSnapshotDate(options.date);
  if (options.start_date && options.date < *options.start_date) {
    return Status::Invalid("snapshot date ", date_text, " is before the CDC start date ",
                           FormatSnapshotDate(*options.start_date),
                           ": the log holds no complete state for it");
  }
  if (EndOfDayUs(options.date) > WallClockUs() && options.progress) {
    options.progress("note: " + date_text +
                     " has not ended yet (UTC); its snapshot holds the changes so far, re-run "
                     "the date once it has ended");
  }
  ARROW_ASSIGN_OR_RAISE(auto log_loc, io::OpenTableLocation(options.log_table));
  ARROW_ASSIGN_OR_RAISE(auto log, delta::LoadIfExists(log_loc));
  if (!log) return Status::Invalid("no Delta table at ", options.log_table);
  if (!log->schema()->GetFieldByName("_cdc_seq") || !log->schema()->GetFieldByName("_cdc_ts")) {
    return Status::Invalid(options.log_table,
                           " is not a change log table (no _cdc_seq / _cdc_ts columns)");
  }
  std::vector<std::string> keys = options.primary_keys;
  if (keys.empty()) {
    auto recorded = merge::PrimaryKeysOf(*log);
    if (!recorded || recorded->empty()) {
      return Status::Invalid("log table ", options.log_table, " records no primary keys (",
                             merge::kPrimaryKeysProperty, "); configure tables.\"<db>.<table>\"",
                             ".primary_keys");
    }
    keys = *recorded;
  }

  ARROW_ASSIGN_OR_RAISE(auto root, io::OpenTableLocation(options.root));
  // The other layout under the same root is refused rather than mixed.
  {
    ARROW_ASSIGN_OR_RAISE(auto table, delta::LoadIfExists(root));
    ARROW_ASSIGN_OR_RAISE(auto dirs, VersionDirs(root));
    if (options.partitioned && !dirs.empty()) {
      return Status::Invalid(
          options.root, " holds versioned snapshots (version=", FormatSnapshotDate(dirs.back()),
          "/...); a partitioned snapshot table needs another root");
    }
    if (!options.partitioned && table) {
      return Status::Invalid(options.root,
                             " is a partitioned snapshot table; use --partitioned "
                             "(or snapshot.partitioned = true)");
    }
  }
  SnapshotSummary summary;
  ARROW_ASSIGN_OR_RAISE(summary.latest_before,
                        LatestSnapshotDate(options.root, options.partitioned));
  if (summary.latest_before && options.date < *summary.latest_before && !options.rebuild) {
    return Status::Invalid("snapshot date ", date_text, " is older than the latest snapshot ",
                           FormatSnapshotDate(*summary.latest_before),
                           "; --rebuild replays the log up to ", date_text,
                           " and replaces that date");
  }

  // Which state to start from.
  std::string state_rel = kStatePath;
  ARROW_ASSIGN_OR_RAISE(auto state_loc, io::OpenSubLocation(root, state_rel));
  std::optional<StateMark> mark;
  std::string unusable;  // why an existing state cannot be used
  {
    auto existing = delta::LoadIfExists(state_loc);
    if (!existing.ok()) {
      unusable = "the state table cannot be read (" + existing.status().ToString() + ")";
    } else if (*existing) {
      auto v = (*existing)->TxnVersion(kStateApp);
      auto recorded = merge::PrimaryKeysOf(**existing);
      if (recorded && *recorded != keys) {
        unusable = "the primary keys changed";
      } else if (v) {
        mark = StateMark::Decode(*v);
      }
    }
  }
  bool full = true;
  bool temporary = false;
  if (options.rebuild) {
    summary.why_full = "--rebuild";
  } else if (!unusable.empty()) {
    summary.why_full = unusable;
  } else if (!mark) {
    summary.why_full = "no snapshot state yet";
  } else if (!mark->complete) {
    summary.why_full = "the state of an interrupted run is discarded";
  } else if (mark->date > options.date) {
    summary.why_full = "the state is at " + FormatSnapshotDate(mark->date) + ", after " + date_text;
  } else {
    full = false;
  }
  if (full && mark && mark->complete && mark->date > options.date) {
    // Going back in time: keep the state for the next dates, replay aside.
    temporary = true;
    state_rel = std::string("_sluice/") + kRebuildPrefix + NewUuidV4();
    ARROW_ASSIGN_OR_RAISE(state_loc, io::OpenSubLocation(root, state_rel));
  }
  ARROW_RETURN_NOT_OK(DeleteStaleRebuilds(root));
  if (full) ARROW_RETURN_NOT_OK(DeleteTree(state_loc));

  auto state = MakeState(io::JoinPath(options.root, state_rel), keys, options.data);
  ARROW_RETURN_NOT_OK(state->Open());
  const int64_t upper = EndOfDayUs(options.date);
  const int64_t log_version = log->version();
  if (log_version > 0x7fffffff) return Status::Invalid("log table version out of range");

  // Log files the state has read entirely up to its date: those of the log
  // version it recorded (compaction may have rewritten some since; their
  // rows are then read again, which the merge ignores as replays).
  std::set<std::string> seen;
  int64_t lower = INT64_MIN;
  if (!full) {
    summary.incremental = true;
    lower = EndOfDayUs(mark->date);
    auto before = delta::Snapshot::Load(log_loc.log, mark->counter);
    if (before.ok()) {
      for (const auto& f : (*before)->files()) seen.insert(f.path);
    }  // else: that version's log expired; every file is read (still exact)
  }

  delta::ScanOptions ts_only;
  ts_only.columns = {"_cdc_ts"};
  ARROW_ASSIGN_OR_RAISE(auto ts_scan, delta::TableScan::Make(*log, log_loc, ts_only));
  const int64_t now_ms = WallClockMs();
  std::vector<std::shared_ptr<arrow::Table>> pending;
  int64_t pending_rows = 0;
  int64_t batch = 0;
  const auto& files = log->files();
  auto flush = [&](bool last) -> Status {
    if (pending.empty() && !(last && !state->snapshot())) return Status::OK();
    std::shared_ptr<arrow::Table> table;
    if (pending.empty()) {
      // Nothing had happened by then: the table existed, empty.
      ARROW_ASSIGN_OR_RAISE(table, arrow::Table::MakeEmpty(log->schema()));
    } else {
      ARROW_ASSIGN_OR_RAISE(table, arrow::ConcatenateTables(pending));
    }
    pending.clear();
    pending_rows = 0;
    ARROW_ASSIGN_OR_RAISE(auto rows, table->CombineChunksToBatch());
    StateMark m{options.date, last, last ? log_version : ++batch};
    ARROW_ASSIGN_OR_RAISE(auto applied, state->Apply(*rows, m.Encode(), now_ms));
    summary.invalid += applied.plan.counts.invalid;
    return Status::OK();
  };
  for (size_t i = 0; i < files.size(); ++i) {
    if (options.files_progress) {
      options.files_progress(static_cast<int64_t>(i), static_cast<int64_t>(files.size()));
    }
    const int64_t from = seen.count(files[i].path) ? lower : INT64_MIN;
    // Log files are written roughly in time order: most fall outside the
    // window and are skipped on their statistics.
    if (auto range = CdcTsRange(files[i]); range) {
      if (range->second <= from || range->first > upper) {
        ++summary.log_files_skipped;
        continue;
      }
    } else {
      // No statistics on _cdc_ts (a log table wider than the indexed
      // columns): read that column alone first.
      ARROW_ASSIGN_OR_RAISE(bool any, AnyRowBetween(ts_scan, files[i], from, upper));
      if (!any) {
        ++summary.log_files_skipped;
        continue;
      }
    }
    auto rows = delta::ReadDataFile(*log, log_loc, files[i]);
    if (!rows.ok()) {
      return rows.status().WithMessage("log table ", options.log_table, ", file ", files[i].path,
                                       ": ", rows.status().message());
    }
    ++summary.log_files_read;
    ARROW_ASSIGN_OR_RAISE(auto taken, RowsBetween(*rows, from, upper));
    if (options.progress && (summary.log_files_read % 64 == 0 || i + 1 == files.size())) {
      options.progress("log files " + std::to_string(i + 1) + "/" + std::to_string(files.size()) +
                       " (" + std::to_string(summary.log_files_read) + " read, " +
                       std::to_string(summary.log_files_skipped) + " skipped by their _cdc_ts), " +
                       std::to_string(summary.changes_applied + taken->num_rows()) +
                       " changes to apply");
    }
    if (taken->num_rows() == 0) continue;
    summary.changes_applied += taken->num_rows();
    pending_rows += taken->num_rows();
    pending.push_back(std::move(taken));
    // Batches are marked incomplete until the last (an interrupted run is
    // then replayed in full). A re-run of the state's own date has no
    // incomplete mark above its complete one: it is one merge commit.
    const bool can_batch = full || mark->date < options.date;
    if (can_batch && pending_rows >= options.batch_rows) ARROW_RETURN_NOT_OK(flush(false));
  }
  if (options.files_progress) {
    options.files_progress(static_cast<int64_t>(files.size()), static_cast<int64_t>(files.size()));
  }
  ARROW_RETURN_NOT_OK(flush(true));
  {
    // The final mark (complete, the log version read) even when no row was
    // left to apply in this last batch.
    StateMark m{options.date, true, log_version};
    auto done = state->done();
    if (!done || *done < m.Encode())
      ARROW_RETURN_NOT_OK(state->CommitEmpty(m.Encode(), now_ms).status());
  }
  if (!state->snapshot()) return Status::Invalid("the snapshot state table was not created");

  std::string out_path = options.root;
  io::TableLocation out = root;
  if (!options.partitioned) {
    out_path = io::JoinPath(options.root, VersionDirName(options.date));
    ARROW_ASSIGN_OR_RAISE(out, io::OpenSubLocation(root, VersionDirName(options.date)));
  }
  summary.output = out_path;
  {
    PublishTarget target;
    target.location = out;
    target.date = options.date;
    target.partitioned = options.partitioned;
    target.partition_column = options.partition_column;
    target.latest_before = summary.latest_before;
    target.data = options.data;
    target.progress = options.progress;
    ARROW_ASSIGN_OR_RAISE(auto published, PublishSnapshot(*state, target));
    summary.rows = published.rows;
    summary.files = published.files;
    summary.version = published.version;
  }
  if (temporary) {
    ARROW_RETURN_NOT_OK(DeleteTree(state_loc));
  } else {
    // The state gains a file (and deletion vectors) per run: compact it and
    // vacuum what compaction replaced, as the pipeline does for merged
    // tables. The snapshot is written already; a failure here only delays.
    delta::MaintenancePolicy policy;
    int64_t tombstones_vacuumed_ms = 0;
    auto report = state->Maintain(policy, tombstones_vacuumed_ms, WallClockMs());
    if (!report.ok() && options.progress) {
      options.progress("maintenance of the state table failed (retried next run): " +
                       report.status().ToString());
    }
  }
  return summary;
}

}  // namespace sluice::pipeline
