// Opens the Arrow filesystem for a location (local path, file://, s3://,
// gs://, az://, abfss://), configured from the same standard variables as
// the commit log's ObjectLogStore (docs/object_stores.md), so one
// configuration drives all I/O of a path. Sources use it for their input
// files; OpenTableLocation uses it for a table's data files.
#pragma once

#include <arrow/filesystem/type_fwd.h>

#include <memory>
#include <string>

#include "sluice/core/status.h"

namespace sluice::io {

struct FileSystemLocation {
  std::shared_ptr<arrow::fs::FileSystem> fs;
  /// The location as a path in `fs`: absolute for local paths,
  /// "bucket/key" for object stores; no trailing '/'.
  std::string root;
};

/// Builds the filesystem; makes no request (bad credentials or a missing
/// bucket show on first use). Invalid for an unsupported scheme. S3 is
/// initialised on first use and finalised at process exit.
Result<FileSystemLocation> OpenFileSystem(const std::string& uri);

/// True for an object store's filesystem (S3, GCS, Azure): it has no real
/// directories (creating one only writes a marker object) and lists only
/// finalized objects.
bool IsObjectStore(const arrow::fs::FileSystem& fs);

}  // namespace sluice::io
