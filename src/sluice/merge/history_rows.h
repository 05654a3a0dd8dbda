// Reading the stored versions a history batch can reach (the rows
// HistoryRowsNeeded names) for PlanHistory: only the files holding them are
// opened, never the whole table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/history_planner.h"

namespace sluice::merge {

/// The rows `rows_by_file` names (add.path → rows in the file, before DVs),
/// in the table's schema. `snapshot` null: an empty table with no columns.
/// Invalid if a file is not in the snapshot or a row is out of range.
Result<VersionRows> ReadVersionRows(
    const delta::Snapshot* snapshot, const io::TableLocation& location,
    const std::map<std::string, std::vector<int64_t>>& rows_by_file);

}  // namespace sluice::merge
