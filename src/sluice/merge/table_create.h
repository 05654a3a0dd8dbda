// Starting a transaction on a merge-owned table: on top of its latest
// snapshot, or creating it (version 0) when the location holds no table.
// Kept apart because both the merged table and the tombstone side table need
// it, and delta::WriteTable's creation path cannot also carry DVs and tags.
#pragma once

#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <string>

#include "sluice/delta/transaction.h"
#include "sluice/io/table_location.h"

namespace sluice::merge {

/// A transaction creating a table with `schema`, unpartitioned. With
/// `deletion_vectors` the protocol is 3/7 with the deletionVectors feature
/// and delta.enableDeletionVectors=true; without, the protocol readers
/// lacking DV support can read (copy-on-write mode).
Result<std::unique_ptr<delta::Transaction>> CreateTableTransaction(
    const io::TableLocation& location, const arrow::Schema& schema, bool deletion_vectors,
    const std::string& operation, const std::map<std::string, std::string>& configuration = {});

}  // namespace sluice::merge
