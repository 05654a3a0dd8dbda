// LogSegment: the files that make up one version of a table: the newest
// complete checkpoint at or before it, plus the contiguous commits after it.
// Listing is kept apart from replay (log_replay.h), as delta-kernel-rs does.
#pragma once

#include <optional>
#include <vector>

#include "sluice/delta/log_path.h"
#include "sluice/io/log_store.h"

namespace sluice::delta {

struct LogSegment {
  int64_t version = -1;
  std::optional<int64_t> checkpoint_version;
  std::vector<io::FileEntry> checkpoint_parts;  ///< all parts, in part order
  std::vector<io::FileEntry> commits;           ///< ascending, checkpoint_version+1 .. version
};

/// Lists the log and builds the segment for `version` (the latest if
/// nullopt). Returns KeyError "not a Delta table" if there is no commit at
/// all, and Invalid when commits are missing (a gap in the log).
Result<LogSegment> BuildLogSegment(io::LogStore& store, std::optional<int64_t> version);

/// Every commit file from `from_version` on, ascending (for time travel by
/// timestamp and for conflict checking).
Result<std::vector<std::pair<int64_t, io::FileEntry>>> ListCommits(io::LogStore& store,
                                                                   int64_t from_version);

}  // namespace sluice::delta
