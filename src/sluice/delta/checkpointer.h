// Writes a classic checkpoint of a snapshot and points _last_checkpoint at it.
#pragma once

#include "sluice/delta/checkpoint.h"
#include "sluice/delta/snapshot.h"

namespace sluice::delta {

/// Removes older than this are dropped from checkpoints (Delta's
/// delta.deletedFileRetentionDuration default: 1 week), unless the table sets it.
int64_t TombstoneRetentionMs(const Metadata& metadata);

/// Writes `_delta_log/<version>.checkpoint.parquet` for `snapshot` (atomically
/// created or replaced: LogStore::Put) and returns what `_last_checkpoint`
/// should say about it; does not touch `_last_checkpoint`.
Result<LastCheckpoint> WriteCheckpointFile(const Snapshot& snapshot);

/// WriteCheckpointFile, then `_delta_log/_last_checkpoint` pointed at it.
/// Idempotent.
Status WriteCheckpoint(const Snapshot& snapshot);

}  // namespace sluice::delta
