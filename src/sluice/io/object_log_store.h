// LogStore on an object store (S3, GCS, Azure Blob / ADLS) through the Rust
// object_store crate (rust/sluice_objstore): PutIfAbsent is the store's own
// conditional create (S3 and Azure `If-None-Match: *`, GCS
// `ifGenerationMatch=0`), so concurrent writers need no lock service.
// Semantics (docs/object_stores.md): a taken name is AlreadyExists; S3's 409
// ConditionalRequestConflict and transient errors (429, 5xx, timeouts,
// dropped connections) are retried with bounded backoff and jitter; a retried
// create whose earlier attempt had in fact landed is recognised by reading
// the object back (same bytes: OK).
#pragma once

#include <memory>
#include <string>

#include "sluice/io/log_store.h"
#include "sluice/io/tree_lister.h"

struct SluiceOsHandle;

namespace sluice::io {

class ObjectLogStore : public LogStore, public TreeLister {
 public:
  /// `uri` is the table root (e.g. "s3://bucket/lake/orders"); credentials
  /// and endpoints come from the standard variables (docs/object_stores.md).
  /// Makes no request: a wrong credential or a missing bucket shows on the
  /// first operation, as one error naming the bucket, the operation and the
  /// credentials tried.
  static Result<std::shared_ptr<ObjectLogStore>> Open(const std::string& uri);
  ~ObjectLogStore() override;

  Result<std::vector<FileEntry>> ListFrom(const std::string& dir,
                                          const std::string& start_name) override;
  Status PutIfAbsent(const std::string& path, std::string_view data) override;
  Status Put(const std::string& path, std::string_view data) override;
  Result<std::string> Read(const std::string& path) override;
  Result<std::optional<FileEntry>> Head(const std::string& path) override;
  Status Delete(const std::string& path) override;
  std::string Describe(const std::string& path) const override;

  Result<std::vector<FileEntry>> ListTreeAfter(const std::string& dir,
                                               const std::string& after) override;
  Result<std::vector<std::string>> ListFolders(const std::string& dir) override;

 private:
  ObjectLogStore(SluiceOsHandle* handle, std::string uri);

  SluiceOsHandle* handle_;
  std::string uri_;
};

/// Parses one listing line "size\tmtime_ms\tpath" of the C ABI. Exposed for
/// tests.
Result<FileEntry> ParseListingLine(std::string_view line);

}  // namespace sluice::io
