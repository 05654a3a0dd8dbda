// The primary keys a table records: the merged table (and the log table it
// follows) keep their key columns in the table configuration, so that a
// restart, a replay or another process finds them without the source.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sluice/delta/snapshot.h"

namespace sluice::merge {

/// Table configuration key holding the primary key columns (a JSON array).
inline constexpr const char* kPrimaryKeysProperty = "sluice.primaryKeys";

/// `keys` as the property's value: a JSON array of strings.
std::string EncodePrimaryKeys(const std::vector<std::string>& keys);

/// The keys a table records, or nullopt if it records none (or not as a
/// JSON array of strings).
std::optional<std::vector<std::string>> PrimaryKeysOf(const delta::Snapshot& snapshot);

}  // namespace sluice::merge
