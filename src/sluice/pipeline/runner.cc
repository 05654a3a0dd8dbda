#include "sluice/pipeline/runner.h"

#include <arrow/filesystem/localfs.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "sluice/delta/transaction.h"
#include "sluice/pipeline/table_pipeline.h"
#include "sluice/sources/datastream/discovery.h"

namespace sluice::pipeline {

std::atomic<bool> g_stop_requested{false};

namespace {

std::string FormatLag(int64_t ms) {
  if (ms < 0) ms = 0;
  int64_t s = ms / 1000;
  char buf[64];
  if (s < 120)
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  else if (s < 7200)
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else if (s < 172800)
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>((s / 60) % 60));
  else
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>((s / 3600) % 24));
  return buf;
}

struct TableState {
  std::unique_ptr<TablePipeline> pipeline;
  RunSummary totals;
  bool stopped = false;
  std::string error;
  int io_failures = 0;
  bool told_no_keys = false;
  RunSummary merged;  ///< rows = row images written to the merged table
  std::chrono::steady_clock::time_point retry_at{};
};

// One JSON object per line for benchmarks and monitoring: an "ingest"
// event per log commit, a "merge" event per merged-table commit.
void WriteMetrics(std::ofstream& out, const std::string& table, const StepResult& step) {
  if (step.files > 0) {
    nlohmann::json j{{"event", "ingest"},
                     {"table", table},
                     {"files", step.files},
                     {"rows", step.rows},
                     {"ms", step.ingest_ms},
                     {"version", step.version},
                     {"dead_letters", step.dead_letters}};
    out << j.dump() << "\n";
  }
  if (step.merged) {
    nlohmann::json j{{"event", "merge"},
                     {"table", table},
                     {"changes", step.merge_changes},
                     {"ms", step.merge_ms > 0 ? step.merge_ms : step.ingest_ms},
                     {"version", step.merged_version},
                     {"upserts", step.upserts},
                     {"deletes", step.deletes},
                     {"ignored_stale", step.ignored_stale}};
    if (step.merged_rows) j["table_rows"] = *step.merged_rows;
    if (step.index_bytes > 0) j["index_bytes"] = step.index_bytes;
    j["exact_seq_reads"] = step.exact_seq_reads;
    out << j.dump() << "\n";
  }
  out.flush();
}

}  // namespace

int ShardOf(const std::string& folder, int count) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : folder) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int>(h % static_cast<uint64_t>(count));
}

Result<RunSummary> Run(const Config& config, const RunOptions& options, std::ostream& out) {
  ARROW_RETURN_NOT_OK(ValidateForRun(config));
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  std::string root = config.source_path;
  if (root.rfind("file://", 0) == 0) root = root.substr(7);
  while (root.size() > 1 && root.back() == '/') root.pop_back();

  std::unique_ptr<std::ofstream> metrics;
  if (!options.metrics_path.empty()) {
    metrics = std::make_unique<std::ofstream>(options.metrics_path, std::ios::app);
    if (!*metrics) return Status::IOError("cannot open metrics file ", options.metrics_path);
  }
  std::map<std::string, TableState> tables;
  auto t0 = std::chrono::steady_clock::now();
  out << "[sluice] " << config.name << ": " << config.source_kind << " " << config.format
      << " files from " << config.source_path << " into " << config.sink_path
      << (options.once ? " (--once)" : "") << std::endl;

  while (!g_stop_requested) {
    ARROW_ASSIGN_OR_RAISE(auto folders, sources::datastream::ListTableFolders(*fs, root));
    for (const auto& folder : folders) {
      if (options.shard_count > 1 && ShardOf(folder, options.shard_count) != options.shard_index)
        continue;
      if (tables.count(folder)) continue;
      tables[folder].pipeline = std::make_unique<TablePipeline>(config, fs, root, folder);
      out << "[sluice] discovered table folder '" << folder << "'" << std::endl;
    }
    bool any_work = false;
    bool any_pending_retry = false;
    for (auto& [folder, state] : tables) {
      if (state.stopped || g_stop_requested) continue;
      if (std::chrono::steady_clock::now() < state.retry_at) {
        any_pending_retry = true;
        continue;
      }
      auto listing = sources::datastream::ListTableFiles(*fs, root, folder, config.format);
      Result<StepResult> step =
          listing.ok() ? state.pipeline->Step(*listing, options.once) : listing.status();
      if (!step.ok()) {
        const auto& st = step.status();
        std::string name =
            state.pipeline->qualified_name().empty() ? folder : state.pipeline->qualified_name();
        // I/O errors and a concurrent writer's commit (the merged table's key
        // index is then rebuilt) are retried with backoff.
        if ((st.IsIOError() || delta::IsCommitConflict(st)) && ++state.io_failures <= 5) {
          int backoff = 1 << std::min(state.io_failures, 5);
          state.retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(backoff);
          out << "[sluice] " << name << ": " << st.ToString() << " (retrying in " << backoff << "s)"
              << std::endl;
          any_pending_retry = true;
        } else {
          state.stopped = true;
          state.error = st.ToString();
          out << "[sluice] " << name << ": STOPPED: " << st.ToString() << std::endl;
        }
        continue;
      }
      state.io_failures = 0;
      const bool maintenance_work =
          step->maintained && (step->compacted_files_removed > 0 || step->vacuumed_files > 0);
      if (step->files == 0 && !step->merged && !step->history && !maintenance_work) continue;
      any_work = true;
      state.totals.files += step->files;
      state.totals.rows += step->rows;
      state.totals.dead_letters += step->dead_letters;
      if (step->version >= 0 || (!config.log_tables && step->merged)) ++state.totals.commits;
      const std::string& qname = state.pipeline->qualified_name();
      if (state.pipeline->keys_known() && state.pipeline->primary_keys().empty() &&
          !state.told_no_keys) {
        state.told_no_keys = true;
        out << "[sluice] " << qname << ": no primary keys (none in the source metadata or tables.\""
            << qname << "\".primary_keys): log table only, no merged table" << std::endl;
      }
      if (metrics) WriteMetrics(*metrics, qname, *step);
      out << "[sluice] ";
      if (step->files > 0) {
        if (config.log_tables) {
          out << qname << "_log";
          if (step->version >= 0) out << " v" << step->version;
          out << ": ";
        } else {
          // Merged tables only: the merged table's version leads the line.
          out << qname;
          if (step->merged) out << " v" << step->merged_version;
          out << ": ";
        }
        out << step->files << " file" << (step->files == 1 ? "" : "s") << ", " << step->rows
            << " rows";
        if (step->dead_letters) out << ", " << step->dead_letters << " dead letters";
        if (step->schema_changed) out << ", schema evolved";
        if (step->rows) out << ", lag " << FormatLag(step->lag_ms);
      }
      if (step->merged) {
        if (config.log_tables) {
          out << (step->files > 0 ? "; " : "") << qname << " v" << step->merged_version
              << " <- log v" << step->merge_from_version;
          if (step->merge_to_version != step->merge_from_version)
            out << "..v" << step->merge_to_version;
          out << ":";
        } else {
          out << ";";
        }
        out << " ";
        if (step->merge_already_applied) {
          out << "already applied";
        } else {
          out << "+" << step->upserts << " -" << step->deletes;
          if (step->ignored_stale) out << " (ignored " << step->ignored_stale << " stale)";
          if (step->invalid) out << ", " << step->invalid << " invalid";
        }
        if (step->merged_rows) out << ", " << *step->merged_rows << " rows";

        if (!step->merge_already_applied) {
          ++state.merged.commits;
          state.merged.rows += step->upserts;
        }
      }
      if (step->history) {
        out << ((step->files > 0 || step->merged) ? "; " : "") << qname << "_history v"
            << step->history_version << ": +" << step->history_versions_opened << " versions";
      }
      if (maintenance_work) {
        out << ((step->files > 0 || step->merged || step->history) ? "; " : "") << qname
            << " maintenance: compacted " << step->compacted_files_removed << " files into "
            << step->compacted_files_added << ", vacuumed " << step->vacuumed_files << " files";
      }
      out << std::endl;
    }
    if (options.once && !any_work && !any_pending_retry) break;
    if (!options.once && !any_work) {
      // Sleep in small steps so a stop request is seen quickly.
      auto until =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(config.poll_interval_ms);
      while (!g_stop_requested && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    } else if (options.once && !any_work && any_pending_retry) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  RunSummary summary;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out << "\n== Sluice summary (" << secs << " s) ==\n";
  for (const auto& [folder, state] : tables) {
    ++summary.tables;
    summary.files += state.totals.files;
    summary.rows += state.totals.rows;
    summary.dead_letters += state.totals.dead_letters;
    summary.commits += state.totals.commits;
    std::string name =
        state.pipeline->qualified_name().empty() ? folder : state.pipeline->qualified_name();
    out << "  " << name << ": " << state.totals.files << " files, " << state.totals.rows
        << " rows, " << state.totals.dead_letters << " dead letters, " << state.totals.commits
        << " commits";
    if (!state.pipeline->log_table_path().empty())
      out << " -> " << state.pipeline->log_table_path();
    if (state.merged.commits > 0) {
      out << "; merged: " << state.merged.commits << " commits -> "
          << state.pipeline->merged_table_path();
    }
    if (!state.pipeline->history_table_path().empty() && state.merged.commits > 0) {
      out << "; history -> " << state.pipeline->history_table_path();
    }
    if (state.stopped) {
      ++summary.failed_tables;
      out << "\n    STOPPED: " << state.error;
    }
    out << "\n";
  }
  out << "  total: " << summary.tables << " tables, " << summary.files << " files, " << summary.rows
      << " rows, " << summary.dead_letters << " dead letters";
  if (secs > 0) out << ", " << static_cast<int64_t>(summary.rows / secs) << " rows/s";
  out << std::endl;
  return summary;
}

}  // namespace sluice::pipeline
