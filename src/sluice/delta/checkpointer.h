// Writes a classic checkpoint of a snapshot and points _last_checkpoint at it.
#pragma once

#include "sluice/delta/snapshot.h"

namespace sluice::delta {

/// Removes older than this are dropped from checkpoints (Delta's
/// delta.deletedFileRetentionDuration default: 1 week), unless the table sets it.
int64_t TombstoneRetentionMs(const Metadata& metadata);

/// Whether the commit that made `state` writes a checkpoint: at a version that
/// is a multiple of `interval` (> 0), once the JSON commits since the last
/// checkpoint hold at least as many actions as the checkpoint would rows (the
/// files and tombstones). A checkpoint rewrites the whole file list, so every
/// `interval` commits alone makes a small commit O(files); with the action
/// count it costs O(1) per action amortized, and a reader still replays at
/// most about one checkpoint's worth of JSON on top of the newest one.
bool CheckpointDue(const TableState& state, int64_t interval);

/// Writes `_delta_log/<version>.checkpoint.parquet` for `snapshot` and
/// updates `_delta_log/_last_checkpoint`. Idempotent.
Status WriteCheckpoint(const Snapshot& snapshot);

}  // namespace sluice::delta
