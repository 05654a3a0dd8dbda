#include "sluice/io/table_location.h"

#include "sluice/io/filesystem_opener.h"
#include "sluice/io/local_log_store.h"
#include "sluice/io/object_log_store.h"
#include "sluice/io/storage_uri.h"

namespace sluice::io {

std::string JoinPath(const std::string& root, const std::string& relative) {
  if (root.empty()) return relative;
  if (root.back() == '/') return root + relative;
  return root + "/" + relative;
}

Result<TableLocation> OpenTableLocation(const std::string& uri) {
  ARROW_ASSIGN_OR_RAISE(FileSystemLocation files, OpenFileSystem(uri));
  TableLocation loc;
  loc.fs = std::move(files.fs);
  loc.root = std::move(files.root);
  loc.uri = uri;
  if (IsObjectStoreUri(uri)) {
    ARROW_ASSIGN_OR_RAISE(loc.log, ObjectLogStore::Open(uri));
  } else {
    loc.log = std::make_shared<LocalLogStore>(loc.root);
  }
  return loc;
}

Result<TableLocation> OpenSubLocation(const TableLocation& table, const std::string& relative) {
  if (IsObjectStoreUri(table.uri)) {
    std::string base = table.uri;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return OpenTableLocation(JoinPath(base, relative));
  }
  return OpenTableLocation(JoinPath(table.root, relative));
}

}  // namespace sluice::io
