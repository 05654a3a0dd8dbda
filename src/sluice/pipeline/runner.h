// Runner: makes the configured source (sources/source_registry.h), discovers its streams (at start
// and on every poll, so a table that appears later starts without a restart), runs one
// StreamPipeline per source stream (stream_pipeline.h), prints a line per
// commit, and a summary at the
// end. One table's failure never stops the others: an I/O error is retried
// on the next poll with backoff; any other error (e.g. a schema change the
// strategy refuses) stops that table and is reported.
#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "sluice/pipeline/config.h"

namespace sluice::pipeline {

class RunObserver;

struct RunOptions {
  bool once = false;    ///< drain what is there, then return
  int shard_index = 0;  ///< --shard i/n: only tables whose name hashes to i
  int shard_count = 1;
  /// If set, one JSON object per line per commit is appended here.
  std::string metrics_path;
  /// Told what the run does (run_observer.h); not owned, must outlive Run.
  std::vector<RunObserver*> observers;
};

struct RunSummary {
  int64_t tables = 0;
  int64_t files = 0;
  int64_t rows = 0;
  int64_t dead_letters = 0;
  int64_t commits = 0;
  int64_t failed_tables = 0;
};

/// Set to true (e.g. from a signal handler) to finish the current batch and stop.
extern std::atomic<bool> g_stop_requested;

/// Runs until stopped (or drained, with `once`). Progress goes to `out`.
Result<RunSummary> Run(const Config& config, const RunOptions& options, std::ostream& out);

/// Stable shard of a table folder name: FNV-1a 64 modulo `count`.
int ShardOf(const std::string& folder, int count);

}  // namespace sluice::pipeline
