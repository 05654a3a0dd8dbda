// OpsObserver: fills the metrics and the status board of `sluice run --http`
// (server/pipeline_metrics.h, server/status_board.h) from what the run tells
// its observers (pipeline/run_observer.h). Called on the run's thread only;
// the server thread reads the board and the registry, which are thread-safe.
//
// Counters count what this process did since it started (Prometheus
// counters); the status page's figures are the same counts.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "sluice/delta/checkpoint_queue.h"
#include "sluice/pipeline/run_observer.h"
#include "sluice/server/pipeline_metrics.h"
#include "sluice/server/status_board.h"

namespace sluice::cli {

class OpsObserver : public pipeline::RunObserver {
 public:
  /// `metrics` and `board` must outlive the observer. `batch_units`: the
  /// source units one batch takes; the backlog figure of a source that
  /// cannot count its pending units (a full batch means at least that many
  /// more wait). File sources count them exactly.
  OpsObserver(server::PipelineMetrics* metrics, server::StatusBoard* board, int64_t batch_units);

  void OnTableStep(const pipeline::ObservedTable& table, const pipeline::TableStep& step,
                   int64_t now_ms) override;
  void OnStreamStep(const std::vector<pipeline::ObservedTable>& tables,
                    const pipeline::ObservedStreamStep& step, int64_t now_ms) override;
  void OnRetry(const std::vector<pipeline::ObservedTable>& tables, const Status& status,
               bool conflict, int64_t now_ms) override;
  void OnStopped(const std::vector<pipeline::ObservedTable>& tables, const std::string& reason,
                 int64_t now_ms) override;
  void OnPoll(int64_t now_ms) override;
  void OnCheckpointQueue(delta::CheckpointQueue* queue) override;

 private:
  struct Table {
    server::TableMetrics metrics;
    server::TableStatus status;
    int64_t newest_source_ms = 0;  ///< newest source commit time applied (0: none yet)
    double last_batch_seconds = 0;
  };
  Table& For(const pipeline::ObservedTable& table);
  /// Lag from the newest source time, then the board's copy and sample.
  void Publish(Table& t, int64_t now_ms);
  /// The checkpoint queue's counts since the last call into the counters.
  void PublishCheckpoints();

  server::PipelineMetrics* metrics_;
  server::StatusBoard* board_;
  int64_t batch_units_;
  std::map<std::string, Table> tables_;
  delta::CheckpointQueue* checkpoint_queue_ = nullptr;  ///< lent by the run (not owned)
  server::CheckpointMetrics checkpoint_metrics_;
  delta::CheckpointQueueStats checkpoints_published_;  ///< of checkpoint_queue_
};

}  // namespace sluice::cli
