// PositionStore: where the state of a stream's positions lives (a file
// source's cursor), next to the table whose txn commits the position:
// `<table>/_sluice/cursors/<stream>/<version>.json`, or under CHECKPOINT_DIR.
//
// Crash and race protocol (docs/sources.md):
//   1. Before a commit of txn version V, the state for V is created with
//      PutIfAbsent, never overwritten: a losing writer cannot replace the
//      state of a version another writer committed. If it exists already
//      with other content, the batch it describes is the one version V holds
//      (or will hold); the caller resumes that batch instead of its own, or,
//      when that batch was planned from an older position and so can never
//      commit, removes it (Discard) and plans again. One planned from a
//      newer position (this process is behind) may be committed: it is
//      kept, and the caller re-reads its committed position.
//   2. The commit carries txn V; only one commit of V lands (the txn
//      conflict check of delta/transaction.h).
//   3. After the commit, states older than V are deleted (Prune): a restart
//      needs only the committed version's state and any planned after it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "sluice/core/status.h"
#include "sluice/io/log_store.h"

namespace sluice::pipeline {

class PositionStore {
 public:
  PositionStore(std::shared_ptr<io::LogStore> store, std::string prefix);

  /// The state stored for `version`; nullopt if none.
  Result<std::optional<std::string>> Read(int64_t version) const;
  /// Creates the state of `version`. Returns the state already there when
  /// another one was (the caller decides: same batch, or resume it).
  Result<std::optional<std::string>> Create(int64_t version, const std::string& state);
  /// States stored for versions after `version`, lowest first.
  Result<std::vector<int64_t>> After(int64_t version) const;
  /// Removes the state of `version` (a planned batch that can never commit).
  Status Discard(int64_t version);
  /// Removes every state older than `version`.
  Status Prune(int64_t version);
  std::string Describe(int64_t version) const;

 private:
  std::string PathOf(int64_t version) const;

  std::shared_ptr<io::LogStore> store_;
  std::string prefix_;  ///< "<dir>/" under the store's root
};

}  // namespace sluice::pipeline
