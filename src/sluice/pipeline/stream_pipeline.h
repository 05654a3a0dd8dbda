// StreamPipeline: runs one source stream (sources/source.h) into the tables
// of the source tables it feeds. Each Step():
//
//   1. ingest: the stream's next units, decoded in parallel, routed to their
//      tables, each table's rows one log commit carrying the position
//      (table_ingest.h); the position's state is created first, once
//      (position_store.h), so a crash or a second process never records
//      another batch under the same version;
//   2. follow: every merge_interval (and when a drain has caught up) each
//      merged/history table catches up with its log (table_follower.h); a
//      due merge runs on a worker alongside the next batch's ingest when
//      both fit pipeline.merge_overlap_bytes;
//   3. maintain: every maintenance_interval, checkpoints, compaction and
//      vacuum of every table a source table owns (table_maintenance.h).
//
// The parts fail apart: a follower that cannot run (an unsupported key, a
// refused change) stops only the merged and history tables of its source
// table, with the reason; the log keeps ingesting. An I/O error or a
// concurrent writer's commit is retried by the caller with backoff.
//
// Single-table streams (a Datastream folder) restore from their table's
// txn and position store. Multi-table streams (Stream::routes_many) also
// keep a stream checkpoint, `<sink>/_sluice/streams/<pipeline>/<stream>/`,
// created after every table of a batch committed: a restart resumes from it
// and each table skips the units its own txns already hold.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/bytes_written.h"
#include "sluice/pipeline/config.h"
#include "sluice/pipeline/table_ingest.h"
#include "sluice/pipeline/table_maintenance.h"
#include "sluice/sources/source.h"

namespace sluice::pipeline {

/// What one step did for one source table.
struct TableStep {
  std::string table;  ///< "db.table"
  IngestResult ingest;
  FollowResult follow;
  MaintenanceResult maintenance;
  /// Input bytes of the units this step committed. A unit of a stream that
  /// routes several tables (DMS CDC_TXN) is read once for all of them: each
  /// table counts the share of the unit's bytes its rows hold
  /// (SplitBytesByRows), so the tables' figures add up to the bytes read.
  int64_t source_bytes = 0;
  /// Bytes this step wrote to the table's Delta tables (log, dead letters,
  /// merged, history and their side tables): data files, deletion vectors,
  /// commits and checkpoints, counted where they are written
  /// (core/bytes_written.h).
  int64_t bytes_written = 0;
  /// Set on the step in which the follower stopped: why.
  std::string follower_stopped;
  /// A follower error that will be retried (I/O, a concurrent writer).
  std::string follower_retry;
};

struct StreamStep {
  std::vector<TableStep> tables;
  /// Input exists that is not ready yet (a file settling or being written).
  bool waiting = false;
  /// Something committed or maintained.
  bool worked = false;
  /// More input is pending (a backlog): units beyond this batch when the
  /// source counts them (pending_units > 0), else the batch was full.
  bool more_pending = false;
  /// Units committed by this step.
  int64_t units_committed = 0;
  /// Units known and not committed after this step: what the source's
  /// listing held beyond this batch (Stream::pending_count) plus units of the
  /// batch left for the next one (a file not complete yet). nullopt when the
  /// source cannot tell.
  std::optional<int64_t> pending_units;
  /// Messages behind the source's end after this step (Kafka consumer lag,
  /// Stream::lag_messages); nullopt for sources without messages.
  std::optional<int64_t> lag_messages;
  std::vector<std::string> notices;
};

/// The bytes of `units` split between the tables their decoded rows go to,
/// in proportion to each table's rows (changes and bad rows) in each unit;
/// the rounding remainder goes to the unit's largest table, so the shares
/// of a unit add up to its bytes. A unit with no routed rows (all of it
/// unroutable) is not attributed. `decoded[k]` belongs to `units[k]`.
std::map<std::string, int64_t> SplitBytesByRows(
    const std::vector<sources::Unit>& units,
    const std::vector<Result<sources::DecodedUnit>>& decoded);

class StreamPipeline {
 public:
  /// `checkpoint_queue` (not owned, may be null: checkpoints inline) takes
  /// the checkpoints of every table the stream writes; it must outlive the
  /// pipeline.
  StreamPipeline(const Config& config, std::unique_ptr<sources::Stream> stream,
                 delta::CheckpointQueue* checkpoint_queue = nullptr);
  ~StreamPipeline();

  /// One batch (see the file comment). `drain`: a --once run, which merges
  /// and maintains as soon as the input is drained.
  Result<StreamStep> Step(bool drain);
  /// The source I/O the next Step() starts with, done ahead
  /// (Stream::Prefetch) when that step will ask for new units: the runner
  /// calls it for many pipelines at once. Not concurrently with Step().
  void Prefetch();

  const std::string& id() const { return stream_->id(); }
  /// The tables fed so far.
  std::vector<const TableIngest*> tables() const;
  /// Why a table's follower stopped ("" while it runs).
  std::string FollowerStopped(const std::string& qualified) const;
  /// "db.table" of a single-table stream once known, else the stream id.
  std::string name() const;
  /// Bytes written in the background for its tables (checkpoints) since the
  /// last call, as steps that carry only bytes_written; for the observers,
  /// on the caller's thread. Not concurrently with Step().
  std::vector<TableStep> LateSteps();

 private:
  struct TableState {
    std::unique_ptr<TableIngest> ingest;
    TableMaintenanceSchedule maintenance;
    /// What background checkpoints of its tables wrote (its steps' scopes
    /// hand it to the checkpoint queue), until LateSteps takes it.
    LateBytes late_bytes = std::make_shared<std::atomic<int64_t>>(0);
    int64_t last_merge_ms = 0;
    std::string follower_stopped;
    int follower_failures = 0;
    std::chrono::steady_clock::time_point follower_retry_at{};
  };

  Status Open();
  Result<StreamStep> StepOnce(bool drain);
  Result<TableState*> TableFor(const sources::SourceTable& table);
  /// Decodes and commits `units`; may shorten them (a unit not complete).
  Status Ingest(std::vector<sources::Unit> units, StreamStep& step);
  /// The follower part of a step for one table.
  Status Follow(TableState& t, bool drain, bool units_empty, bool defer, TableStep& out);
  void FollowerFailed(TableState& t, const Status& st, TableStep& out);
  TableStep& StepFor(StreamStep& step, const std::string& table);
  /// One table's log commit of a batch.
  Status CommitTable(TableIngest& ingest, std::vector<const sources::TableChanges*> changes,
                     std::vector<sources::BadRecord> unrouted, const sources::Position& position,
                     const std::vector<std::string>& units, int64_t ingested_at_us,
                     StreamStep& step);
  Status SaveStreamCheckpoint(const sources::Position& position);

  const Config& config_;
  std::unique_ptr<sources::Stream> stream_;
  delta::CheckpointQueue* checkpoint_queue_;
  std::string app_id_;
  bool opened_ = false;
  std::map<std::string, TableState> tables_;  // by "db.table"
  /// A batch planned (by a crashed run or another process) and resumed.
  std::vector<sources::Unit> resume_;
  /// The position key a single-table stream last committed (its state is
  /// deleted once the next one commits).
  int64_t committed_key_ = 0;
  std::mutex dead_letters_mu_;
  // Multi-table streams.
  std::unique_ptr<PositionStore> checkpoints_;
  int64_t checkpoint_seq_ = 0;
};

}  // namespace sluice::pipeline
