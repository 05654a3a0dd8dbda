#include "sluice/io/table_location.h"

#include <arrow/filesystem/localfs.h>

#include <filesystem>

#include "sluice/io/local_log_store.h"

namespace sluice::io {

std::string JoinPath(const std::string& root, const std::string& relative) {
  if (root.empty()) return relative;
  if (root.back() == '/') return root + relative;
  return root + "/" + relative;
}

Result<TableLocation> OpenTableLocation(const std::string& uri) {
  std::string path = uri;
  auto scheme_end = uri.find("://");
  if (scheme_end != std::string::npos) {
    std::string scheme = uri.substr(0, scheme_end);
    if (scheme != "file") {
      return Status::NotImplemented("storage scheme '", scheme, "://' (table ", uri,
                                    ") is not supported yet: only local paths work");
    }
    path = uri.substr(scheme_end + 3);
  }
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return Status::IOError("cannot resolve path '", path, "': ", ec.message());
  std::string root = abs.lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  TableLocation loc;
  loc.fs = std::make_shared<arrow::fs::LocalFileSystem>();
  loc.root = root;
  loc.log = std::make_shared<LocalLogStore>(root);
  loc.uri = uri;
  return loc;
}

}  // namespace sluice::io
