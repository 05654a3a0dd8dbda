// Where a table lives: an Arrow filesystem for data files and a LogStore for
// the commit log, both rooted at the table's directory.
#pragma once

#include <arrow/filesystem/type_fwd.h>

#include <memory>
#include <string>

#include "sluice/io/log_store.h"

namespace sluice::io {

struct TableLocation {
  std::shared_ptr<arrow::fs::FileSystem> fs;
  /// The table root as a path in `fs` (no trailing '/').
  std::string root;
  std::shared_ptr<LogStore> log;
  /// The location as the user gave it, for messages.
  std::string uri;
};

/// Opens a local path or file:// URI. Object-store URIs (s3://, gs://,
/// abfss://) are refused until their conditional-write LogStores exist.
Result<TableLocation> OpenTableLocation(const std::string& uri);

/// Joins a table root and a relative path with exactly one '/'.
std::string JoinPath(const std::string& root, const std::string& relative);

}  // namespace sluice::io
