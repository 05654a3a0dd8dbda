// Transaction: the changes one writer wants to commit on top of the snapshot
// it read (files added and removed, txn progress, metadata/protocol), and the
// optimistic commit loop: put-if-absent of the next version; on losing the
// race, re-read the winning commits, decide whether they conflict, and
// either retry at the next version or fail with a conflict.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sluice/delta/snapshot.h"

namespace sluice::delta {

/// Attached to the Status a commit returns when a concurrent commit
/// conflicts with this one; the caller must re-read the table and redo its work.
class CommitConflictDetail : public arrow::StatusDetail {
 public:
  explicit CommitConflictDetail(int64_t winning_version) : winning_version_(winning_version) {}
  const char* type_id() const override { return "sluice::CommitConflict"; }
  std::string ToString() const override;
  int64_t winning_version() const { return winning_version_; }

 private:
  int64_t winning_version_;
};

bool IsCommitConflict(const Status& st);

class CheckpointQueue;

struct CommitOptions {
  int max_attempts = 100;
  /// Write a checkpoint after committing a version that is a multiple of
  /// this (delta.checkpointInterval of the table wins when set). 0 = never.
  int64_t checkpoint_interval = 10;
  /// Set: that checkpoint is handed to this queue (checkpoint_queue.h) and
  /// written on its thread after Commit returns; unset: Commit writes it
  /// before returning. Not owned; must outlive the commit.
  CheckpointQueue* checkpoint_queue = nullptr;
  std::string engine_info = "sluice/0.1";
};

struct CommitResult {
  int64_t version = -1;
  int attempts = 0;
  bool checkpointed = false;  ///< written inline (and it succeeded)
  /// Handed to CommitOptions::checkpoint_queue (written, or skipped for a
  /// newer one, later).
  bool checkpoint_queued = false;
  /// The table after this commit.
  std::shared_ptr<const Snapshot> snapshot;
};

class Transaction {
 public:
  /// A transaction on an existing table, based on `read_snapshot`.
  explicit Transaction(std::shared_ptr<const Snapshot> read_snapshot, std::string operation);
  /// A transaction that creates the table (version 0) at `store`.
  Transaction(std::shared_ptr<io::LogStore> store, Protocol protocol, Metadata metadata,
              std::string operation);

  void AddFile(Add add) { adds_.push_back(std::move(add)); }
  void RemoveFile(Remove remove) { removes_.push_back(std::move(remove)); }
  void SetTxn(const std::string& app_id, int64_t version);
  void UpdateMetadata(Metadata metadata) { metadata_ = std::move(metadata); }
  void UpdateProtocol(Protocol protocol) { protocol_ = std::move(protocol); }
  /// Extra operationParameters for commitInfo (a JSON object's text).
  void SetOperationParameters(std::string json) { operation_parameters_ = std::move(json); }

  Result<CommitResult> Commit(const CommitOptions& options = {});

 private:
  std::vector<Action> BuildActions(int64_t now_ms) const;
  /// Checks the commit `text` that won `version` against ours.
  Status CheckConflict(int64_t version, const std::vector<Action>& winner) const;

  std::shared_ptr<io::LogStore> store_;
  std::shared_ptr<const Snapshot> read_snapshot_;  // null when creating
  std::string operation_;
  std::optional<Protocol> protocol_;
  std::optional<Metadata> metadata_;
  std::vector<Add> adds_;
  std::vector<Remove> removes_;
  std::vector<Txn> txns_;
  std::string operation_parameters_ = "{}";
};

}  // namespace sluice::delta
