// FileStream: the base of every file source's stream (Datastream now, DMS
// next): one table folder whose files are laid out by time, ingested in path
// order, exactly once, with a bounded cursor (file_cursor.h).
//
// What the base does, so that each file source only says what its files are:
//   listing     only the unsealed part of the folder on every poll (subtrees
//               entirely at or below the watermark are not listed; on an
//               object store one listing that starts after the watermark,
//               using the store's mtime and size), and the
//               whole folder on a late-file check (at the first poll, then
//               every late_check_interval_ms) so a file that lands in a
//               sealed folder is still ingested, with a notice;
//   readiness   a file is taken only when complete: on a filesystem where a
//               file can be seen while it is written (local disk, mounts),
//               its modification time must be settle_ms old, and its format's
//               own check (IsComplete) must pass; a file that still fails it
//               after incomplete_timeout_ms unchanged is read as it is, its
//               damage going to dead letters. Object stores list only
//               finalized objects, so neither wait applies there;
//   changes     a file whose size or modification time changed after it was
//               ingested is reported (TakeNotices), never silently re-read;
//   positions   one txn offset (version = files ingested) and the cursor as
//               the position's state.
#pragma once

#include <arrow/filesystem/type_fwd.h>
#include <arrow/io/type_fwd.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sluice/io/tree_lister.h"
#include "sluice/sources/file_cursor.h"
#include "sluice/sources/gzip_spool.h"
#include "sluice/sources/source.h"
#include "sluice/sources/source_registry.h"

namespace sluice::sources {

struct FileStreamOptions {
  std::shared_ptr<arrow::fs::FileSystem> fs;
  /// The source root in `fs`; the stream's folder is `root/<id>`.
  std::string root;
  /// Object stores: lists the stream's folder after the cursor's watermark
  /// in one listing (null: `fs` is walked folder by folder).
  std::shared_ptr<io::TreeLister> lister;
  /// Files may be visible while still being written (local disk).
  bool visible_while_written = true;
  int64_t settle_ms = 2'000;
  int64_t incomplete_timeout_ms = 30'000;
  /// A file larger than this is ingested in parts (when its format can be
  /// split): a batch then holds at most a part of it. 0: never split.
  int64_t part_bytes = int64_t{64} << 20;
  /// Where a large gzip file's content is decompressed to be ingested in
  /// parts (gzip_spool.h); empty: `<temp dir>/sluice-spool`.
  std::string spool_dir;
  /// Stream time after which a folder is sealed into the watermark.
  int64_t late_window_ms = 24LL * 3600 * 1000;
  int64_t late_check_interval_ms = 10LL * 60 * 1000;
  /// Allowance for clocks and in-flight writes when a late-file check
  /// moves the cursor's checked time (sealed files modified within it of a
  /// check stay in the set until a later check).
  int64_t late_check_margin_ms = 5LL * 60 * 1000;
};

/// The file-stream settings of a file source, from its options: a local
/// filesystem at `options->path` when the caller opened none (fills
/// `options->fs` and `options->fs_root`), the lister, the settle and
/// late-file settings, and a late-check margin for the store's clock (local
/// disk stamps files on our clock: seconds; an object store's may differ:
/// minutes).
FileStreamOptions FileStreamOptionsFor(SourceOptions* options);

/// The names of the visible folders directly under `dir` (relative to the
/// source root; "" for the root), sorted; hidden ones (`_x`, `.x`) skipped.
/// Lists through the lister on object stores (one delimited listing, no
/// marker objects needed), else through the filesystem. A missing `dir`
/// lists as empty.
Result<std::vector<std::string>> ListSourceFolders(const FileStreamOptions& options,
                                                   const std::string& dir);

/// How a file's completeness looks to its format.
enum class FileExtent { kWhole, kTruncated, kDamaged };

class FileStream : public Stream {
 public:
  FileStream(std::string id, FileStreamOptions options);
  ~FileStream() override;

  const std::string& id() const override { return id_; }
  Result<std::optional<SourceTable>> Identify() override;
  Status Restore(const std::optional<Position>& committed) override;
  Result<std::vector<Unit>> Pending(size_t max_units) override;
  /// Lists the folder (and, when the late-file check is due, the sealed
  /// range) for the next Pending().
  void Prefetch() override;
  bool waiting() const override { return waiting_; }
  /// The files the last listing found uncovered and Pending() did not take.
  std::optional<int64_t> pending_count() const override { return pending_count_; }
  Result<DecodedUnit> Decode(const Unit& unit, const DecodeContext& ctx) const override;
  Result<Position> PositionAfter(const std::vector<Unit>& units) const override;
  Result<PlannedBatch> Planned(const Position& planned) const override;
  void Advance(const Position& position) override;
  std::vector<std::string> TakeNotices() override;

  const FileCursor& cursor() const { return cursor_; }

 protected:
  /// A data file of this source (by name; hidden files are never listed).
  virtual bool IsDataFile(std::string_view name) const = 0;
  /// Whether the file is a gzip stream (by name, as the source names its
  /// compressed files): such a file is split only as its spooled content.
  virtual bool IsGzipFile(std::string_view path) const = 0;
  /// The time a path stands for (its time folders or name), UTC ms; nullopt
  /// when the layout does not say (such paths are never sealed).
  virtual std::optional<int64_t> TimeOfPath(std::string_view path) const = 0;
  /// The format's own completeness check of a file's bytes.
  virtual FileExtent CheckExtent(const arrow::Buffer& bytes, std::string_view path) const = 0;
  /// Files are handed out by rank, then path (default: all rank 0, so path
  /// order). Only the order of commits changes, never which files are
  /// covered: DMS hands out full-load files before CDC files, so that a
  /// partial image of a CDC row finds the full-load row it updates.
  virtual int UnitRank(std::string_view /*path*/) const { return 0; }
  /// The table a (complete) file belongs to, when it tells.
  virtual Result<std::optional<SourceTable>> IdentifyFile(
      const Unit& unit, const std::shared_ptr<arrow::Buffer>& bytes) = 0;
  /// Decodes a complete file (or one read as it is after the timeout).
  virtual Result<DecodedUnit> DecodeFile(const Unit& unit,
                                         const std::shared_ptr<arrow::Buffer>& bytes,
                                         const DecodeContext& ctx) const = 0;

  /// Whether this file can be decoded from ranged reads (DecodeFileFrom)
  /// instead of its whole bytes (default: no). Decode then opens the file
  /// and hands it over without reading it, so a large file never sits whole
  /// in memory; a file that may still be being written (local disk, younger
  /// than incomplete_timeout_ms) still gets the whole-bytes check first.
  virtual bool DecodesFromRanges(const Unit& /*unit*/) const { return false; }
  /// Decodes a complete file through `file` (ranged reads; on an object
  /// store each is a ranged GET). Called only when DecodesFromRanges(unit).
  virtual Result<DecodedUnit> DecodeFileFrom(const Unit& unit,
                                             std::shared_ptr<arrow::io::RandomAccessFile> file,
                                             const DecodeContext& ctx) const;

  /// Whether a file larger than the part size is split into parts (default:
  /// no). Only formats whose records can be found from any byte offset say
  /// yes; each part is then decoded by DecodeFilePart.
  virtual bool SplitsIntoParts(const Unit& /*unit*/) const { return false; }
  /// Decodes one part of a complete file through `file` (ranged reads): the
  /// records that *start* in [unit.begin(), unit.end()), so that the parts of
  /// a file hold each of its records exactly once, whatever the part size.
  /// Messages and dead letters name the part (Where(unit.Label())); byte
  /// offsets in them are the file's, row numbers may count from the part's
  /// first record. Rows get _cdc_seq from (unit.ordinal, row in the part),
  /// as for a whole file. Called only when SplitsIntoParts(unit).
  virtual Result<DecodedUnit> DecodeFilePart(const Unit& unit,
                                             std::shared_ptr<arrow::io::RandomAccessFile> file,
                                             const DecodeContext& ctx) const;

  /// The table a file to be split belongs to, from its first part (default:
  /// reads the file whole for IdentifyFile; a format that splits overrides
  /// it so that identifying never reads a large file whole).
  virtual Result<std::optional<SourceTable>> IdentifyFilePart(
      const Unit& first_part, std::shared_ptr<arrow::io::RandomAccessFile> file);

  /// The file opened for ranged reads; `size` (from the listing) spares an
  /// object store the HEAD request.
  Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenFile(
      const std::string& path, std::optional<int64_t> size = std::nullopt) const;
  /// The file's bytes (OpenFile, then one read of the whole file).
  Result<std::shared_ptr<arrow::Buffer>> ReadFile(const std::string& path,
                                                  std::optional<int64_t> size = std::nullopt) const;
  /// "<id>/<path>": how messages and dead letters name a file.
  std::string Where(const std::string& path) const { return id_ + "/" + path; }

  std::optional<SourceTable> identity_;

 private:
  /// Files under the folder; sealed subtrees skipped unless `everything`.
  Result<std::vector<ListedFile>> List(bool everything) const;
  Status Walk(const std::string& dir, bool everything, std::vector<ListedFile>& out) const;
  Status ListObjects(bool everything, std::vector<ListedFile>& out) const;
  bool Ready(const ListedFile& file, int64_t now_ms) const;
  /// The first part of `file` when it is to be split (nullopt: taken whole).
  /// A large gzip file is spooled here (once: the outcome is remembered).
  std::optional<Unit> FirstPartOf(const ListedFile& file);
  /// Whether `file` is a gzip file large enough to be spooled and split.
  bool SpoolCandidate(const ListedFile& file) const;
  /// The content size of a gzip file, spooled (nullopt: it could not be,
  /// e.g. a damaged stream; it is then read whole).
  std::optional<int64_t> Spool(const std::string& path, int64_t size, int64_t mtime_ms);
  std::string SpoolKey(const std::string& path, int64_t size, int64_t mtime_ms) const;
  /// Removes the spools of files whose last part the cursor's batch holds.
  void DropFinishedSpools();
  /// The spooled content of a spooled part's file (spooled again if gone).
  Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenSpool(const Unit& unit) const;
  bool LateCheckDue(int64_t now_ms) const {
    return check_due_ || now_ms - last_check_ms_ >= options_.late_check_interval_ms;
  }
  std::optional<int64_t> TimeOf(std::string_view path) const { return TimeOfPath(path); }

  std::string id_;
  FileStreamOptions options_;
  FileCursor cursor_;
  /// The cursor PositionAfter built last, with its JSON: Advance to that
  /// position (the batch just planned has landed) takes it instead of parsing
  /// the JSON back, which costs O(files in the cursor) per batch. Only an
  /// identical text is taken (FromJson(ToJson(c)) is c).
  mutable std::mutex planned_mutex_;
  mutable std::optional<std::pair<std::string, FileCursor>> planned_;
  /// The last listing of the unsealed range (for sealing).
  std::vector<ListedFile> listing_;
  bool waiting_ = false;
  std::optional<int64_t> pending_count_;
  bool check_due_ = true;
  int64_t last_check_ms_ = 0;
  /// Listing time of a late-file check that found nothing new.
  std::optional<int64_t> clean_check_ms_;
  /// What Prefetch() listed for the next Pending(): the unsealed range, the
  /// whole folder when the late-file check was due, and when.
  std::optional<std::vector<ListedFile>> prefetched_;
  std::optional<std::vector<ListedFile>> prefetched_all_;
  int64_t prefetched_at_ms_ = 0;
  std::unique_ptr<GzipSpool> spool_;
  std::map<std::string, int64_t> spooled_;  // SpoolKey -> content bytes (-1: not spoolable)
  // The file Identify spooled to read its first part: kept for its parts
  // unless the cursor Restore then finds says it is ingested already.
  std::optional<ListedFile> identified_spool_;
  std::set<std::string> reported_;
  std::vector<std::string> notices_;
};

}  // namespace sluice::sources
