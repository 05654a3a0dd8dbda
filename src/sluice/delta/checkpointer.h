// Writes a classic checkpoint of a snapshot and points _last_checkpoint at it.
#pragma once

#include "sluice/delta/snapshot.h"

namespace sluice::delta {

/// Removes older than this are dropped from checkpoints (Delta's
/// delta.deletedFileRetentionDuration default: 1 week), unless the table sets it.
int64_t TombstoneRetentionMs(const Metadata& metadata);

/// Writes `_delta_log/<version>.checkpoint.parquet` for `snapshot` and
/// updates `_delta_log/_last_checkpoint`. Idempotent.
Status WriteCheckpoint(const Snapshot& snapshot);

}  // namespace sluice::delta
