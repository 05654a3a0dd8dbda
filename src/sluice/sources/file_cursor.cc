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

std::optional<FileCursor::Partial> FileCursor::FindPartial(const std::string& path) const {
  auto it = partial_.find(path);
  if (it == partial_.end()) return std::nullopt;
  return it->second;
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
  std::vector<TakenFile> taken;
  taken.reserve(batch.size());
  for (const auto& f : batch) taken.push_back({f, 0, 0, 0});
  return With(taken, time_of);
}

FileCursor FileCursor::With(
    const std::vector<TakenFile>& batch,
    const std::function<std::optional<int64_t>(std::string_view)>& time_of) const {
  FileCursor next = *this;
  next.base_ = count_;
  next.batch_.clear();
  next.batch_parts_.clear();
  for (const auto& t : batch) {
    const ListedFile& f = t.file;
    next.batch_.push_back(f.path);
    next.batch_parts_.push_back({t.part, t.parts, t.part_bytes, t.content_bytes});
    ++next.count_;
    if (t.parts > 0 && t.part + 1 < t.parts) {
      next.partial_[f.path] = {t.part + 1, t.parts,    t.part_bytes,
                               f.size,     f.mtime_ms, t.content_bytes};
      continue;  // the file is not ingested until its last part is
    }
    next.partial_.erase(f.path);
    next.Insert(f.path, {f.size, f.mtime_ms});
    if (auto tm = time_of(f.path)) next.high_water_ms_ = std::max(next.high_water_ms_, *tm);
  }
  return next;
}

std::vector<TakenFile> FileCursor::TakenBatch() const {
  std::vector<TakenFile> out;
  for (size_t i = 0; i < batch_.size(); ++i) {
    TakenFile t;
    t.file.path = batch_[i];
    if (i < batch_parts_.size()) {
      t.part = batch_parts_[i].part;
      t.parts = batch_parts_[i].parts;
      t.part_bytes = batch_parts_[i].part_bytes;
      t.content_bytes = batch_parts_[i].content_bytes;
    }
    // The last part (or a whole file) is in the set; an earlier one in
    // partial (a later entry of the same batch may have moved it on).
    if (auto e = Find(t.file.path)) {
      t.file.size = e->size;
      t.file.mtime_ms = e->mtime_ms;
    } else if (auto p = FindPartial(t.file.path)) {
      t.file.size = p->size;
      t.file.mtime_ms = p->mtime_ms;
    }
    out.push_back(std::move(t));
  }
  return out;
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
  if (!candidate.empty() && candidate > watermark_) watermark_ = candidate;
  // Sealed paths leave the set once a late-file check covers them: looked at
  // on every call, since a check moves checked_ms while the watermark may
  // stay put (a backlog written moments ago: its files become covered only
  // once the check's margin has passed, usually between two watermark moves).
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
  // Written only when parts are involved, so cursors of whole files stay
  // what earlier releases read.
  bool any_part = false;
  for (const auto& p : batch_parts_) any_part = any_part || p.parts > 0;
  if (any_part) {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : batch_parts_) {
      nlohmann::json e = {p.part, p.parts, p.part_bytes};
      if (p.content_bytes > 0) e.push_back(p.content_bytes);
      parts.push_back(std::move(e));
    }
    doc["batch_parts"] = std::move(parts);
  }
  if (!partial_.empty()) {
    nlohmann::json partial = nlohmann::json::object();
    for (const auto& [path, p] : partial_) {
      nlohmann::json e = {p.done, p.parts, p.part_bytes, p.size, p.mtime_ms};
      if (p.content_bytes > 0) e.push_back(p.content_bytes);
      partial[path] = std::move(e);
    }
    doc["partial"] = std::move(partial);
  }
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
  // `n` integers, or `n + 1` (a trailing content_bytes).
  auto ints = [](const nlohmann::json& a, size_t n) {
    if (!a.is_array() || (a.size() != n && a.size() != n + 1)) return false;
    for (const auto& v : a) {
      if (!v.is_number_integer()) return false;
    }
    return true;
  };
  if (doc.contains("batch_parts")) {
    const auto& parts = doc["batch_parts"];
    if (!parts.is_array() || parts.size() != c.batch_.size()) return bad("bad batch_parts");
    for (const auto& p : parts) {
      if (!ints(p, 3)) return bad("bad batch_parts entry");
      c.batch_parts_.push_back({p[0].get<int32_t>(), p[1].get<int32_t>(), p[2].get<int64_t>(),
                                p.size() > 3 ? p[3].get<int64_t>() : 0});
    }
  } else {
    c.batch_parts_.resize(c.batch_.size());
  }
  if (doc.contains("partial")) {
    if (!doc["partial"].is_object()) return bad("bad partial");
    for (const auto& [path, p] : doc["partial"].items()) {
      if (!ints(p, 5)) return bad("bad partial entry for " + path);
      Partial e{p[0].get<int32_t>(), p[1].get<int32_t>(), p[2].get<int64_t>(),
                p[3].get<int64_t>(), p[4].get<int64_t>(), p.size() > 5 ? p[5].get<int64_t>() : 0};
      if (e.parts <= 0 || e.done <= 0 || e.done >= e.parts || e.part_bytes <= 0) {
        return bad("bad partial entry for " + path);
      }
      c.partial_[path] = e;
    }
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
