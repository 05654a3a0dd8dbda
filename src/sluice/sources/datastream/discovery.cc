#include "sluice/sources/datastream/discovery.h"

#include <arrow/filesystem/filesystem.h>

#include <algorithm>

namespace sluice::sources::datastream {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsDataFile(const std::string& name, const std::string& format) {
  std::string n = EndsWith(name, ".gz") ? name.substr(0, name.size() - 3) : name;
  if (format == "avro") return EndsWith(n, ".avro");
  return EndsWith(n, ".json") || EndsWith(n, ".jsonl") || EndsWith(n, ".ndjson");
}

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

Result<std::vector<SourceFile>> ListTableFiles(arrow::fs::FileSystem& fs, const std::string& root,
                                               const std::string& folder,
                                               const std::string& format) {
  arrow::fs::FileSelector sel;
  std::string base = root + "/" + folder;
  sel.base_dir = base;
  sel.recursive = true;
  sel.allow_not_found = true;
  ARROW_ASSIGN_OR_RAISE(auto infos, fs.GetFileInfo(sel));
  std::vector<SourceFile> out;
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::File) continue;
    std::string name = BaseName(info.path());
    if (name.empty() || name[0] == '.' || !IsDataFile(name, format)) continue;
    std::string rel = info.path().substr(base.size() + 1);
    int64_t mtime_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(info.mtime().time_since_epoch())
            .count();
    out.push_back({rel, info.size(), mtime_ms});
  }
  std::sort(out.begin(), out.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  return out;
}

}  // namespace sluice::sources::datastream
