#include "sluice/sources/datastream/discovery.h"

#include <arrow/filesystem/filesystem.h>

#include <algorithm>

namespace sluice::sources::datastream {

namespace {

std::string BaseName(const std::string& path) {
  auto pos = path.rfind('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

}  // namespace

Result<std::vector<std::string>> ListTableFolders(arrow::fs::FileSystem& fs,
                                                  const std::string& root) {
  arrow::fs::FileSelector sel;
  sel.base_dir = root;
  sel.recursive = false;
  sel.allow_not_found = true;
  ARROW_ASSIGN_OR_RAISE(auto infos, fs.GetFileInfo(sel));
  std::vector<std::string> out;
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::Directory) continue;
    std::string name = BaseName(info.path());
    if (name.empty() || name[0] == '_' || name[0] == '.') continue;
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::sources::datastream
