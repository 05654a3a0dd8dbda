// Discovery of Datastream output: one folder per source table under the
// stream's root, files under `<folder>/yyyy/mm/dd/hh/mm/<file>` (listed by
// the file-stream base, sources/file_stream.h).
#pragma once

#include <arrow/filesystem/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources::datastream {

/// Folders directly under `root` that look like Datastream table folders
/// (hold a yyyy/ directory), sorted. Hidden folders (`_x`, `.x`) are skipped.
Result<std::vector<std::string>> ListTableFolders(arrow::fs::FileSystem& fs,
                                                  const std::string& root);

}  // namespace sluice::sources::datastream
