// Log replay: folds a LogSegment (checkpoint + commits) into the table state
// of one version. Files are identified by (path, deletion-vector id), as the
// protocol's reconciliation rules say: an add replaces the same identity, a
// remove deletes it.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/delta/actions.h"
#include "sluice/delta/file_list.h"
#include "sluice/delta/log_segment.h"

namespace sluice::delta {

struct TableState {
  int64_t version = -1;
  Protocol protocol;
  Metadata metadata;
  bool has_protocol = false;
  bool has_metadata = false;
  /// Active files, in the order they were added (checkpoint order first);
  /// shared with the states of the versions before (file_list.h).
  FileList files;
  /// Removes not yet expired: needed in checkpoints so vacuum stays safe.
  std::vector<Remove> tombstones;
  std::map<std::string, Txn> txns;
  /// Modification time of the newest commit (the snapshot's timestamp).
  int64_t timestamp_ms = 0;
  /// When set: the live rows of `files` (numRecords minus DV cardinalities),
  /// kept exact by ApplyCommit so a commit does not re-read every file's
  /// stats (it becomes unset when an added file has no numRecords). Replay
  /// leaves it unset; Snapshot::NumRecords then counts once.
  std::optional<int64_t> num_records;
};

/// A file's live rows: its stats' numRecords minus its DV's cardinality;
/// nullopt without stats or numRecords, or with unreadable stats.
std::optional<int64_t> LiveRecordsOf(const Add& file);

/// Replays `segment`. Errors name the file that could not be read.
Result<TableState> ReplayLog(io::LogStore& store, const LogSegment& segment);

/// Applies one commit's actions to `state` (used by replay and to advance a
/// snapshot after a commit without re-reading the log).
void ApplyCommit(TableState& state, const std::vector<Action>& actions);

}  // namespace sluice::delta
