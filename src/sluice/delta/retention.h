// Retention periods of a table, from its properties (PROTOCOL.md leaves the
// names to the implementations; these are Delta/Spark's):
//   delta.deletedFileRetentionDuration  default 1 week: how long a removed
//     data or DV file stays on storage (vacuum) and its remove in checkpoints;
//   delta.logRetentionDuration          default 30 days: how long commits and
//     checkpoints stay in _delta_log (time travel reaches this far back).
// Values use Spark's calendar-interval text: "interval 7 days", "interval 1
// week", "168 hours" (the "interval" word is optional; units millisecond,
// second, minute, hour, day, week, singular or plural).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sluice/delta/actions.h"

namespace sluice::delta {

inline constexpr int64_t kDefaultDeletedFileRetentionMs = 7LL * 24 * 3600 * 1000;
inline constexpr int64_t kDefaultLogRetentionMs = 30LL * 24 * 3600 * 1000;

/// Milliseconds of a calendar interval; nullopt if the text is not one.
std::optional<int64_t> ParseIntervalMs(std::string_view text);

/// delta.deletedFileRetentionDuration, or the default when unset or unparsable.
int64_t DeletedFileRetentionMs(const Metadata& metadata);
/// delta.logRetentionDuration, or the default when unset or unparsable.
int64_t LogRetentionMs(const Metadata& metadata);

}  // namespace sluice::delta
