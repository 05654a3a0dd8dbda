// TableIngest: the log side of one source table. Each Commit() takes the
// changes a batch of units holds for the table, in unit order, and makes
// them one commit of the change log table `<sink>/<db>/<prefix><table>_log`:
//
//   primary keys checked -> schema evolution (the table's strategy) ->
//   conformed, sorted by _cdc_seq -> dead letters (txn = the position) ->
//   log commit with the position's txns and the batch's units recorded in
//   commitInfo.operationParameters ("units")
//
// With log tables off (GENERATE_LOG_TABLE=false) the same batch goes to the
// merged table instead, through its TableFollower, whose txn is then the
// position. The position's state is stored before (position_store.h) by the
// caller, which owns the batch plan.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/pipeline/config.h"
#include "sluice/pipeline/log_tail.h"
#include "sluice/pipeline/position_store.h"
#include "sluice/pipeline/table_follower.h"
#include "sluice/sources/source.h"

namespace sluice::pipeline {

struct IngestResult {
  int64_t units = 0;  ///< 0: nothing was committed
  int64_t rows = 0;
  int64_t dead_letters = 0;
  int64_t version = -1;  ///< log table version committed
  int64_t lag_ms = 0;    ///< now - newest source timestamp of the batch
  bool schema_changed = false;
  double ms = 0;
  /// The batch's last few dead letters (file#offset, reason), newest last,
  /// for the status page; at most kDeadLetterSamples.
  std::vector<std::pair<std::string, std::string>> dead_letter_samples;
  static constexpr size_t kDeadLetterSamples = 3;
};

/// What a batch holds for one table.
struct TableBatch {
  std::vector<const sources::TableChanges*> changes;  ///< in unit order
  std::vector<sources::BadRecord> bad;                ///< not routed to a table
  sources::Position position;
  std::vector<std::string> units;  ///< names, for the commit record
  int64_t ingested_at_us = 0;
};

class TableIngest {
 public:
  /// `app_id` = "<pipeline>/<stream id>": the txn appId prefix of positions.
  /// `checkpoint_queue` (not owned, may be null: inline) takes the
  /// checkpoints of every table this source table owns (log, dead letters,
  /// and through the follower the merged and history tables).
  TableIngest(const Config& config, sources::SourceTable table, std::string stream_id,
              std::string app_id, delta::CheckpointQueue* checkpoint_queue = nullptr);

  /// Loads the log table (and the merged table, for recorded keys).
  Status Open();

  const sources::SourceTable& table() const { return table_; }
  std::string qualified() const { return table_.Qualified(); }
  const std::string& log_path() const { return log_path_; }  ///< empty: log tables off
  const std::string& merged_path() const { return merged_path_; }
  const std::string& history_path() const { return history_path_; }
  bool keys_known() const { return keys_known_; }
  const std::vector<std::string>& keys() const { return keys_; }
  const std::string& app_id() const { return app_id_; }
  delta::CheckpointQueue* checkpoint_queue() const { return checkpoint_queue_; }
  std::shared_ptr<const delta::Snapshot> log_snapshot() const { return snapshot_; }
  const io::TableLocation* log_location() const { return log_ ? &*log_ : nullptr; }
  LogTail& tail() { return tail_; }
  PositionStore& positions() { return *positions_; }

  /// The position this table committed for its stream (nullopt: none),
  /// `state` read from the position store when `with_state`.
  Result<std::optional<sources::Position>> Committed(bool with_state);
  /// True when this table's txns already hold `position` (a replayed batch).
  bool Holds(const sources::Position& position) const;

  /// The follower of the merged (and history) table, created once the keys
  /// are known and not empty; null otherwise.
  Result<TableFollower*> Follower();

  /// Commits one batch (see the file comment). Errors leave nothing that a
  /// retry of the same batch would duplicate.
  Status Commit(const TableBatch& batch, std::mutex& dead_letters_mu, IngestResult& result,
                FollowResult& direct);

  /// The log table's maintenance (log tables on).
  Result<std::optional<delta::MaintenanceReport>> Maintain(const delta::MaintenancePolicy& policy,
                                                           int64_t now_ms);
  /// Forget cached state after an error.
  void Reset();

 private:
  std::shared_ptr<const delta::Snapshot> MasterSnapshot() const;

  const Config& config_;
  sources::SourceTable table_;
  std::string stream_id_;
  std::string app_id_;
  delta::CheckpointQueue* checkpoint_queue_;
  std::string log_path_, merged_path_, history_path_;
  std::optional<io::TableLocation> log_;
  std::shared_ptr<const delta::Snapshot> snapshot_;         // log table; null until it exists
  std::shared_ptr<const delta::Snapshot> merged_snapshot_;  // at Open
  std::unique_ptr<PositionStore> positions_;
  bool keys_known_ = false;
  std::vector<std::string> keys_;
  LogTail tail_;
  std::unique_ptr<TableFollower> follower_;
};

}  // namespace sluice::pipeline
