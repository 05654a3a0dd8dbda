// Parsing of table and source locations: local paths, file://, s3://,
// gs://, az:// and abfss://. Pure string work, no I/O.
#pragma once

#include <map>
#include <string>

#include "sluice/core/status.h"

namespace sluice::io {

enum class StorageKind { kLocal, kS3, kGcs, kAzure };

struct StorageUri {
  StorageKind kind = StorageKind::kLocal;
  /// Local: the path as given (file:// stripped). Object stores: bucket or
  /// container.
  std::string bucket;
  /// Object stores: the path inside the bucket, no leading/trailing '/'.
  std::string key;
  /// Azure: the account named in an abfss:// URI (container@account.dfs...).
  std::string account;
};

/// Parses `uri`. Invalid for an unknown scheme, a missing bucket, or a
/// '..' segment in an object key.
Result<StorageUri> ParseStorageUri(const std::string& uri);

/// True when `uri` names an object store rather than a local path.
bool IsObjectStoreUri(const std::string& uri);

/// "scheme://host:port" -> {scheme, "host:port"}; "host:port" -> {"", ...}.
struct Endpoint {
  std::string scheme;
  std::string authority;
  /// Anything after the authority, without the leading '/'.
  std::string path;
};
Endpoint ParseEndpoint(const std::string& url);

/// `key=value;key=value` (AZURE_STORAGE_CONNECTION_STRING).
std::map<std::string, std::string> ParseConnectionString(const std::string& s);

}  // namespace sluice::io
