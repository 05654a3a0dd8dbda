// Listing of an object-store location for sources: a time-ordered folder
// listed from a cursor on (S3 `start-after`, GCS `startOffset`), and the
// folders directly under a prefix. Arrow's filesystems cannot start a listing
// at a key (and its GCS filesystem lists no folders without marker objects),
// so sources on object stores list through this and read through Arrow.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/io/log_store.h"

namespace sluice::io {

class TreeLister {
 public:
  virtual ~TreeLister() = default;

  /// Every object under `dir` (at any depth) whose path relative to `dir`
  /// sorts after `after` (every object when `after` is empty), sorted by
  /// path; FileEntry::path is relative to `dir`. A missing `dir` lists as
  /// empty; a missing bucket or a refused credential is one error naming
  /// the bucket, the operation and what was tried.
  virtual Result<std::vector<FileEntry>> ListTreeAfter(const std::string& dir,
                                                       const std::string& after) = 0;

  /// The names of the folders directly under `dir` (prefixes followed by
  /// '/'), sorted.
  virtual Result<std::vector<std::string>> ListFolders(const std::string& dir) = 0;
};

/// The lister of an object-store location (s3://, gs://, az://, abfss://),
/// configured like its tables (docs/object_stores.md). Invalid for a local
/// path. Makes no request.
Result<std::shared_ptr<TreeLister>> OpenTreeLister(const std::string& uri);

}  // namespace sluice::io
