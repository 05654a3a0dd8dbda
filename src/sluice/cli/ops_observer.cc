#include "sluice/cli/ops_observer.h"

#include <algorithm>

namespace sluice::cli {

namespace {

constexpr size_t kSchemaChangesKept = 5;
constexpr size_t kDeadLettersKept = 5;

void Remember(std::vector<server::SchemaChangeRecord>& changes, server::SchemaChangeRecord r) {
  changes.insert(changes.begin(), std::move(r));
  if (changes.size() > kSchemaChangesKept) changes.resize(kSchemaChangesKept);
}

}  // namespace

OpsObserver::OpsObserver(server::PipelineMetrics* metrics, server::StatusBoard* board,
                         int64_t batch_units)
    : metrics_(metrics),
      board_(board),
      batch_units_(batch_units),
      checkpoint_metrics_(metrics->Checkpoints()) {}

OpsObserver::Table& OpsObserver::For(const pipeline::ObservedTable& table) {
  auto it = tables_.find(table.name);
  if (it == tables_.end()) {
    it = tables_.emplace(table.name, Table{}).first;
    it->second.metrics = metrics_->ForTable(table.name);
    it->second.status.name = table.name;
    it->second.status.state = server::TableState::kCatchingUp;
  }
  it->second.status.source = table.stream_id;
  return it->second;
}

void OpsObserver::OnTableStep(const pipeline::ObservedTable& table, const pipeline::TableStep& step,
                              int64_t now_ms) {
  Table& t = For(table);
  server::TableStatus& s = t.status;
  const auto& in = step.ingest;
  const auto& f = step.follow;
  if (in.units > 0) {
    t.metrics.events_ingested->Increment(static_cast<double>(in.rows));
    t.metrics.dead_letters->Increment(static_cast<double>(in.dead_letters));
    t.metrics.bytes_read->Increment(static_cast<double>(step.source_bytes));
    s.events_ingested += in.rows;
    s.dead_letters += in.dead_letters;
    t.last_batch_seconds = in.ms / 1000.0;
    t.metrics.batch_duration_seconds->Observe(t.last_batch_seconds);
    if (in.rows > 0) t.newest_source_ms = std::max(t.newest_source_ms, now_ms - in.lag_ms);
    if (in.version >= 0) {
      t.metrics.log_commits->Increment();
      s.versions.log = in.version;
      s.last_commit = server::CommitRecord{"log", in.version, now_ms, in.rows, in.ms / 1000.0};
    }
    for (const auto& [origin, reason] : in.dead_letter_samples) {
      s.newest_dead_letters.insert(s.newest_dead_letters.begin(),
                                   server::DeadLetterSample{now_ms, reason, origin});
    }
    if (s.newest_dead_letters.size() > kDeadLettersKept)
      s.newest_dead_letters.resize(kDeadLettersKept);
    if (in.schema_changed) {
      Remember(s.schema_changes, {now_ms, "schema evolved (columns added or widened)", true});
    }
  }
  if (f.merged && !f.already_applied) {
    t.metrics.rows_merged->Increment(static_cast<double>(f.upserts));
    t.metrics.dead_letters->Increment(static_cast<double>(f.invalid));
    t.metrics.merged_commits->Increment();
    t.metrics.commit_duration_seconds->Observe(f.ms / 1000.0);
    s.rows_merged += f.upserts;
    s.dead_letters += f.invalid;
    s.versions.merged = f.merged_version;
    s.last_commit =
        server::CommitRecord{"merged", f.merged_version, now_ms, f.upserts, f.ms / 1000.0};
    if (f.index_bytes > 0)
      t.metrics.key_index_memory_bytes->Set(static_cast<double>(f.index_bytes));
  }
  if (f.history && f.history_version >= 0) {
    t.metrics.history_commits->Increment();
    s.versions.history = f.history_version;
  }
  if (step.maintenance.ran) t.metrics.maintenance_runs->Increment();
  t.metrics.bytes_written->Increment(static_cast<double>(step.bytes_written));
  if (s.state != server::TableState::kStopped) {
    if (!step.follower_stopped.empty()) {
      s.state = server::TableState::kStopped;
      s.state_reason = "merged and history tables stopped: " + step.follower_stopped;
      t.metrics.stopped->Set(1);
    } else {
      s.state_reason = step.follower_retry.empty() ? "" : "merge retrying: " + step.follower_retry;
    }
  }
  Publish(t, now_ms);
}

void OpsObserver::OnStreamStep(const std::vector<pipeline::ObservedTable>& tables,
                               const pipeline::ObservedStreamStep& step, int64_t now_ms) {
  const bool more_pending = step.more_pending;
  const int64_t backlog =
      step.pending_units ? *step.pending_units : (more_pending ? batch_units_ : 0);
  for (const auto& table : tables) {
    Table& t = For(table);
    t.metrics.backlog->Set(static_cast<double>(backlog));
    t.status.backlog = backlog;
    if (step.lag_messages) {
      if (!t.metrics.consumer_lag_messages) {
        t.metrics.consumer_lag_messages = metrics_->ConsumerLagFor(table.name);
      }
      t.metrics.consumer_lag_messages->Set(static_cast<double>(*step.lag_messages));
      t.status.consumer_lag = step.lag_messages;
    }
    if (t.status.state != server::TableState::kStopped) {
      t.status.state =
          more_pending ? server::TableState::kCatchingUp : server::TableState::kRunning;
      if (t.status.state_reason.rfind("retrying: ", 0) == 0) t.status.state_reason.clear();
    }
    Publish(t, now_ms);
  }
}

void OpsObserver::OnRetry(const std::vector<pipeline::ObservedTable>& tables, const Status& status,
                          bool conflict, int64_t now_ms) {
  for (const auto& table : tables) {
    Table& t = For(table);
    if (conflict) t.metrics.commit_conflicts->Increment();
    t.metrics.commit_retries->Increment();
    if (t.status.state != server::TableState::kStopped) {
      t.status.state_reason = "retrying: " + status.ToString();
    }
    Publish(t, now_ms);
  }
}

void OpsObserver::OnStopped(const std::vector<pipeline::ObservedTable>& tables,
                            const std::string& reason, int64_t now_ms) {
  for (const auto& table : tables) {
    Table& t = For(table);
    t.status.state = server::TableState::kStopped;
    t.status.state_reason = reason;
    t.metrics.stopped->Set(1);
    if (reason.find("schema") != std::string::npos) {
      Remember(t.status.schema_changes, {now_ms, reason, false});
    }
    Publish(t, now_ms);
  }
}

void OpsObserver::OnPoll(int64_t now_ms) {
  for (auto& [name, t] : tables_) {
    Publish(t, now_ms);
  }
  PublishCheckpoints();
}

void OpsObserver::OnCheckpointQueue(delta::CheckpointQueue* queue) {
  PublishCheckpoints();  // what the queue going away did last
  checkpoint_queue_ = queue;
  checkpoints_published_ = {};  // a new queue counts from zero
  if (!queue) checkpoint_metrics_.waiting->Set(0);
}

void OpsObserver::PublishCheckpoints() {
  if (!checkpoint_queue_) return;
  const delta::CheckpointQueueStats now = checkpoint_queue_->stats();
  delta::CheckpointQueueStats& was = checkpoints_published_;
  // The queue's counts only grow: the difference is what happened since.
  checkpoint_metrics_.written->Increment(static_cast<double>(now.written - was.written));
  checkpoint_metrics_.skipped->Increment(static_cast<double>(now.skipped - was.skipped));
  checkpoint_metrics_.failed->Increment(static_cast<double>(now.failed - was.failed));
  checkpoint_metrics_.waiting->Set(
      static_cast<double>(now.requested - now.written - now.skipped - now.failed));
  was = now;
}

void OpsObserver::Publish(Table& t, int64_t now_ms) {
  if (t.newest_source_ms > 0) {
    const double lag = std::max<int64_t>(0, now_ms - t.newest_source_ms) / 1000.0;
    t.status.lag_seconds = lag;
    t.metrics.source_lag_seconds->Set(lag);
  }
  board_->RecordSample(t.status.name, now_ms, t.status.events_ingested,
                       t.status.lag_seconds.value_or(0), t.last_batch_seconds);
  board_->Publish(t.status);
}

}  // namespace sluice::cli
