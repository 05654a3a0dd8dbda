#include "sluice/sources/file_stream.h"

#include <arrow/buffer.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <arrow/io/interfaces.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <utility>

#include "sluice/core/clock.h"

namespace sluice::sources {

namespace {

std::string BaseName(const std::string& path) {
  auto pos = path.rfind('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

int64_t ToMs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

FileStreamOptions FileStreamOptionsFor(SourceOptions* options) {
  if (!options->fs) {
    std::string root = options->path;
    if (root.rfind("file://", 0) == 0) root = root.substr(7);
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    options->fs = std::make_shared<arrow::fs::LocalFileSystem>();
    options->fs_root = root;
  }
  FileStreamOptions o;
  o.fs = options->fs;
  o.root = options->fs_root;
  o.lister = options->lister;
  o.visible_while_written = options->fs->type_name() == "local";
  o.settle_ms = options->settle_ms;
  o.incomplete_timeout_ms = options->incomplete_timeout_ms;
  o.part_bytes = options->file_part_bytes;
  o.spool_dir = options->spool_dir;
  o.late_window_ms = options->late_window_ms;
  o.late_check_interval_ms = options->late_check_interval_ms;
  o.late_check_margin_ms = o.visible_while_written ? options->settle_ms + 3'000 : 5LL * 60 * 1000;
  return o;
}

Result<std::vector<std::string>> ListSourceFolders(const FileStreamOptions& options,
                                                   const std::string& dir) {
  auto hidden = [](const std::string& name) {
    return name.empty() || name[0] == '_' || name[0] == '.';
  };
  std::vector<std::string> out;
  if (options.lister) {
    ARROW_ASSIGN_OR_RAISE(auto folders, options.lister->ListFolders(dir));
    for (auto& f : folders) {
      if (!hidden(f)) out.push_back(std::move(f));
    }
  } else {
    arrow::fs::FileSelector sel;
    sel.base_dir = dir.empty() ? options.root : options.root + "/" + dir;
    sel.allow_not_found = true;
    ARROW_ASSIGN_OR_RAISE(auto infos, options.fs->GetFileInfo(sel));
    for (const auto& info : infos) {
      if (info.type() != arrow::fs::FileType::Directory) continue;
      std::string name = info.base_name();
      if (!hidden(name)) out.push_back(std::move(name));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

FileStream::FileStream(std::string id, FileStreamOptions options)
    : id_(std::move(id)), options_(std::move(options)) {
  std::string dir = options_.spool_dir;
  if (dir.empty()) {
    std::error_code ec;
    auto tmp = std::filesystem::temp_directory_path(ec);
    dir = ((ec ? std::filesystem::path("/tmp") : tmp) / "sluice-spool").string();
  }
  spool_ = std::make_unique<GzipSpool>(std::move(dir));
}

FileStream::~FileStream() = default;

void FileStream::DropFinishedSpools() {
  // A spooled file whose last part the cursor's batch committed.
  for (const auto& t : cursor_.TakenBatch()) {
    if (t.content_bytes > 0 && t.part + 1 == t.parts) {
      const std::string key = SpoolKey(t.file.path, t.file.size, t.file.mtime_ms);
      spool_->Remove(key);
      spooled_.erase(key);
    }
  }
}

std::string FileStream::SpoolKey(const std::string& path, int64_t size, int64_t mtime_ms) const {
  return options_.root + "/" + Where(path) + "|" + std::to_string(size) + "|" +
         std::to_string(mtime_ms);
}

bool FileStream::SpoolCandidate(const ListedFile& file) const {
  // A gzip file much smaller than a part is decoded whole as before (its
  // content would rarely exceed a part, and spooling costs a disk write).
  return options_.part_bytes > 0 && IsGzipFile(file.path) && file.size > options_.part_bytes / 64;
}

std::optional<int64_t> FileStream::Spool(const std::string& path, int64_t size, int64_t mtime_ms) {
  const std::string key = SpoolKey(path, size, mtime_ms);
  if (auto it = spooled_.find(key); it != spooled_.end()) {
    if (it->second < 0) return std::nullopt;
    // Content within a part: the file is read whole, its spool is gone.
    if (it->second <= options_.part_bytes) return it->second;
    if (auto found = spool_->Find(key); found.ok() && *found) return it->second;
  }
  if (spooled_.size() >= 10'000) spooled_.clear();  // only a cache of outcomes
  auto spooled = spool_->Get(key, [&]() -> Result<std::shared_ptr<arrow::io::InputStream>> {
    return options_.fs->OpenInputStream(options_.root + "/" + id_ + "/" + path);
  });
  if (!spooled.ok()) {
    if (reported_.insert("spool:" + key).second) {
      notices_.push_back("file " + Where(path) + " is read whole: " + spooled.status().message());
    }
    spooled_[key] = -1;
    return std::nullopt;
  }
  spooled_[key] = spooled->bytes;
  return spooled->bytes;
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> FileStream::OpenSpool(const Unit& unit) const {
  const std::string key = SpoolKey(unit.name, unit.listed_bytes, unit.mtime_ms);
  ARROW_ASSIGN_OR_RAISE(auto found, spool_->Find(key));
  if (!found) {  // removed meanwhile (a cleaned temp folder): spool it again
    ARROW_ASSIGN_OR_RAISE(
        auto again, spool_->Get(key, [&]() -> Result<std::shared_ptr<arrow::io::InputStream>> {
          return options_.fs->OpenInputStream(options_.root + "/" + id_ + "/" + unit.name);
        }));
    found = again;
  }
  if (found->bytes != unit.file_bytes) {
    return Status::IOError("file ", Where(unit.name),
                           " changed while it was ingested in parts: ", "its content is now ",
                           found->bytes, " bytes, its parts were planned for ", unit.file_bytes);
  }
  std::shared_ptr<arrow::io::RandomAccessFile> file;
  ARROW_ASSIGN_OR_RAISE(file, arrow::io::ReadableFile::Open(found->path));
  return file;
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> FileStream::OpenFile(
    const std::string& path, std::optional<int64_t> size) const {
  const std::string full = options_.root + "/" + id_ + "/" + path;
  std::shared_ptr<arrow::io::RandomAccessFile> file;
  if (size && !options_.visible_while_written) {
    // An object is immutable once listed: its listed size is its size.
    arrow::fs::FileInfo info(full, arrow::fs::FileType::File);
    info.set_size(*size);
    ARROW_ASSIGN_OR_RAISE(file, options_.fs->OpenInputFile(info));
  } else {
    ARROW_ASSIGN_OR_RAISE(file, options_.fs->OpenInputFile(full));
  }
  return file;
}

Result<std::shared_ptr<arrow::Buffer>> FileStream::ReadFile(const std::string& path,
                                                            std::optional<int64_t> size) const {
  ARROW_ASSIGN_OR_RAISE(auto file, OpenFile(path, size));
  ARROW_ASSIGN_OR_RAISE(int64_t length, file->GetSize());
  return file->ReadAt(0, length);
}

Result<DecodedUnit> FileStream::DecodeFileFrom(const Unit& unit,
                                               std::shared_ptr<arrow::io::RandomAccessFile>,
                                               const DecodeContext&) const {
  return Status::NotImplemented("stream ", id_, " cannot decode ", unit.name, " from ranged reads");
}

Result<DecodedUnit> FileStream::DecodeFilePart(const Unit& unit,
                                               std::shared_ptr<arrow::io::RandomAccessFile>,
                                               const DecodeContext&) const {
  return Status::NotImplemented("stream ", id_, " cannot decode ", unit.Label(), " as a part");
}

Status FileStream::ListObjects(bool everything, std::vector<ListedFile>& out) const {
  // Paths at or below the watermark are sealed: a normal poll lists from
  // just after it (the layout is time-ordered, so that is the recent part).
  const std::string after = everything ? std::string() : cursor_.watermark();
  ARROW_ASSIGN_OR_RAISE(auto entries, options_.lister->ListTreeAfter(id_, after));
  for (auto& e : entries) {
    bool hidden = false;
    for (size_t pos = 0; pos < e.path.size();) {
      if (e.path[pos] == '.' || e.path[pos] == '_') hidden = true;
      size_t slash = e.path.find('/', pos);
      pos = slash == std::string::npos ? e.path.size() : slash + 1;
    }
    if (hidden || !IsDataFile(BaseName(e.path))) continue;
    if (!everything && cursor_.Sealed(e.path)) continue;
    out.push_back({std::move(e.path), e.size, e.modification_time_ms});
  }
  return Status::OK();
}

Status FileStream::Walk(const std::string& dir, bool everything,
                        std::vector<ListedFile>& out) const {
  arrow::fs::FileSelector sel;
  sel.base_dir = options_.root + "/" + id_ + (dir.empty() ? "" : "/" + dir);
  sel.recursive = false;
  sel.allow_not_found = true;
  ARROW_ASSIGN_OR_RAISE(auto infos, options_.fs->GetFileInfo(sel));
  const bool local = options_.fs->type_name() == "local";
  const std::string& watermark = cursor_.watermark();
  for (const auto& info : infos) {
    std::string name = BaseName(info.path());
    if (name.empty() || name[0] == '.' || name[0] == '_') continue;
    std::string rel = Join(dir, name);
    if (info.type() == arrow::fs::FileType::Directory) {
      if (!everything && !watermark.empty()) {
        // Every path under `rel/` sorts below the watermark unless the
        // watermark itself lies under it: then the subtree is sealed.
        std::string prefix = rel + "/";
        if (watermark.compare(0, prefix.size(), prefix) != 0 && prefix < watermark) continue;
      }
      ARROW_RETURN_NOT_OK(Walk(rel, everything, out));
      continue;
    }
    if (info.type() != arrow::fs::FileType::File || !IsDataFile(name)) continue;
    if (!everything && cursor_.Sealed(rel)) continue;
    int64_t stamp =
        std::chrono::duration_cast<std::chrono::milliseconds>(info.mtime().time_since_epoch())
            .count();
    if (local) {
      // A file moved or copied in with its old modification time (mv,
      // rsync -t) still gets a fresh change time: when it appeared.
      struct stat st;
      if (::stat(info.path().c_str(), &st) == 0) {
        stamp = std::max(ToMs(st.st_mtim), ToMs(st.st_ctim));
      }
    }
    out.push_back({rel, info.size(), stamp});
  }
  return Status::OK();
}

Result<std::vector<ListedFile>> FileStream::List(bool everything) const {
  std::vector<ListedFile> out;
  if (options_.lister) {
    ARROW_RETURN_NOT_OK(ListObjects(everything, out));
  } else {
    ARROW_RETURN_NOT_OK(Walk("", everything, out));
  }
  std::sort(out.begin(), out.end(),
            [](const ListedFile& a, const ListedFile& b) { return a.path < b.path; });
  return out;
}

bool FileStream::Ready(const ListedFile& file, int64_t now_ms) const {
  return !options_.visible_while_written || now_ms - file.mtime_ms >= options_.settle_ms;
}

std::optional<Unit> FileStream::FirstPartOf(const ListedFile& file) {
  if (options_.part_bytes <= 0) return std::nullopt;
  Unit u{file.path, file.size, file.mtime_ms, 0};
  int64_t content = file.size;
  if (IsGzipFile(file.path)) {
    if (!SpoolCandidate(file)) return std::nullopt;
    auto spooled = Spool(file.path, file.size, file.mtime_ms);
    if (!spooled) return std::nullopt;
    content = *spooled;
    u.spooled = true;
    u.listed_bytes = file.size;
  }
  if (content <= options_.part_bytes || !SplitsIntoParts(u)) {
    if (u.spooled) spool_->Remove(SpoolKey(file.path, file.size, file.mtime_ms));
    return std::nullopt;
  }
  u.parts = static_cast<int32_t>((content + options_.part_bytes - 1) / options_.part_bytes);
  u.part_bytes = options_.part_bytes;
  u.file_bytes = content;
  u.bytes = u.end() - u.begin();
  return u;
}

Result<std::optional<SourceTable>> FileStream::IdentifyFilePart(
    const Unit& first_part, std::shared_ptr<arrow::io::RandomAccessFile> file) {
  ARROW_ASSIGN_OR_RAISE(auto bytes, file->ReadAt(0, first_part.file_bytes));
  Unit whole{first_part.name, first_part.file_bytes, first_part.mtime_ms, 0};
  return IdentifyFile(whole, bytes);
}

Result<std::optional<SourceTable>> FileStream::Identify() {
  if (identity_) return identity_;
  ARROW_ASSIGN_OR_RAISE(auto listing, List(false));
  const int64_t now = WallClockMs();
  waiting_ = false;
  for (const auto& f : listing) {
    if (!Ready(f, now)) {
      waiting_ = true;
      continue;
    }
    const bool young =
        options_.visible_while_written && now - f.mtime_ms < options_.incomplete_timeout_ms;
    if (young && SpoolCandidate(f)) {
      waiting_ = true;  // not spooled while it may still be written: see Pending()
      continue;
    }
    if (auto first = FirstPartOf(f)) {
      if (young) {
        waiting_ = true;  // not checked whole: see Pending()
        continue;
      }
      auto file = first->spooled ? OpenSpool(*first) : OpenFile(f.path, f.size);
      if (!file.ok()) continue;
      auto id = IdentifyFilePart(*first, *file);
      // Whether the file is ingested already is known only once the cursor
      // is restored (after this): Restore removes the spool then, if so.
      if (first->spooled) identified_spool_ = f;
      if (id.ok() && *id) {
        identity_ = *id;
        return identity_;
      }
      continue;
    }
    auto bytes = ReadFile(f.path, f.size);
    if (!bytes.ok()) continue;
    if (options_.visible_while_written &&
        ((*bytes)->size() != f.size || (CheckExtent(**bytes, f.path) == FileExtent::kTruncated &&
                                        now - f.mtime_ms < options_.incomplete_timeout_ms))) {
      waiting_ = true;
      continue;
    }
    Unit unit{f.path, f.size, f.mtime_ms, 0};
    auto id = IdentifyFile(unit, *bytes);
    if (id.ok() && *id) {
      identity_ = *id;
      return identity_;
    }
  }
  return std::nullopt;
}

Status FileStream::Restore(const std::optional<Position>& committed) {
  cursor_ = FileCursor();
  listing_.clear();
  pending_count_.reset();
  check_due_ = true;
  clean_check_ms_.reset();
  prefetched_.reset();
  prefetched_all_.reset();
  std::optional<ListedFile> identified = std::exchange(identified_spool_, std::nullopt);
  if (!committed || committed->key() == 0) return Status::OK();
  if (committed->state.empty()) {
    return Status::Invalid("stream ", id_, ": position ", committed->key(),
                           " was committed but its cursor is missing");
  }
  ARROW_ASSIGN_OR_RAISE(cursor_, FileCursor::FromJson(committed->state, "of stream " + id_));
  DropFinishedSpools();  // a crash between the commit and Advance() left it
  if (identified && !cursor_.IsNew(*identified) && !cursor_.FindPartial(identified->path)) {
    const std::string key = SpoolKey(identified->path, identified->size, identified->mtime_ms);
    spool_->Remove(key);
    spooled_.erase(key);
  }
  if (static_cast<int64_t>(cursor_.count()) != committed->key()) {
    return Status::Invalid("stream ", id_, ": the cursor holds ", cursor_.count(),
                           " files but the committed position says ", committed->key());
  }
  return Status::OK();
}

void FileStream::Prefetch() {
  prefetched_.reset();
  prefetched_all_.reset();
  prefetched_at_ms_ = WallClockMs();
  auto listing = List(false);
  if (!listing.ok()) return;  // Pending() lists again and reports it
  prefetched_ = std::move(*listing);
  if (LateCheckDue(prefetched_at_ms_)) {
    auto all = List(true);
    if (all.ok()) prefetched_all_ = std::move(*all);
  }
}

Result<std::vector<Unit>> FileStream::Pending(size_t max_units) {
  const int64_t now = WallClockMs();
  waiting_ = false;
  std::vector<ListedFile> listing;
  std::optional<std::vector<ListedFile>> all_prefetched = std::move(prefetched_all_);
  prefetched_all_.reset();
  if (prefetched_) {
    listing = std::move(*prefetched_);
    prefetched_.reset();
  } else {
    all_prefetched.reset();  // a check listed without its range would not match
    ARROW_ASSIGN_OR_RAISE(listing, List(false));
  }
  std::vector<ListedFile> candidates;
  auto note_changed = [&](const ListedFile& f) {
    auto e = cursor_.Find(f.path);
    if (e && (e->size != f.size || f.mtime_ms > e->mtime_ms) && e->mtime_ms != 0 &&
        reported_.insert("changed:" + f.path).second) {
      notices_.push_back("file " + Where(f.path) + " changed after it was ingested (size " +
                         std::to_string(e->size) + " -> " + std::to_string(f.size) +
                         "); its new content is not read again");
    }
  };
  for (const auto& f : listing) {
    note_changed(f);
    if (cursor_.IsNew(f)) candidates.push_back(f);
  }
  listing_ = std::move(listing);
  if (LateCheckDue(now)) {
    // The late-file check: the sealed range too. A prefetched listing counts
    // from when it was made.
    const int64_t listed_at = all_prefetched ? prefetched_at_ms_ : now;
    std::vector<ListedFile> all;
    if (all_prefetched) {
      all = std::move(*all_prefetched);
    } else {
      ARROW_ASSIGN_OR_RAISE(all, List(true));
    }
    bool found = false;
    for (const auto& f : all) {
      if (!cursor_.Sealed(f.path)) continue;
      note_changed(f);
      if (!cursor_.IsNew(f)) continue;
      found = true;
      candidates.push_back(f);
      if (reported_.insert("late:" + f.path).second) {
        notices_.push_back("late file " + Where(f.path) +
                           " landed in a sealed folder (at or before " + cursor_.watermark() +
                           "); ingested now");
      }
    }
    last_check_ms_ = listed_at;
    check_due_ = found;
    if (!found) clean_check_ms_ = listed_at;
  }
  // Path order, after the source's own rank (DMS: full load before CDC).
  std::stable_sort(candidates.begin(), candidates.end(),
                   [this](const ListedFile& a, const ListedFile& b) {
                     int ra = UnitRank(a.path), rb = UnitRank(b.path);
                     return ra != rb ? ra < rb : a.path < b.path;
                   });
  std::vector<Unit> out;
  size_t files_taken = 0;
  for (const auto& f : candidates) {
    if (out.size() >= max_units) break;
    if (!Ready(f, now)) {
      waiting_ = true;
      continue;
    }
    auto partial = cursor_.FindPartial(f.path);
    const bool young =
        options_.visible_while_written && now - f.mtime_ms < options_.incomplete_timeout_ms;
    if (!partial && young && SpoolCandidate(f)) {
      waiting_ = true;  // a gzip file is spooled once it has stopped changing
      continue;
    }
    auto first = partial ? std::nullopt : FirstPartOf(f);
    if (!partial && !first) {
      out.push_back({f.path, f.size, f.mtime_ms, cursor_.count() + out.size()});
      ++files_taken;
      continue;
    }
    // A file split into parts is never checked whole (that would read it
    // whole): where it can be seen while written, it is taken once it has
    // not changed for the incomplete timeout.
    if (!partial && young) {
      waiting_ = true;
      continue;
    }
    FileCursor::Partial layout;
    if (partial) {
      layout = *partial;
      if ((f.size != layout.size || f.mtime_ms > layout.mtime_ms) &&
          reported_.insert("changed:" + f.path).second) {
        notices_.push_back("file " + Where(f.path) +
                           " changed while it was ingested in parts (size " +
                           std::to_string(layout.size) + " -> " + std::to_string(f.size) +
                           "); its remaining parts are read as planned");
      }
      // A spooled file's content must be there again (after a restart).
      if (layout.content_bytes > 0 && Spool(f.path, layout.size, layout.mtime_ms) !=
                                          std::optional<int64_t>(layout.content_bytes)) {
        return Status::IOError("file ", Where(f.path),
                               " changed while it was ingested in parts: its gzip content is no "
                               "longer the ",
                               layout.content_bytes, " bytes its parts were planned for");
      }
    } else {
      layout = {0,      first->parts, first->part_bytes,
                f.size, f.mtime_ms,   first->spooled ? first->file_bytes : 0};
    }
    for (int32_t k = layout.done; k < layout.parts && out.size() < max_units; ++k) {
      Unit part{f.path, 0, layout.mtime_ms, cursor_.count() + out.size()};
      part.part = k;
      part.parts = layout.parts;
      part.part_bytes = layout.part_bytes;
      part.file_bytes = layout.content_bytes > 0 ? layout.content_bytes : layout.size;
      part.spooled = layout.content_bytes > 0;
      part.listed_bytes = layout.size;
      part.bytes = part.end() - part.begin();
      out.push_back(std::move(part));
    }
    ++files_taken;
    // The next file only once this one's parts are all taken (they come in
    // order, and its last part must land before a later file's first).
    if (out.back().part + 1 < out.back().parts) break;
  }
  pending_count_ = static_cast<int64_t>(candidates.size() - files_taken);
  return out;
}

Result<DecodedUnit> FileStream::Decode(const Unit& unit, const DecodeContext& ctx) const {
  // I/O errors: the batch is retried.
  if (unit.parts > 0) {
    std::shared_ptr<arrow::io::RandomAccessFile> file;
    if (unit.spooled) {
      ARROW_ASSIGN_OR_RAISE(file, OpenSpool(unit));
    } else {
      ARROW_ASSIGN_OR_RAISE(file, OpenFile(unit.name, unit.file_bytes));
    }
    return DecodeFilePart(unit, std::move(file), ctx);
  }
  if (DecodesFromRanges(unit)) {
    ARROW_ASSIGN_OR_RAISE(auto file, OpenFile(unit.name, unit.bytes));
    bool whole_check = false;
    if (options_.visible_while_written) {
      ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
      if (size != unit.bytes) {
        DecodedUnit waiting;
        waiting.complete = false;
        return waiting;
      }
      // A young file may still be written: its format's check needs its bytes.
      whole_check = WallClockMs() - unit.mtime_ms < options_.incomplete_timeout_ms;
    }
    if (!whole_check) return DecodeFileFrom(unit, std::move(file), ctx);
  }
  ARROW_ASSIGN_OR_RAISE(auto bytes, ReadFile(unit.name, unit.bytes));
  if (options_.visible_while_written) {
    const bool grown = bytes->size() != unit.bytes;
    const bool young = WallClockMs() - unit.mtime_ms < options_.incomplete_timeout_ms;
    if (grown || (young && CheckExtent(*bytes, unit.name) == FileExtent::kTruncated)) {
      DecodedUnit waiting;
      waiting.complete = false;
      return waiting;
    }
  }
  return DecodeFile(unit, bytes, ctx);
}

Result<Position> FileStream::PositionAfter(const std::vector<Unit>& units) const {
  std::vector<TakenFile> files;
  for (const auto& u : units) {
    const int64_t size = u.spooled ? u.listed_bytes : u.parts > 0 ? u.file_bytes : u.bytes;
    files.push_back(
        {{u.name, size, u.mtime_ms}, u.part, u.parts, u.part_bytes, u.spooled ? u.file_bytes : 0});
  }
  auto time_of = [this](std::string_view p) { return TimeOf(p); };
  FileCursor next = cursor_.With(files, time_of);
  if (clean_check_ms_) next.MarkChecked(*clean_check_ms_, options_.late_check_margin_ms);
  next.Seal(listing_, options_.late_window_ms, time_of);
  Position p;
  p.offsets.push_back({"", static_cast<int64_t>(next.count())});
  p.state = next.ToJson();
  std::lock_guard lock(planned_mutex_);
  planned_.emplace(p.state, std::move(next));
  return p;
}

// A state's key is the file count after its batch, so batches planned from
// different counts can share a key: only one planned from an older count is
// certainly stale.
Result<PlannedBatch> FileStream::Planned(const Position& planned) const {
  ARROW_ASSIGN_OR_RAISE(auto cursor, FileCursor::FromJson(planned.state, "planned batch"));
  PlannedBatch out;
  if (cursor.base() > cursor_.count()) {
    out.base = PlannedBatch::Base::kAhead;
  } else if (cursor.base() == cursor_.count() && !cursor.batch().empty()) {
    out.base = PlannedBatch::Base::kHere;
    for (const auto& t : cursor.TakenBatch()) {
      Unit u{t.file.path, t.file.size, t.file.mtime_ms, cursor_.count() + out.units.size()};
      if (t.parts > 0) {
        u.part = t.part;
        u.parts = t.parts;
        u.part_bytes = t.part_bytes;
        u.file_bytes = t.content_bytes > 0 ? t.content_bytes : t.file.size;
        u.spooled = t.content_bytes > 0;
        u.listed_bytes = t.file.size;
        u.bytes = u.end() - u.begin();
      }
      out.units.push_back(std::move(u));
    }
  }
  return out;
}

void FileStream::Advance(const Position& position) {
  std::optional<FileCursor> planned;
  {
    std::lock_guard lock(planned_mutex_);
    if (planned_ && planned_->first == position.state) planned = std::move(planned_->second);
    planned_.reset();
  }
  if (planned) {
    cursor_ = std::move(*planned);
  } else {
    auto next = FileCursor::FromJson(position.state, "of stream " + id_);
    if (next.ok()) cursor_ = std::move(*next);
  }
  DropFinishedSpools();
  clean_check_ms_.reset();
}

std::vector<std::string> FileStream::TakeNotices() { return std::move(notices_); }

}  // namespace sluice::sources
