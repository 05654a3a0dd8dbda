// The source table a Datastream folder holds: `source_metadata.database`
// (MySQL) or `.schema` (PostgreSQL, Oracle, SQL Server) and `.table` of its
// events. The folder name (`<schema>_<table>` by Datastream's default
// naming) is only a fallback: streams may be configured with other names.
#pragma once

#include <arrow/type_fwd.h>

#include <string>

#include "sluice/core/status.h"

namespace sluice::sources::datastream {

struct TableIdentity {
  std::string database;
  std::string table;
  std::string Qualified() const { return database + "." + table; }
};

/// From the first row of `events` that names its table; falls back to the
/// folder name (split at the first '_', or database "default").
TableIdentity IdentifyTable(const arrow::RecordBatch* events, const std::string& folder);

}  // namespace sluice::sources::datastream
