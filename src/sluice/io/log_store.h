// LogStore: the small set of storage operations the Delta log needs, with
// exact contracts. Data files go through arrow::fs::FileSystem; the log goes
// through this interface because Arrow's filesystems have no atomic create
// (OpenOutputStream truncates, S3 Move copies). Each object store implements
// PutIfAbsent with its conditional write (local: link(); S3/Azure:
// If-None-Match: *; GCS: ifGenerationMatch=0).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::io {

struct FileEntry {
  std::string path;  ///< relative to the store root, '/' separated
  int64_t size = 0;
  int64_t modification_time_ms = 0;
};

/// Paths are relative to the store's root (a table directory).
/// Thread-safe: all methods may be called concurrently.
class LogStore {
 public:
  virtual ~LogStore() = default;

  /// Files directly inside `dir` whose name is >= `start_name`, sorted by name
  /// ascending. A missing `dir` lists as empty.
  virtual Result<std::vector<FileEntry>> ListFrom(const std::string& dir,
                                                  const std::string& start_name) = 0;

  /// Creates `path` with `data` only if nothing exists there. Returns
  /// Status::AlreadyExists if it does (the caller lost a commit race); on any
  /// outcome no partially written file is visible at `path`.
  virtual Status PutIfAbsent(const std::string& path, std::string_view data) = 0;

  /// Creates or atomically replaces `path` (checkpoints, _last_checkpoint).
  virtual Status Put(const std::string& path, std::string_view data) = 0;

  /// Whole contents. Returns Status::KeyError if `path` does not exist.
  virtual Result<std::string> Read(const std::string& path) = 0;

  /// std::nullopt if `path` does not exist.
  virtual Result<std::optional<FileEntry>> Head(const std::string& path) = 0;

  /// Removes `path`; deleting a missing path is OK (idempotent).
  virtual Status Delete(const std::string& path) = 0;

  /// Human-readable location of `path`, for error messages.
  virtual std::string Describe(const std::string& path) const = 0;
};

/// True for the status Read() returns on a missing file.
inline bool IsNotFound(const Status& st) { return st.IsKeyError(); }

/// Attached to the IOError of a refused credential or a missing bucket
/// (object stores): the message names the bucket, the operation and what was
/// tried; retrying cannot help.
class AccessRefusedDetail : public arrow::StatusDetail {
 public:
  const char* type_id() const override { return "sluice::AccessRefused"; }
  std::string ToString() const override { return "access refused"; }
};

inline bool IsAccessRefused(const Status& st) {
  return st.detail() != nullptr &&
         std::string_view(st.detail()->type_id()) == std::string_view("sluice::AccessRefused");
}

}  // namespace sluice::io
