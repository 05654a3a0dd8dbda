// Reading one commit of a table's log: what a follower of the table (the
// merge following its log table, a replay) needs to see the rows each
// version added without replaying the whole log again.
#pragma once

#include <cstdint>
#include <vector>

#include "sluice/delta/actions.h"
#include "sluice/io/log_store.h"

namespace sluice::delta {

/// The actions of commit `version`. NotFound-like KeyError if the commit file
/// is gone (expired by log cleanup), named in the message.
Result<std::vector<Action>> ReadCommit(io::LogStore& store, int64_t version);

/// The data files commit `version` added with dataChange=true, in commit
/// order. Files re-added by compaction (dataChange=false) hold no new rows
/// and are left out.
Result<std::vector<Add>> DataFilesAddedIn(io::LogStore& store, int64_t version);

}  // namespace sluice::delta
