// Discovery of Datastream output: one folder per source table under the
// stream's root, files under `<folder>/yyyy/mm/dd/hh/mm/<file>`. Paths sort
// lexicographically in time order, which is the order files are ingested.
#pragma once

#include <arrow/filesystem/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources::datastream {

struct SourceFile {
  std::string path;  ///< relative to the table folder: "2021/10/25/23/45/x.avro"
  int64_t size = 0;
  int64_t mtime_ms = 0;
};

/// Folders directly under `root` that look like Datastream table folders
/// (hold a yyyy/ directory), sorted. Hidden folders (`_x`, `.x`) are skipped.
Result<std::vector<std::string>> ListTableFolders(arrow::fs::FileSystem& fs,
                                                  const std::string& root);

/// Every data file of one table folder (extension `.avro`, `.json`,
/// `.jsonl`, optionally `.gz`), sorted by path. Other files are ignored.
Result<std::vector<SourceFile>> ListTableFiles(arrow::fs::FileSystem& fs, const std::string& root,
                                               const std::string& folder,
                                               const std::string& format);

}  // namespace sluice::sources::datastream
