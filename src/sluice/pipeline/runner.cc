#include "sluice/pipeline/runner.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/parallel_for.h"
#include "sluice/delta/checkpoint_queue.h"
#include "sluice/delta/transaction.h"
#include "sluice/io/log_store.h"
#include "sluice/pipeline/run_observer.h"
#include "sluice/pipeline/source_options.h"
#include "sluice/pipeline/stream_pipeline.h"

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

// Totals of one source table over the run.
struct TableTotals {
  RunSummary totals;
  RunSummary merged;  ///< rows = row images written to the merged table
  bool told_no_keys = false;
};

struct StreamState {
  std::unique_ptr<StreamPipeline> pipeline;
  std::map<std::string, TableTotals> tables;
  bool stopped = false;
  std::string error;
  int io_failures = 0;
  std::chrono::steady_clock::time_point retry_at{};
  /// pipeline.batch_interval: a stream that keeps up takes its next batch
  /// no sooner than this.
  std::chrono::steady_clock::time_point next_batch_at{};
};

bool Due(const StreamState& state, std::chrono::steady_clock::time_point now) {
  return !state.stopped && now >= state.retry_at && now >= state.next_batch_at;
}

// Does the listing of every stream about to step at once, `threads` at a
// time: on an object store each is a request of 10-30 ms, and a bucket of
// 1,000 table folders listed one after the other spends 10-30 s a poll.
void PrefetchStreams(std::map<std::string, StreamState>& streams, int threads) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<StreamPipeline*> due;
  for (auto& [id, state] : streams) {
    if (Due(state, now)) due.push_back(state.pipeline.get());
  }
  if (due.size() < 2) return;  // nothing to overlap
  ParallelFor(due.size(), threads, [&](size_t i) { due[i]->Prefetch(); });
}

// One JSON object per line for benchmarks and monitoring: an "ingest"
// event per log commit, a "merge" event per merged-table commit.
void WriteMetrics(std::ofstream& out, const std::string& table, const TableStep& step) {
  if (step.ingest.units > 0) {
    nlohmann::json j{{"event", "ingest"},
                     {"table", table},
                     {"files", step.ingest.units},
                     {"rows", step.ingest.rows},
                     {"ms", step.ingest.ms},
                     {"version", step.ingest.version},
                     {"dead_letters", step.ingest.dead_letters}};
    out << j.dump() << "\n";
  }
  if (step.follow.merged) {
    nlohmann::json j{{"event", "merge"},
                     {"table", table},
                     {"changes", step.follow.changes},
                     {"ms", step.follow.ms > 0 ? step.follow.ms : step.ingest.ms},
                     {"version", step.follow.merged_version},
                     {"upserts", step.follow.upserts},
                     {"deletes", step.follow.deletes},
                     {"ignored_stale", step.follow.ignored_stale}};
    if (step.follow.merged_rows) j["table_rows"] = *step.follow.merged_rows;
    if (step.follow.index_bytes > 0) j["index_bytes"] = step.follow.index_bytes;
    j["exact_seq_reads"] = step.follow.exact_seq_reads;
    out << j.dump() << "\n";
  }
  out.flush();
}

// The progress line of one table's step.
void PrintStep(std::ostream& out, const Config& config, const std::string& qname,
               const TableStep& step) {
  const IngestResult& in = step.ingest;
  const FollowResult& f = step.follow;
  out << "[sluice] ";
  if (in.units > 0) {
    if (config.log_tables) {
      out << qname << "_log";
      if (in.version >= 0) out << " v" << in.version;
      out << ": ";
    } else {
      // Merged tables only: the merged table's version leads the line.
      out << qname;
      if (f.merged) out << " v" << f.merged_version;
      out << ": ";
    }
    out << in.units << " file" << (in.units == 1 ? "" : "s") << ", " << in.rows << " rows";
    if (in.dead_letters) out << ", " << in.dead_letters << " dead letters";
    if (in.schema_changed) out << ", schema evolved";
    if (in.rows) out << ", lag " << FormatLag(in.lag_ms);
  }
  if (f.merged) {
    if (config.log_tables) {
      out << (in.units > 0 ? "; " : "") << qname << " v" << f.merged_version << " <- log v"
          << f.from_version;
      if (f.to_version != f.from_version) out << "..v" << f.to_version;
      out << ":";
    } else {
      out << ";";
    }
    out << " ";
    if (f.already_applied) {
      out << "already applied";
    } else {
      out << "+" << f.upserts << " -" << f.deletes;
      if (f.ignored_stale) out << " (ignored " << f.ignored_stale << " stale)";
      if (f.invalid) out << ", " << f.invalid << " invalid";
    }
    if (f.merged_rows) out << ", " << *f.merged_rows << " rows";
  }
  if (f.history) {
    out << ((in.units > 0 || f.merged) ? "; " : "") << qname << "_history v" << f.history_version
        << ": +" << f.history_versions_opened << " versions";
  }
  if (step.maintenance.worked()) {
    out << ((in.units > 0 || f.merged || f.history) ? "; " : "") << qname
        << " maintenance: compacted " << step.maintenance.compacted_files_removed << " files into "
        << step.maintenance.compacted_files_added << ", vacuumed "
        << step.maintenance.vacuumed_files << " files";
  }
  out << std::endl;
}

// The tables a stream feeds, as observers see them; the stream's name when
// none is known yet (unless `known_only`).
std::vector<ObservedTable> Observed(const StreamPipeline& stream, bool known_only = false) {
  std::vector<ObservedTable> out;
  for (const auto* t : stream.tables()) {
    out.push_back(
        {t->qualified(), stream.id(), t->log_path(), t->merged_path(), t->history_path()});
  }
  if (out.empty() && !known_only) out.push_back({stream.name(), stream.id(), "", "", ""});
  return out;
}

ObservedTable ObservedFor(const StreamPipeline& stream, const std::string& qname) {
  for (auto& t : Observed(stream)) {
    if (t.name == qname) return t;
  }
  return {qname, stream.id(), "", "", ""};
}

// Lends the run's checkpoint queue to the observers for as long as it
// lives: they are told null when this goes, before the queue does (declare
// it after the queue), on every way out of Run.
class LentCheckpointQueue {
 public:
  LentCheckpointQueue(delta::CheckpointQueue* queue, const std::vector<RunObserver*>& observers)
      : observers_(observers) {
    for (auto* o : observers_) o->OnCheckpointQueue(queue);
  }
  ~LentCheckpointQueue() {
    for (auto* o : observers_) o->OnCheckpointQueue(nullptr);
  }
  LentCheckpointQueue(const LentCheckpointQueue&) = delete;
  LentCheckpointQueue& operator=(const LentCheckpointQueue&) = delete;

 private:
  const std::vector<RunObserver*>& observers_;
};

// What background checkpoints wrote since last asked, told to the observers
// as steps that carry only those bytes: a table's bytes-written figure
// includes its checkpoints wherever they were written (core/bytes_written.h).
void ReportLateBytes(std::map<std::string, StreamState>& streams, const RunOptions& options) {
  if (options.observers.empty()) return;
  for (auto& [id, state] : streams) {
    for (const auto& ts : state.pipeline->LateSteps()) {
      const ObservedTable observed = ObservedFor(*state.pipeline, ts.table);
      for (auto* o : options.observers) o->OnTableStep(observed, ts, WallClockMs());
    }
  }
}

// A background checkpoint that failed, once per table (the queue keeps only
// a table's first): the commit landed, so this is a warning line like the
// event log's, not a retry or a stop.
void ReportCheckpointFailures(delta::CheckpointQueue& queue, std::ostream& out) {
  for (const auto& f : queue.TakeFailures()) {
    out << "[sluice] background checkpoint failed: " << f.status.ToString()
        << " (the commit landed; readers replay more of the log until a later checkpoint "
           "succeeds; further failures of this table are counted, not shown)"
        << std::endl;
  }
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
  ARROW_RETURN_NOT_OK(ApplyStorageSettings(config));
  ARROW_ASSIGN_OR_RAISE(auto source_options, SourceOptionsFor(config));
  ARROW_ASSIGN_OR_RAISE(auto source, sources::MakeSource(source_options));

  std::unique_ptr<std::ofstream> metrics;
  if (!options.metrics_path.empty()) {
    metrics = std::make_unique<std::ofstream>(options.metrics_path, std::ios::app);
    if (!*metrics) return Status::IOError("cannot open metrics file ", options.metrics_path);
  }
  // Checkpoints off the commit path (delta/checkpoint_queue.h): one writer
  // for every table of the run, drained before Run returns (and by its
  // destructor on an early return), so a --once run or a stop leaves each
  // table's newest due checkpoint written. Declared before the pipelines,
  // which must not outlive it.
  std::unique_ptr<delta::CheckpointQueue> checkpoints;
  if (config.background_checkpoints) checkpoints = std::make_unique<delta::CheckpointQueue>();
  LentCheckpointQueue lent(checkpoints.get(), options.observers);
  std::map<std::string, StreamState> streams;
  auto t0 = std::chrono::steady_clock::now();
  out << "[sluice] " << config.name << ": " << source->Describe() << " into " << config.sink_path
      << (options.once ? " (--once)" : "") << std::endl;
  for (auto* o : options.observers) o->OnRunStart(WallClockMs());

  while (!g_stop_requested) {
    for (auto* o : options.observers) o->OnPoll(WallClockMs());
    ARROW_ASSIGN_OR_RAISE(auto ids, source->Discover());
    for (const auto& id : ids) {
      if (options.shard_count > 1 && ShardOf(id, options.shard_count) != options.shard_index)
        continue;
      if (streams.count(id)) continue;
      ARROW_ASSIGN_OR_RAISE(auto stream, source->OpenStream(id));
      streams[id].pipeline =
          std::make_unique<StreamPipeline>(config, std::move(stream), checkpoints.get());
      out << "[sluice] discovered " << source->StreamNoun() << " '" << id << "'" << std::endl;
    }
    bool any_work = false;
    bool any_pending_retry = false;
    // The earliest batch_interval wait to end (the idle sleep ends there).
    auto next_batch_at = std::chrono::steady_clock::time_point::max();
    PrefetchStreams(streams, config.list_concurrency);
    for (auto& [id, state] : streams) {
      if (state.stopped || g_stop_requested) continue;
      const auto step_start = std::chrono::steady_clock::now();
      if (step_start < state.retry_at) {
        any_pending_retry = true;
        continue;
      }
      if (step_start < state.next_batch_at) {
        next_batch_at = std::min(next_batch_at, state.next_batch_at);
        continue;
      }
      Result<StreamStep> step = state.pipeline->Step(options.once);
      if (!step.ok()) {
        const auto& st = step.status();
        const std::string name = state.pipeline->name();
        // I/O errors and a concurrent writer's commit are retried with backoff.
        // A refused credential or a missing bucket is not retried.
        if ((st.IsIOError() || delta::IsCommitConflict(st)) && !io::IsAccessRefused(st) &&
            ++state.io_failures <= 5) {
          int backoff = 1 << std::min(state.io_failures, 5);
          state.retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(backoff);
          out << "[sluice] " << name << ": " << st.ToString() << " (retrying in " << backoff << "s)"
              << std::endl;
          any_pending_retry = true;
          for (auto* o : options.observers) {
            o->OnRetry(Observed(*state.pipeline), st, delta::IsCommitConflict(st), WallClockMs());
          }
        } else {
          state.stopped = true;
          state.error = st.ToString();
          for (auto* o : options.observers) {
            o->OnStopped(Observed(*state.pipeline), st.ToString(), WallClockMs());
          }
          out << "[sluice] " << name << ": STOPPED: " << st.ToString() << std::endl;
        }
        continue;
      }
      state.io_failures = 0;
      // Keeping up, the next batch waits out batch_interval so that input
      // gathers into fewer, larger log commits; a --once run drains.
      if (config.batch_interval_ms > 0 && !options.once && step->units_committed > 0 &&
          !step->more_pending) {
        state.next_batch_at = step_start + std::chrono::milliseconds(config.batch_interval_ms);
        next_batch_at = std::min(next_batch_at, state.next_batch_at);
      }
      if (step->waiting) any_pending_retry = true;
      for (const auto& notice : step->notices) {
        out << "[sluice] " << state.pipeline->name() << ": " << notice << std::endl;
      }
      for (const auto& ts : step->tables) {
        const std::string& qname = ts.table;
        TableTotals& totals = state.tables[qname];
        if (!options.observers.empty()) {
          const ObservedTable observed = ObservedFor(*state.pipeline, qname);
          for (auto* o : options.observers) {
            o->OnTableStep(observed, ts, WallClockMs());
          }
        }
        if (!ts.follower_retry.empty()) {
          out << "[sluice] " << qname << ": merged table: " << ts.follower_retry << std::endl;
          any_pending_retry = true;
        }
        if (!ts.follower_stopped.empty()) {
          out << "[sluice] " << qname
              << ": merged and history tables stopped: " << ts.follower_stopped
              << " (the log table goes on)" << std::endl;
        }
        const bool worked =
            ts.ingest.units > 0 || ts.follow.merged || ts.follow.history || ts.maintenance.worked();
        if (!worked) continue;
        any_work = true;
        totals.totals.files += ts.ingest.units;
        totals.totals.rows += ts.ingest.rows;
        totals.totals.dead_letters += ts.ingest.dead_letters;
        if (ts.ingest.version >= 0 || (!config.log_tables && ts.follow.merged)) {
          ++totals.totals.commits;
        }
        for (const auto* t : state.pipeline->tables()) {
          if (t->qualified() == qname && t->keys_known() && t->keys().empty() &&
              !totals.told_no_keys) {
            totals.told_no_keys = true;
            out << "[sluice] " << qname
                << ": no primary keys (none in the source metadata or tables.\"" << qname
                << "\".primary_keys): log table only, no merged table" << std::endl;
          }
        }
        if (metrics) WriteMetrics(*metrics, qname, ts);
        PrintStep(out, config, qname, ts);
        if (ts.follow.merged && !ts.follow.already_applied) {
          ++totals.merged.commits;
          totals.merged.rows += ts.follow.upserts;
        }
      }
      if (step->worked) any_work = true;
      if (!options.observers.empty()) {
        const auto observed = Observed(*state.pipeline, /*known_only=*/true);
        const ObservedStreamStep stream_step{state.pipeline->id(), step->more_pending,
                                             step->pending_units, step->units_committed,
                                             step->lag_messages};
        for (auto* o : options.observers) {
          o->OnStreamStep(observed, stream_step, WallClockMs());
        }
      }
    }
    if (checkpoints) {
      ReportLateBytes(streams, options);
      ReportCheckpointFailures(*checkpoints, out);
    }
    if (options.once && !any_work && !any_pending_retry) break;
    if (!options.once && !any_work) {
      // Sleep in small steps so a stop request is seen quickly.
      auto until = std::min(next_batch_at, std::chrono::steady_clock::now() +
                                               std::chrono::milliseconds(config.poll_interval_ms));
      for (auto now = std::chrono::steady_clock::now(); !g_stop_requested && now < until;
           now = std::chrono::steady_clock::now()) {
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(50), until - now));
        // A checkpoint a step queued lands meanwhile: count it now, not a
        // poll later.
        if (checkpoints) ReportLateBytes(streams, options);
      }
    } else if (options.once && !any_work && any_pending_retry) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  if (checkpoints) {
    // The tables' last checkpoints, counted before the observers' end.
    checkpoints->Drain();
    ReportLateBytes(streams, options);
  }
  for (auto* o : options.observers) o->OnRunEnd(WallClockMs());
  if (checkpoints) {
    // After OnRunEnd: the event log's last flush may have queued one.
    checkpoints->Drain();
    ReportCheckpointFailures(*checkpoints, out);
    if (metrics) {
      const auto stats = checkpoints->stats();
      nlohmann::json j{{"event", "checkpoints"},
                       {"requested", stats.requested},
                       {"written", stats.written},
                       {"skipped", stats.skipped},
                       {"failed", stats.failed}};
      if (!stats.last_error.empty()) j["last_error"] = stats.last_error;
      *metrics << j.dump() << "\n";
      metrics->flush();
    }
  }
  RunSummary summary;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out << "\n== Sluice summary (" << secs << " s) ==\n";
  for (auto& [id, state] : streams) {
    auto tables = state.pipeline->tables();
    if (tables.empty()) {
      // Nothing landed in this stream yet.
      ++summary.tables;
      out << "  " << id << ": 0 files, 0 rows, 0 dead letters, 0 commits";
      if (state.stopped) {
        ++summary.failed_tables;
        out << "\n    STOPPED: " << state.error;
      }
      out << "\n";
      continue;
    }
    for (const auto* t : tables) {
      const std::string name = t->qualified();
      const TableTotals& totals = state.tables[name];
      ++summary.tables;
      summary.files += totals.totals.files;
      summary.rows += totals.totals.rows;
      summary.dead_letters += totals.totals.dead_letters;
      summary.commits += totals.totals.commits;
      out << "  " << name << ": " << totals.totals.files << " files, " << totals.totals.rows
          << " rows, " << totals.totals.dead_letters << " dead letters, " << totals.totals.commits
          << " commits";
      if (!t->log_path().empty()) out << " -> " << t->log_path();
      if (totals.merged.commits > 0) {
        out << "; merged: " << totals.merged.commits << " commits -> " << t->merged_path();
      }
      if (!t->history_path().empty() && totals.merged.commits > 0) {
        out << "; history -> " << t->history_path();
      }
      const std::string follower_stopped = state.pipeline->FollowerStopped(name);
      if (state.stopped) {
        ++summary.failed_tables;
        out << "\n    STOPPED: " << state.error;
      } else if (!follower_stopped.empty()) {
        ++summary.failed_tables;
        out << "\n    merged and history tables stopped: " << follower_stopped;
      }
      out << "\n";
    }
  }
  if (checkpoints && checkpoints->stats().failed > 0) {
    const auto stats = checkpoints->stats();
    out << "  checkpoints: " << stats.written << " written in the background, " << stats.failed
        << " failed (last: " << stats.last_error << ")\n";
  }
  out << "  total: " << summary.tables << " tables, " << summary.files << " files, " << summary.rows
      << " rows, " << summary.dead_letters << " dead letters";
  if (secs > 0) out << ", " << static_cast<int64_t>(summary.rows / secs) << " rows/s";
  out << std::endl;
  return summary;
}

}  // namespace sluice::pipeline
