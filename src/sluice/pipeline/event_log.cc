#include "sluice/pipeline/event_log.h"

#include <arrow/api.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "sluice/core/clock.h"
#include "sluice/delta/actions.h"
#include "sluice/delta/civil_time.h"
#include "sluice/delta/maintenance.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/delta/transaction.h"
#include "sluice/io/table_location.h"

namespace sluice::pipeline {

namespace {

// Rows buffered beyond this are flushed without waiting for the interval.
constexpr size_t kFlushRows = 1000;

std::shared_ptr<arrow::Schema> EventSchema() {
  return arrow::schema({
      arrow::field("time", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false),
      arrow::field("pipeline", arrow::utf8()),
      arrow::field("process", arrow::utf8()),
      arrow::field("table", arrow::utf8()),
      arrow::field("kind", arrow::utf8(), false),
      arrow::field("delta_table", arrow::utf8()),
      arrow::field("delta_path", arrow::utf8()),
      arrow::field("version", arrow::int64()),
      arrow::field("from_version", arrow::int64()),
      arrow::field("to_version", arrow::int64()),
      arrow::field("rows", arrow::int64()),
      arrow::field("dead_letters", arrow::int64()),
      arrow::field("lag_seconds", arrow::float64()),
      arrow::field("duration_seconds", arrow::float64()),
      arrow::field("message", arrow::utf8()),
      arrow::field("details", arrow::utf8()),
  });
}

std::string ProcessName() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  return std::string(host) + ":" + std::to_string(getpid());
}

Status AppendText(arrow::StringBuilder& b, const std::string& s) {
  return s.empty() ? b.AppendNull() : b.Append(s);
}
template <typename B, typename T>
Status AppendOpt(B& b, const std::optional<T>& v) {
  return v ? b.Append(*v) : b.AppendNull();
}

// "2026-12-03T22:00:00.123Z" (a timestamp's stats text) in ms; nullopt if not one.
std::optional<int64_t> ParseStatsTimestampMs(const std::string& text) {
  if (text.size() < 19) return std::nullopt;
  auto days = delta::ParseDate(text.substr(0, 10));
  if (!days.ok()) return std::nullopt;
  int h = 0, m = 0, s = 0, ms = 0;
  if (std::sscanf(text.c_str() + 11, "%2d:%2d:%2d", &h, &m, &s) != 3) return std::nullopt;
  if (text.size() >= 23 && text[19] == '.') std::sscanf(text.c_str() + 20, "%3d", &ms);
  return *days * 86'400'000 + h * 3'600'000LL + m * 60'000LL + s * 1000LL + ms;
}

}  // namespace

std::string EventLogPath(const std::string& sink_path) {
  return io::JoinPath(io::JoinPath(sink_path, "_sluice"), "events");
}

Result<std::shared_ptr<arrow::Table>> ReadEventLog(const std::string& sink_path,
                                                   std::vector<std::string> columns) {
  ARROW_ASSIGN_OR_RAISE(auto location, io::OpenTableLocation(EventLogPath(sink_path)));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(location));
  if (!snapshot) return nullptr;
  if (columns.empty()) {
    for (const auto& f : snapshot->schema()->fields()) columns.push_back(f->name());
  }
  delta::ScanOptions options;
  options.columns = columns;
  ARROW_ASSIGN_OR_RAISE(auto scan, delta::TableScan::Make(*snapshot, location, options));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (const auto& file : snapshot->files()) {
    ARROW_RETURN_NOT_OK(scan.ScanFile(file, [&](const delta::ScanBatch& b) {
      batches.push_back(b.rows);
      return Status::OK();
    }));
  }
  return arrow::Table::FromRecordBatches(scan.schema(), batches);
}

EventLog::EventLog(const Config& config, EventLogOptions options, std::ostream& out)
    : config_(config),
      options_(options),
      out_(out),
      path_(EventLogPath(config.sink_path)),
      process_(ProcessName()) {}

void EventLog::Add(EventRow row) { pending_.push_back(std::move(row)); }

Status EventLog::LoadStopped() {
  ARROW_ASSIGN_OR_RAISE(auto table, ReadEventLog(config_.sink_path, {"table", "kind"}));
  if (!table) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(table, table->CombineChunks());
  if (table->num_rows() == 0) return Status::OK();
  auto names = std::static_pointer_cast<arrow::StringArray>(table->column(0)->chunk(0));
  auto kinds = std::static_pointer_cast<arrow::StringArray>(table->column(1)->chunk(0));
  // File order is commit order for appends; compaction keeps it within a
  // table's history closely enough for a stop followed by a resume.
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    if (names->IsNull(i) || kinds->IsNull(i)) continue;
    const auto kind = kinds->GetView(i);
    if (kind == "stopped") stopped_.insert(std::string(names->GetView(i)));
    if (kind == "resumed") stopped_.erase(std::string(names->GetView(i)));
  }
  return Status::OK();
}

void EventLog::OnRunStart(int64_t now_ms) {
  last_flush_ms_ = now_ms;
  if (Status st = LoadStopped(); !st.ok()) {
    out_ << "[sluice] event log " << path_ << ": cannot read it: " << st.ToString() << std::endl;
  }
  EventRow row;
  row.time_us = now_ms * 1000;
  row.kind = "run_started";
  row.message = "source " + config_.source_path;
  Add(std::move(row));
}

void EventLog::OnTableStep(const ObservedTable& table, const TableStep& step, int64_t now_ms) {
  const auto& in = step.ingest;
  const auto& f = step.follow;
  auto base = [&](const char* kind) {
    EventRow row;
    row.time_us = now_ms * 1000;
    row.table = table.name;
    row.kind = kind;
    return row;
  };
  const bool committed = in.version >= 0 || (f.merged && !f.already_applied);
  if (committed && stopped_.erase(table.name)) {
    EventRow row = base("resumed");
    row.message = "committing again";
    Add(std::move(row));
  }
  if (in.units > 0 && in.schema_changed) {
    EventRow row = base("schema_change");
    row.delta_table = config_.log_tables ? "log" : "merged";
    row.delta_path = config_.log_tables ? table.log_path : table.merged_path;
    row.version = in.version >= 0 ? std::optional<int64_t>(in.version) : std::nullopt;
    row.message = "schema evolved (columns added or widened)";
    row.details = R"({"applied":true})";
    Add(std::move(row));
  }
  if (in.version >= 0) {
    EventRow row = base("commit");
    row.delta_table = "log";
    row.delta_path = table.log_path;
    row.version = in.version;
    row.rows = in.rows;
    row.dead_letters = in.dead_letters;
    if (in.rows > 0) row.lag_seconds = in.lag_ms / 1000.0;
    row.duration_seconds = in.ms / 1000.0;
    row.details = nlohmann::json{{"units", in.units}}.dump();
    Add(std::move(row));
  }
  if (in.dead_letters > 0) {
    EventRow row = base("dead_letters");
    row.delta_table = "dead_letters";
    row.delta_path = io::JoinPath(io::JoinPath(config_.sink_path, "_dead_letters"), table.name);
    if (in.version >= 0) row.version = in.version;
    row.dead_letters = in.dead_letters;
    row.message = std::to_string(in.dead_letters) + " events refused at ingest";
    Add(std::move(row));
  }
  if (f.merged && !f.already_applied) {
    EventRow row = base("commit");
    row.delta_table = "merged";
    row.delta_path = table.merged_path;
    row.version = f.merged_version;
    if (f.from_version >= 0) row.from_version = f.from_version;
    if (f.to_version >= 0) row.to_version = f.to_version;
    row.rows = f.upserts;
    row.dead_letters = f.invalid;
    if (!config_.log_tables && in.rows > 0) row.lag_seconds = in.lag_ms / 1000.0;
    row.duration_seconds = (f.ms > 0 ? f.ms : in.ms) / 1000.0;
    nlohmann::json d{{"upserts", f.upserts},
                     {"deletes", f.deletes},
                     {"ignored_stale", f.ignored_stale},
                     {"invalid", f.invalid},
                     {"changes", f.changes}};
    if (f.merged_rows) d["table_rows"] = *f.merged_rows;
    row.details = d.dump();
    Add(std::move(row));
    if (f.invalid > 0) {
      EventRow dl = base("dead_letters");
      dl.delta_table = "dead_letters";
      dl.delta_path = io::JoinPath(io::JoinPath(config_.sink_path, "_dead_letters"), table.name);
      dl.version = f.merged_version;
      dl.dead_letters = f.invalid;
      dl.message = std::to_string(f.invalid) + " rows refused by the merge";
      Add(std::move(dl));
    }
  }
  if (f.history && f.history_version >= 0) {
    EventRow row = base("commit");
    row.delta_table = "history";
    row.delta_path = table.history_path;
    row.version = f.history_version;
    row.rows = f.history_versions_opened;
    Add(std::move(row));
  }
  if (step.maintenance.ran) {
    EventRow row = base("maintenance");
    row.message = "compacted " + std::to_string(step.maintenance.compacted_files_removed) +
                  " files into " + std::to_string(step.maintenance.compacted_files_added) +
                  ", vacuumed " + std::to_string(step.maintenance.vacuumed_files) + " files";
    row.details =
        nlohmann::json{{"compacted_files_removed", step.maintenance.compacted_files_removed},
                       {"compacted_files_added", step.maintenance.compacted_files_added},
                       {"vacuumed_files", step.maintenance.vacuumed_files}}
            .dump();
    Add(std::move(row));
  }
  if (!step.follower_stopped.empty()) {
    EventRow row = base("stopped");
    row.delta_table = "merged";
    row.delta_path = table.merged_path;
    row.message = "merged and history tables stopped: " + step.follower_stopped;
    Add(std::move(row));
    stopped_.insert(table.name);
    (void)Flush(now_ms, false);
  }
  if (pending_.size() >= kFlushRows) (void)Flush(now_ms, false);
}

void EventLog::OnRetry(const std::vector<ObservedTable>& tables, const Status& status,
                       bool conflict, int64_t now_ms) {
  for (const auto& t : tables) {
    EventRow row;
    row.time_us = now_ms * 1000;
    row.table = t.name;
    row.kind = "retry";
    row.message = status.ToString();
    row.details = conflict ? R"({"conflict":true})" : R"({"conflict":false})";
    Add(std::move(row));
  }
}

void EventLog::OnStopped(const std::vector<ObservedTable>& tables, const std::string& reason,
                         int64_t now_ms) {
  for (const auto& t : tables) {
    EventRow row;
    row.time_us = now_ms * 1000;
    row.table = t.name;
    row.kind = "stopped";
    row.message = reason;
    if (reason.find("schema") != std::string::npos) {
      EventRow change = row;
      change.kind = "schema_change";
      change.delta_table = config_.log_tables ? "log" : "merged";
      change.delta_path = config_.log_tables ? t.log_path : t.merged_path;
      change.details = R"({"applied":false})";
      Add(std::move(change));
    }
    Add(std::move(row));
    stopped_.insert(t.name);
  }
  if (Status st = Flush(now_ms, false); !st.ok()) {
    out_ << "[sluice] event log " << path_ << ": " << st.ToString() << " (kept for later)"
         << std::endl;
  }
}

void EventLog::OnPoll(int64_t now_ms) {
  if (now_ms - last_flush_ms_ < options_.flush_interval_ms) return;
  if (Status st = Flush(now_ms, false); !st.ok() && !warned_) {
    warned_ = true;
    out_ << "[sluice] event log " << path_ << ": " << st.ToString() << " (kept for later)"
         << std::endl;
  }
}

void EventLog::OnRunEnd(int64_t now_ms) {
  EventRow row;
  row.time_us = now_ms * 1000;
  row.kind = "run_stopped";
  Add(std::move(row));
  if (Status st = Flush(now_ms, true); !st.ok()) {
    out_ << "[sluice] event log " << path_ << ": " << st.ToString() << " (" << pending_.size()
         << " events lost)" << std::endl;
  }
}

Status EventLog::Flush(int64_t now_ms, bool drain) {
  last_flush_ms_ = now_ms;
  ARROW_ASSIGN_OR_RAISE(auto location, io::OpenTableLocation(path_));
  if (!pending_.empty()) {
    arrow::TimestampBuilder time(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                                 arrow::default_memory_pool());
    arrow::StringBuilder pipeline, process, table, kind, delta_table, delta_path, message, details;
    arrow::Int64Builder version, from_version, to_version, rows, dead_letters;
    arrow::DoubleBuilder lag, duration;
    for (const auto& r : pending_) {
      ARROW_RETURN_NOT_OK(time.Append(r.time_us));
      ARROW_RETURN_NOT_OK(pipeline.Append(config_.name));
      ARROW_RETURN_NOT_OK(process.Append(process_));
      ARROW_RETURN_NOT_OK(AppendText(table, r.table));
      ARROW_RETURN_NOT_OK(kind.Append(r.kind));
      ARROW_RETURN_NOT_OK(AppendText(delta_table, r.delta_table));
      ARROW_RETURN_NOT_OK(AppendText(delta_path, r.delta_path));
      ARROW_RETURN_NOT_OK(AppendOpt(version, r.version));
      ARROW_RETURN_NOT_OK(AppendOpt(from_version, r.from_version));
      ARROW_RETURN_NOT_OK(AppendOpt(to_version, r.to_version));
      ARROW_RETURN_NOT_OK(AppendOpt(rows, r.rows));
      ARROW_RETURN_NOT_OK(AppendOpt(dead_letters, r.dead_letters));
      ARROW_RETURN_NOT_OK(AppendOpt(lag, r.lag_seconds));
      ARROW_RETURN_NOT_OK(AppendOpt(duration, r.duration_seconds));
      ARROW_RETURN_NOT_OK(AppendText(message, r.message));
      ARROW_RETURN_NOT_OK(AppendText(details, r.details));
    }
    std::vector<std::shared_ptr<arrow::Array>> cols(16);
    ARROW_RETURN_NOT_OK(time.Finish(&cols[0]));
    ARROW_RETURN_NOT_OK(pipeline.Finish(&cols[1]));
    ARROW_RETURN_NOT_OK(process.Finish(&cols[2]));
    ARROW_RETURN_NOT_OK(table.Finish(&cols[3]));
    ARROW_RETURN_NOT_OK(kind.Finish(&cols[4]));
    ARROW_RETURN_NOT_OK(delta_table.Finish(&cols[5]));
    ARROW_RETURN_NOT_OK(delta_path.Finish(&cols[6]));
    ARROW_RETURN_NOT_OK(version.Finish(&cols[7]));
    ARROW_RETURN_NOT_OK(from_version.Finish(&cols[8]));
    ARROW_RETURN_NOT_OK(to_version.Finish(&cols[9]));
    ARROW_RETURN_NOT_OK(rows.Finish(&cols[10]));
    ARROW_RETURN_NOT_OK(dead_letters.Finish(&cols[11]));
    ARROW_RETURN_NOT_OK(lag.Finish(&cols[12]));
    ARROW_RETURN_NOT_OK(duration.Finish(&cols[13]));
    ARROW_RETURN_NOT_OK(message.Finish(&cols[14]));
    ARROW_RETURN_NOT_OK(details.Finish(&cols[15]));
    delta::TableWriteOptions options;
    options.deletion_vectors = false;  // append-only; retention removes whole files
    options.commit.checkpoint_interval = config_.checkpoint_interval;
    options.commit.checkpoint_queue = checkpoint_queue_;
    options.data = DataWriteOptionsFor(config_);
    auto data = arrow::Table::Make(EventSchema(), cols);
    // Blind appends: another process's append in between is no conflict,
    // but a race on the same version is retried here a few times.
    Status st;
    for (int attempt = 0; attempt < 5; ++attempt) {
      st = delta::WriteTable(location, data, options).status();
      if (st.ok() || !delta::IsCommitConflict(st)) break;
    }
    ARROW_RETURN_NOT_OK(st);
    pending_.clear();
    warned_ = false;
  }
  // Maintenance: every maintenance_interval, and once at the end of a run.
  if (!maintenance_.Due(config_, now_ms, drain, drain)) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(location));
  if (!snapshot) return Status::OK();
  MaintenanceResult ignored;
  maintenance_.Start(now_ms, ignored);
  ARROW_ASSIGN_OR_RAISE(int64_t expired, ApplyRetention(snapshot, now_ms - options_.retention_ms));
  if (expired > 0) {
    ARROW_ASSIGN_OR_RAISE(snapshot, delta::LoadIfExists(location));
  }
  // The policy of the pipeline's own tables.
  ARROW_ASSIGN_OR_RAISE(
      auto report,
      delta::MaintainTable(location, snapshot,
                           maintenance_.PolicyFor(config_, last_vacuum_ms_, checkpoint_queue_),
                           now_ms));
  last_vacuum_ms_ = report.last_vacuum_ms;
  return Status::OK();
}

Result<int64_t> EventLog::ApplyRetention(const std::shared_ptr<const delta::Snapshot>& snapshot,
                                         int64_t cutoff_ms) {
  delta::Transaction txn(snapshot, "DELETE");
  int64_t removed = 0;
  const int64_t now_ms = WallClockMs();
  for (const auto& add : snapshot->files()) {
    if (!add.stats) continue;
    auto stats = nlohmann::json::parse(*add.stats, nullptr, /*allow_exceptions=*/false);
    if (stats.is_discarded() || !stats.contains("maxValues")) continue;
    const auto& max = stats["maxValues"];
    if (!max.contains("time") || !max["time"].is_string()) continue;
    auto newest = ParseStatsTimestampMs(max["time"].get<std::string>());
    if (!newest || *newest >= cutoff_ms) continue;
    txn.RemoveFile(delta::RemoveActionFor(add, now_ms));
    ++removed;
  }
  if (removed == 0) return 0;
  txn.SetOperationParameters(R"({"predicate":"time < retention cutoff"})");
  delta::CommitOptions commit;
  commit.checkpoint_interval = config_.checkpoint_interval;
  commit.checkpoint_queue = checkpoint_queue_;
  ARROW_RETURN_NOT_OK(txn.Commit(commit).status());
  return removed;
}

}  // namespace sluice::pipeline
