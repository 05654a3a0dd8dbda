#include "sluice/sources/datastream/file_cursor.h"

#include <nlohmann/json.hpp>

namespace sluice::sources::datastream {

namespace {

std::pair<std::string, std::string> Split(const std::string& path) {
  auto pos = path.rfind('/');
  if (pos == std::string::npos) return {"", path};
  return {path.substr(0, pos), path.substr(pos + 1)};
}

}  // namespace

bool FileCursor::Contains(const std::string& path) const {
  auto [dir, name] = Split(path);
  auto it = files_.find(dir);
  return it != files_.end() && it->second.count(name) > 0;
}

uint64_t FileCursor::Add(const std::string& path) {
  auto [dir, name] = Split(path);
  files_[dir].insert(name);
  return count_++;
}

std::vector<SourceFile> FileCursor::Pending(const std::vector<SourceFile>& listing,
                                            size_t limit) const {
  std::vector<SourceFile> out;
  for (const auto& f : listing) {
    if (out.size() >= limit) break;
    if (!Contains(f.path)) out.push_back(f);
  }
  return out;
}

std::string FileCursor::ToJson() const {
  nlohmann::json files = nlohmann::json::object();
  for (const auto& [dir, names] : files_) files[dir] = names;
  nlohmann::json doc = {{"version", 1}, {"count", count_}, {"files", files}};
  return doc.dump();
}

Result<FileCursor> FileCursor::FromJson(std::string_view text, const std::string& where) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("files") ||
      !doc["files"].is_object() || !doc.contains("count") || !doc["count"].is_number_unsigned()) {
    return Status::Invalid("cursor ", where, " is not a valid Sluice file cursor");
  }
  FileCursor c;
  c.count_ = doc["count"].get<uint64_t>();
  for (const auto& [dir, names] : doc["files"].items()) {
    if (!names.is_array()) return Status::Invalid("cursor ", where, ": bad entry for ", dir);
    for (const auto& n : names) {
      if (!n.is_string()) return Status::Invalid("cursor ", where, ": bad entry for ", dir);
      c.files_[dir].insert(n.get<std::string>());
    }
  }
  return c;
}

}  // namespace sluice::sources::datastream
