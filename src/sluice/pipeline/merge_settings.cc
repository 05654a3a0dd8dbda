#include "sluice/pipeline/merge_settings.h"

namespace sluice::pipeline {

merge::MergeSettings MergeSettingsFor(const Config& config,
                                      delta::CheckpointQueue* checkpoint_queue) {
  merge::MergeSettings s;
  s.mode = config.merge_mode == "copy_on_write" ? merge::MergeMode::kCopyOnWrite
                                                : merge::MergeMode::kDeletionVectors;
  s.tombstone_retention_ms = config.tombstone_retention_ms;
  s.checkpoint_interval = config.checkpoint_interval;
  s.checkpoint_queue = checkpoint_queue;
  s.data = DataWriteOptionsFor(config);
  return s;
}

}  // namespace sluice::pipeline
