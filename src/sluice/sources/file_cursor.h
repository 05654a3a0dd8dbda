// FileCursor: which files of one file stream (a table folder) have been
// ingested, kept bounded for streams that run for months.
//
// Files are ingested in path order, and paths sort in time order (every file
// source lays its files out by time), but a file can land late in an older
// folder after newer ones were ingested. So the cursor is a set of ingested
// paths, plus a *watermark* that seals the old part of the stream:
//
//   count          files ingested so far (the txn version of the stream)
//   watermark      every path <= watermark is sealed: it was ingested, or it
//                  is found by a late-file check (below); sealed paths are
//                  dropped from the set, so the set holds only the paths of
//                  the last `late window` of stream time, plus recent ones
//   high_water_ms  the newest path time ingested (the stream's own clock:
//                  sealing follows the data, so a backfill of ten days of
//                  folders seals as it goes)
//   checked_ms     late-file guarantee: every file in the sealed range whose
//                  modification time is before checked_ms was ingested
//
// Sealing: after a batch, the watermark moves to the greatest path P such
// that P's time is at least `late window` older than high_water_ms and every
// listed path <= P is ingested. A sealed path stays in the set while its
// modification time is >= checked_ms (so a late-file check never takes it
// twice); a late-file check lists the sealed range and takes every file not
// in the set whose modification time is >= checked_ms; once a check finds
// nothing new, checked_ms moves to its listing time minus a safety margin.
// Size bound: the files of one late window of stream time plus the files
// that landed within one late-check interval (+ margin) of wall time.
//
// Parts: a large file is ingested in parts (byte ranges, source.h), one
// unit each, possibly over several batches. Until its last part is, it is
// in `partial` (parts done, the part layout it was planned with, its size
// and mtime), not in the set: it is still new, and it blocks sealing. The
// layout recorded there is the one its remaining parts use, whatever part
// size a later process is configured with.
//
// A cursor also records the batch that made it (`base` = count before it,
// `batch` = its paths), so a process that finds a stored cursor ahead of the
// committed one can tell whether it extends it (resume that batch) or was
// planned from an older state (stale, never to be committed).
//
// Serialized form (JSON): {"version":2,"count":N,"base":B,"batch":[...],
// "watermark":"...","high_water_ms":..,"checked_ms":..,
// "files":{"<dir>":["<name>",...]},"meta":{"<dir>":[[size,mtime_ms],...]}},
// plus, when parts are involved, "batch_parts":[[part,parts,part_bytes
// (,content_bytes)],...] (one per batch entry; parts 0: a whole file) and
// "partial":{"<path>":[done,parts,part_bytes,size,mtime_ms(,content_bytes)]}
// (content_bytes only for a spooled gzip file).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources {

/// A file of a stream, as listed.
struct ListedFile {
  std::string path;  ///< relative to the stream's folder, '/'-separated
  int64_t size = 0;
  int64_t mtime_ms = 0;
};

/// A file, or one part of it, that a batch takes.
struct TakenFile {
  ListedFile file;
  int32_t part = 0;
  int32_t parts = 0;  ///< 0: the whole file
  int64_t part_bytes = 0;
  int64_t content_bytes = 0;  ///< parts of a spooled gzip file's content (else 0)
};

class FileCursor {
 public:
  struct Entry {
    int64_t size = 0;
    int64_t mtime_ms = 0;
  };
  /// A file whose first `done` parts (of `parts`) are ingested.
  struct Partial {
    int32_t done = 0;
    int32_t parts = 0;
    int64_t part_bytes = 0;
    int64_t size = 0;
    int64_t mtime_ms = 0;
    /// The parts are ranges of the file's decompressed content (this many
    /// bytes), spooled (gzip_spool.h); 0: of the file itself.
    int64_t content_bytes = 0;
    bool operator==(const Partial&) const = default;
  };

  /// True when `path` is in the set of ingested files.
  bool Contains(const std::string& path) const;
  /// The recorded size and mtime of an ingested path in the set.
  std::optional<Entry> Find(const std::string& path) const;
  /// The parts done of a file ingested in parts, until its last part is.
  std::optional<Partial> FindPartial(const std::string& path) const;
  /// True when `path` is at or below the watermark.
  bool Sealed(std::string_view path) const;
  /// True when `file` is to be ingested: not in the set, and either not
  /// sealed or (sealed and) modified at or after checked_ms.
  bool IsNew(const ListedFile& file) const;

  /// The cursor after ingesting `batch` (in order): count grows by its size,
  /// the batch is recorded, high_water_ms follows `time_of`.
  /// A part adds its file to the set only when it is the last one.
  FileCursor With(const std::vector<TakenFile>& batch,
                  const std::function<std::optional<int64_t>(std::string_view)>& time_of) const;
  /// The same, for whole files.
  FileCursor With(const std::vector<ListedFile>& batch,
                  const std::function<std::optional<int64_t>(std::string_view)>& time_of) const;

  /// Moves the watermark as far as `listing` (every file currently listed in
  /// the unsealed range, sorted by path) allows: the greatest path whose
  /// time is <= high_water_ms - window_ms and below which every listed file
  /// is ingested. Drops sealed paths modified before checked_ms.
  void Seal(const std::vector<ListedFile>& listing, int64_t window_ms,
            const std::function<std::optional<int64_t>(std::string_view)>& time_of);
  /// A late-file check that found nothing new finished listing at
  /// `listed_at_ms`: sealed files older than that minus `margin_ms` are
  /// covered from now on.
  void MarkChecked(int64_t listed_at_ms, int64_t margin_ms);

  uint64_t count() const { return count_; }
  uint64_t base() const { return base_; }
  const std::vector<std::string>& batch() const { return batch_; }
  /// The batch as taken: its paths with their parts.
  std::vector<TakenFile> TakenBatch() const;
  const std::string& watermark() const { return watermark_; }
  int64_t checked_ms() const { return checked_ms_; }
  int64_t high_water_ms() const { return high_water_ms_; }
  /// Paths in the set.
  size_t size() const;

  std::string ToJson() const;
  /// Reads version 2, and version 1 (the unbounded set of earlier releases).
  static Result<FileCursor> FromJson(std::string_view text, const std::string& where);

 private:
  void Insert(const std::string& path, Entry entry);

  std::map<std::string, std::map<std::string, Entry>> files_;  // dir -> name -> entry
  uint64_t count_ = 0;
  uint64_t base_ = 0;
  std::vector<std::string> batch_;
  struct PartOf {
    int32_t part = 0;
    int32_t parts = 0;
    int64_t part_bytes = 0;
    int64_t content_bytes = 0;
  };
  std::vector<PartOf> batch_parts_;  // one per batch_ entry
  std::map<std::string, Partial> partial_;
  std::string watermark_;
  int64_t high_water_ms_ = 0;
  int64_t checked_ms_ = 0;
};

}  // namespace sluice::sources
