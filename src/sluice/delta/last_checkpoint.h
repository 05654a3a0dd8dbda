// `_delta_log/_last_checkpoint`: the pointer to the latest checkpoint that
// lets readers skip listing the log (PROTOCOL.md "Last Checkpoint File").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::delta {

/// The content of `_delta_log/_last_checkpoint` (PROTOCOL.md "Last Checkpoint
/// File Schema"). Optional fields Sluice does not use (checkpointSchema,
/// tags, checksum, v2Checkpoint) are ignored on read and not written.
struct LastCheckpoint {
  int64_t version = 0;
  int64_t size = 0;  ///< number of actions (rows) in the checkpoint
  std::optional<int64_t> parts;
  std::optional<int64_t> size_in_bytes;
  std::optional<int64_t> num_of_add_files;
  bool operator==(const LastCheckpoint&) const = default;
};

/// One-line JSON object; absent optionals are omitted.
std::string LastCheckpointToJson(const LastCheckpoint& last);
/// Errors name the file and the offending field.
Result<LastCheckpoint> LastCheckpointFromJson(std::string_view json);

}  // namespace sluice::delta
