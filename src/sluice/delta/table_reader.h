// Reads the rows of a snapshot: every active data file, with its deletion
// vector applied, partition columns restored from `partitionValues`, and
// columns cast to the table schema (a column missing from an older file reads
// as NULL, as schema evolution requires).
#pragma once

#include <arrow/filesystem/type_fwd.h>
#include <arrow/type_fwd.h>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"

namespace sluice::delta {

/// Rows of one data file as the table sees them.
Result<std::shared_ptr<arrow::Table>> ReadDataFile(const Snapshot& snapshot,
                                                   const io::TableLocation& location,
                                                   const Add& file);

/// All rows of the snapshot, in file order.
Result<std::shared_ptr<arrow::Table>> ReadSnapshot(const Snapshot& snapshot,
                                                   const io::TableLocation& location);

/// Absolute path (in location.fs) of a file named by an add/remove path.
Result<std::string> ResolveDataPath(const io::TableLocation& location, const std::string& path);

}  // namespace sluice::delta
