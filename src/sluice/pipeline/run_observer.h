// RunObserver: what a run (runner.h) tells whoever watches it: the metrics
// and status page of `sluice run --http`, the event log table. The runner
// calls it on its own thread, after the fact, and never waits for an
// answer; an observer must be quick (copy what it needs and return) and
// must not fail the run (it keeps its own errors).
//
// The pipeline knows nothing of HTTP: the CLI owns the server and passes an
// observer that fills it (cli/ops_observer.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/pipeline/stream_pipeline.h"

namespace sluice::delta {
class CheckpointQueue;
}  // namespace sluice::delta

namespace sluice::pipeline {

/// What one step of a stream did with its input.
struct ObservedStreamStep {
  std::string stream_id;
  /// The batch was full: more input is pending (a backlog).
  bool more_pending = false;
  /// Units the stream's source listed and has not committed yet (file
  /// sources: files); nullopt when it cannot tell.
  std::optional<int64_t> pending_units;
  /// Units this step committed.
  int64_t units_committed = 0;
  /// Messages behind the source's end (Kafka consumer lag); nullopt for
  /// sources without messages.
  std::optional<int64_t> lag_messages;
};

/// Where a source table's rows go.
struct ObservedTable {
  std::string name;       ///< "db.table"
  std::string stream_id;  ///< the stream that feeds it (a folder, a topic)
  std::string log_path;   ///< empty: log tables off
  std::string merged_path;
  std::string history_path;  ///< empty: history off
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;

  /// The run starts (before the first discovery), at `now_ms`.
  virtual void OnRunStart(int64_t now_ms) { (void)now_ms; }

  /// The run's background checkpoint writer (delta/checkpoint_queue.h), for
  /// an observer that commits to a Delta table of its own (the event log):
  /// before OnRunStart, and null again once the run no longer has it (after
  /// OnRunEnd, or when the run fails); null throughout with
  /// sink.background_checkpoints off. Not owned.
  virtual void OnCheckpointQueue(delta::CheckpointQueue* queue) { (void)queue; }

  /// What one step did for one table (only steps that did something: a log
  /// commit, a merge, maintenance, a follower stopping or retrying).
  virtual void OnTableStep(const ObservedTable& table, const TableStep& step, int64_t now_ms) {
    (void)table, (void)step, (void)now_ms;
  }

  /// After every successful step of a stream (also one that found nothing
  /// to do), with the tables it feeds (none while its table is not known
  /// yet). A stream that feeds several tables has one backlog, shared by
  /// them.
  virtual void OnStreamStep(const std::vector<ObservedTable>& tables,
                            const ObservedStreamStep& step, int64_t now_ms) {
    (void)tables, (void)step, (void)now_ms;
  }

  /// A step of a stream failed and is retried later. `conflict`: another
  /// writer's commit won the race (else an I/O error).
  virtual void OnRetry(const std::vector<ObservedTable>& tables, const Status& status,
                       bool conflict, int64_t now_ms) {
    (void)tables, (void)status, (void)conflict, (void)now_ms;
  }

  /// A stream stopped (a refused schema change, retries exhausted): every
  /// table it feeds stops. `tables` holds at least one entry (the stream id
  /// when no table is known yet).
  virtual void OnStopped(const std::vector<ObservedTable>& tables, const std::string& reason,
                         int64_t now_ms) {
    (void)tables, (void)reason, (void)now_ms;
  }

  /// Once per poll of the run loop (lag grows while nothing arrives).
  virtual void OnPoll(int64_t now_ms) { (void)now_ms; }

  /// The run ends (stop requested, or drained with --once); a last chance
  /// to flush.
  virtual void OnRunEnd(int64_t now_ms) { (void)now_ms; }
};

}  // namespace sluice::pipeline
