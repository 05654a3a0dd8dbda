// The merge settings of a pipeline's configuration (merge mode, tombstone
// retention, checkpoint interval, data file codec), for the merged and
// history tables (merge/merged_table.h, merge/history_table.h).
#pragma once

#include "sluice/merge/merged_table.h"
#include "sluice/pipeline/config.h"

namespace sluice::pipeline {

/// `checkpoint_queue` (may be null): where the tables' checkpoints go.
merge::MergeSettings MergeSettingsFor(const Config& config,
                                      delta::CheckpointQueue* checkpoint_queue = nullptr);

}  // namespace sluice::pipeline
