// Publishing a dated snapshot (docs/snapshots.md): the rows of the snapshot
// state table (a merged table, deletion vectors applied) copied into the
// output table as ONE Delta commit that replaces the date: every file of a
// versioned table `version=YYYY-MM-DD`, or the files of the partition
// `<column>=YYYY-MM-DD` of the partitioned table. Readers see the old or the
// new snapshot, never a mix. The output has no deletion vectors.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "sluice/core/status.h"
#include "sluice/delta/data_writer.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/merged_table.h"

namespace sluice::pipeline {

/// The txn appId of snapshot tables; its version is the latest date
/// published (days since the epoch), never lowered by a rebuild of an older
/// date.
inline constexpr const char* kSnapshotAppId = "sluice-snapshot";

struct PublishTarget {
  io::TableLocation location;  ///< the versioned table, or the partitioned root
  int32_t date = 0;            ///< days since the epoch
  bool partitioned = false;
  std::string partition_column = "snapshot_date";
  std::optional<int32_t> latest_before;  ///< the latest date published before
  delta::DataWriteOptions data;
  std::function<void(const std::string&)> progress;
};

struct Published {
  int64_t rows = 0;
  int64_t files = 0;
  int64_t version = 0;  ///< the output's commit
};

/// Copies `state`'s rows (state.snapshot() must be set) into the target in
/// one commit. Invalid when the partition column clashes with a table
/// column, or the existing table is partitioned otherwise. A newer schema
/// of the state replaces the table's (columns are only added: older dates
/// read the new ones as NULL).
Result<Published> PublishSnapshot(const merge::MergedTable& state, const PublishTarget& target);

}  // namespace sluice::pipeline
