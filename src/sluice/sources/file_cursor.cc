#include "sluice/sources/file_cursor.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sluice::sources {

namespace {

std::pair<std::string, std::string> Split(const std::string& path) {
  auto pos = path.rfind('/');
  if (pos == std::string::npos) return {"", path};
  return {path.substr(0, pos), path.substr(pos + 1)};
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace

bool FileCursor::Contains(const std::string& path) const { return Find(path).has_value(); }

std::optional<FileCursor::Entry> FileCursor::Find(const std::string& path) const {
  auto [dir, name] = Split(path);
  auto it = files_.find(dir);
  if (it == files_.end()) return std::nullopt;
  auto e = it->second.find(name);
  if (e == it->second.end()) return std::nullopt;
  return e->second;
}

bool FileCursor::Sealed(std::string_view path) const {
  return !watermark_.empty() && path <= watermark_;
}

bool FileCursor::IsNew(const ListedFile& file) const {
  if (Contains(file.path)) return false;
  return !Sealed(file.path) || file.mtime_ms >= checked_ms_;
}

size_t FileCursor::size() const {
  size_t n = 0;
  for (const auto& [dir, names] : files_) n += names.size();
  return n;
}

void FileCursor::Insert(const std::string& path, Entry entry) {
  auto [dir, name] = Split(path);
  files_[dir][name] = entry;
}

FileCursor FileCursor::With(
    const std::vector<ListedFile>& batch,
    const std::function<std::optional<int64_t>(std::string_view)>& time_of) const {
  FileCursor next = *this;
  next.base_ = count_;
  next.batch_.clear();
  for (const auto& f : batch) {
    next.Insert(f.path, {f.size, f.mtime_ms});
    next.batch_.push_back(f.path);
    ++next.count_;
    if (auto t = time_of(f.path)) next.high_water_ms_ = std::max(next.high_water_ms_, *t);
  }
  return next;
}

void FileCursor::Seal(const std::vector<ListedFile>& listing, int64_t window_ms,
                      const std::function<std::optional<int64_t>(std::string_view)>& time_of) {
  if (window_ms < 0 || high_water_ms_ == 0) return;
  const int64_t limit = high_water_ms_ - window_ms;
  // The first listed file not ingested bounds the watermark from above.
  std::string blocker;
  for (const auto& f : listing) {
    if (!Contains(f.path) && !Sealed(f.path)) {
      blocker = f.path;
      break;
    }
  }
  // The watermark: the last of the oldest ingested paths that are old
  // enough and below the blocker. Paths sort in time order, so the scan
  // stops at the first one that is not (it then costs what gets sealed, not
  // the size of the set). Stopping early is always safe: a lower watermark
  // only seals less.
  std::string candidate;
  bool done = false;
  for (const auto& [dir, names] : files_) {
    for (const auto& [name, entry] : names) {
      std::string path = Join(dir, name);
      if (Sealed(path)) continue;  // kept for the late-file check
      auto t = time_of(path);
      if ((!blocker.empty() && path >= blocker) || !t || *t > limit) {
        done = true;
        break;
      }
      candidate = std::max(candidate, path);
    }
    if (done) break;
  }
  if (candidate.empty() || candidate <= watermark_) return;
  watermark_ = candidate;
  // Sealed paths leave the set once a late-file check covers them.
  for (auto dir = files_.begin(); dir != files_.end();) {
    bool past = false;
    for (auto it = dir->second.begin(); it != dir->second.end();) {
      if (!Sealed(Join(dir->first, it->first))) {
        past = true;
        break;
      }
      if (it->second.mtime_ms < checked_ms_) {
        it = dir->second.erase(it);
      } else {
        ++it;
      }
    }
    dir = dir->second.empty() ? files_.erase(dir) : std::next(dir);
    if (past) break;
  }
}

void FileCursor::MarkChecked(int64_t listed_at_ms, int64_t margin_ms) {
  checked_ms_ = std::max(checked_ms_, listed_at_ms - margin_ms);
}

std::string FileCursor::ToJson() const {
  nlohmann::json files = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [dir, names] : files_) {
    nlohmann::json n = nlohmann::json::array();
    nlohmann::json m = nlohmann::json::array();
    for (const auto& [name, e] : names) {
      n.push_back(name);
      m.push_back({e.size, e.mtime_ms});
    }
    files[dir] = std::move(n);
    meta[dir] = std::move(m);
  }
  nlohmann::json doc = {{"version", 2},
                        {"count", count_},
                        {"base", base_},
                        {"batch", batch_},
                        {"watermark", watermark_},
                        {"high_water_ms", high_water_ms_},
                        {"checked_ms", checked_ms_},
                        {"files", files},
                        {"meta", meta}};
  return doc.dump();
}

Result<FileCursor> FileCursor::FromJson(std::string_view text, const std::string& where) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&](const std::string& what) {
    return Status::Invalid("cursor ", where, " is not a valid Sluice file cursor: ", what);
  };
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  if (!doc.contains("files") || !doc["files"].is_object()) return bad("no files");
  if (!doc.contains("count") || !doc["count"].is_number_unsigned()) return bad("no count");
  FileCursor c;
  c.count_ = doc["count"].get<uint64_t>();
  if (doc.contains("base") && doc["base"].is_number_unsigned())
    c.base_ = doc["base"].get<uint64_t>();
  if (doc.contains("batch") && doc["batch"].is_array()) {
    for (const auto& p : doc["batch"]) {
      if (!p.is_string()) return bad("bad batch entry");
      c.batch_.push_back(p.get<std::string>());
    }
  }
  if (doc.contains("watermark") && doc["watermark"].is_string()) {
    c.watermark_ = doc["watermark"].get<std::string>();
  }
  if (doc.contains("high_water_ms") && doc["high_water_ms"].is_number_integer()) {
    c.high_water_ms_ = doc["high_water_ms"].get<int64_t>();
  }
  if (doc.contains("checked_ms") && doc["checked_ms"].is_number_integer()) {
    c.checked_ms_ = doc["checked_ms"].get<int64_t>();
  }
  const nlohmann::json* meta =
      doc.contains("meta") && doc["meta"].is_object() ? &doc["meta"] : nullptr;
  for (const auto& [dir, names] : doc["files"].items()) {
    if (!names.is_array()) return bad("bad entry for " + dir);
    const nlohmann::json* m = meta && meta->contains(dir) ? &(*meta)[dir] : nullptr;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!names[i].is_string()) return bad("bad entry for " + dir);
      Entry e;
      if (m && m->is_array() && i < m->size() && (*m)[i].is_array() && (*m)[i].size() == 2) {
        e.size = (*m)[i][0].get<int64_t>();
        e.mtime_ms = (*m)[i][1].get<int64_t>();
      }
      c.files_[dir][names[i].get<std::string>()] = e;
    }
  }
  return c;
}

}  // namespace sluice::sources
