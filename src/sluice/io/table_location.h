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

/// Opens a table at a local path, file://, s3://, gs://, az:// or abfss://
/// URI. Data files go through Arrow's filesystem for the scheme, the log
/// through a LogStore with an atomic PutIfAbsent (local: link(); object
/// stores: ObjectLogStore); both are configured from the same standard
/// variables (docs/object_stores.md). Makes no request: a wrong credential
/// or a missing bucket shows on the first operation. Invalid for an
/// unsupported scheme.
Result<TableLocation> OpenTableLocation(const std::string& uri);

/// The location of `relative` inside `table` (e.g. "_sluice/tombstones"),
/// on the same store with the same configuration. Use it instead of
/// OpenTableLocation(JoinPath(table.root, ...)): `root` is a path inside the
/// filesystem and has lost the URI scheme of an object store.
Result<TableLocation> OpenSubLocation(const TableLocation& table, const std::string& relative);

/// Joins a table root and a relative path with exactly one '/'.
std::string JoinPath(const std::string& root, const std::string& relative);

}  // namespace sluice::io
