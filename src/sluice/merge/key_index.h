// KeyIndex: for every primary key of a merged table, where its live row is
// (data file, row index in the file); for deleted keys, their tombstone
// (sequence of the delete, when it was seen). The planner looks every event
// up here to apply the rules of DESIGN.md §4 without scanning the table.
//
// The index is a cache: it is rebuilt from the table (key columns and
// `_cdc_seq` of each data file, deletion vectors applied) plus the
// persisted tombstones (tombstone_store.h), so any process can take over a
// table (DESIGN.md §8). After each merge commit it is updated in place by
// Apply(); a commit conflict or any doubt means: rebuild.
//
// Memory is what bounds a large table, so a live key costs 12 bytes for an
// integer key (docs/merge.md "Key index"):
// - no sequence per key: each data file keeps an upper bound (its greatest
//   `_cdc_seq`). An event above the bound is newer than the row; otherwise
//   (late events, replays) the planner asks ExactSeqs, which reads the
//   row's `_cdc_seq` (seq_reader.h caches recent files, so that is rare I/O);
// - rows are numbered across files (file base + row), 32 bits a key;
// - a single integer key column is stored as its 64-bit value (mixed by a
//   bijection, so buckets are even and nothing is lost); other keys as a
//   64-bit hash plus their exact bytes in an arena (20 bytes + the key);
// - the keys sit in one sorted array (sorted_key_run.h) plus a small hash
//   delta of new keys merged in batches.
// Tombstones (deleted keys within their retention) are kept exactly, with
// their sequence, in a hash map.
//
// Not thread-safe; one pipeline owns one table's index.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/delta/compaction.h"
#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/key_encoder.h"
#include "sluice/merge/merge_plan.h"
#include "sluice/merge/seq_reader.h"
#include "sluice/merge/sorted_key_run.h"

namespace sluice::merge {

struct IndexBuildStats {
  int64_t files = 0;
  int64_t rows_read = 0;  ///< rows in the files, deleted ones included
  int64_t live_rows = 0;
  int64_t tombstones = 0;
  /// Live rows sharing a key with a newer live row (only a table written by
  /// something else can hold them; the newer one is indexed).
  int64_t duplicate_keys = 0;
  /// Rows whose key is null (likewise foreign; not indexed).
  int64_t null_keys = 0;
  double seconds = 0;
};

/// One key as tests and tools see it (Entries()).
struct IndexEntry {
  std::string key;
  std::string seq;  ///< tombstones only (live rows keep theirs in the file)
  bool live = false;
  std::string file;           ///< live: add.path
  int64_t row = 0;            ///< live: row index in the file
  int64_t deleted_at_ms = 0;  ///< tombstone
  bool operator==(const IndexEntry&) const = default;
};

class KeyIndex {
 public:
  /// What the index knows about one key.
  struct Found {
    enum class Kind { kAbsent, kLive, kTombstone } kind = Kind::kAbsent;
    /// Tombstone: the delete's sequence. Live: an upper bound of the row's
    /// sequence (`seq_exact` false) until the caller replaces it with the
    /// exact one (ExactSeqs). Valid until the index changes.
    std::string_view seq;
    bool seq_exact = false;
    const std::string* file = nullptr;  ///< live
    int64_t row = 0;                    ///< live
  };

  /// An empty index for the table at `location` (which may not exist yet;
  /// nullopt only for tests that never need a sequence read back).
  KeyIndex(KeyEncoder encoder, std::optional<io::TableLocation> location);

  /// Reads `snapshot`'s key columns and `_cdc_seq` (nothing else) from every
  /// data file, applying deletion vectors, then installs `tombstones` (which
  /// give way to a live row of their key).
  static Result<std::unique_ptr<KeyIndex>> Build(const delta::Snapshot& snapshot,
                                                 const io::TableLocation& location,
                                                 KeyEncoder encoder,
                                                 const std::vector<Tombstone>& tombstones,
                                                 IndexBuildStats* stats = nullptr);

  Found Find(std::string_view key, uint64_t hash) const;
  Found Find(std::string_view key) const { return Find(key, HashKey(key)); }

  /// The exact sequences of live rows (Found::file, Found::row), read from
  /// the files (cached). Mutates only the cache.
  Result<std::vector<std::string>> ExactSeqs(const std::vector<SeqReader::Request>& rows) const;

  /// Installs a commit: rows of rewritten files move, appended rows become
  /// the live rows of their keys, tombstones replace deleted keys. `plan`
  /// must be the plan `outcome` committed, made against this index.
  Status Apply(const MergePlan& plan, const MergeOutcome& outcome);

  /// Installs a compaction (delta/compaction.h): every live row in a file it
  /// removed moves to its place in the new file, found through the result's
  /// segments. `result` must have been read at this index's version and
  /// committed as the next version (no other commit in between); otherwise
  /// Invalid, nothing changes, and the caller rebuilds. A live row the
  /// segments do not hold (the index disagrees with the table) is also
  /// Invalid, after which the index is unusable: rebuild.
  Status ApplyCompaction(const delta::CompactionResult& result);

  /// Forgets tombstones deleted before `cutoff_ms` (the retention).
  void PurgeTombstones(int64_t cutoff_ms);

  /// A live row as a truncate sees it: its file (add.path), row in the file,
  /// and the file's sequence bound (Found::seq before ExactSeqs).
  struct LiveRow {
    const std::string* file = nullptr;
    int64_t row = 0;
    std::string_view seq_bound;
  };
  /// Every live row, in no particular order. Valid until the index changes.
  std::vector<LiveRow> LiveRows() const;

  /// The table's truncate watermark (MergePlan::truncate_seq, read from the
  /// table's configuration by Build): events with a seq <= it are ignored.
  /// Empty: no truncate. Apply refuses a plan carrying a truncate (Invalid):
  /// the rows it deleted are not followed key by key, so rebuild instead.
  const std::string& truncate_seq() const { return truncate_seq_; }

  int64_t live_count() const { return live_; }
  int64_t tombstone_count() const { return static_cast<int64_t>(tombstones_.size()); }
  /// Bytes held (keys, directory, delta, tombstones, files, sequence cache).
  int64_t MemoryBytes() const;
  const KeyEncoder& encoder() const { return encoder_; }
  /// The table version the index reflects (-1: no table).
  int64_t version() const { return version_; }
  void set_version(int64_t v) { version_ = v; }
  /// True if keys are held as their 64-bit value (one integer key column).
  bool narrow() const { return narrow_; }
  /// Rows read back from files to decide late events (ExactSeqs).
  int64_t seq_rows_read() const { return seqs_->rows_read(); }

  /// Every entry sorted by key (tests, tools).
  std::vector<IndexEntry> Entries() const;

  /// Tests: the row-number space (2^32 - 1 by default) and the delta size
  /// that triggers a merge into the sorted run, to reach both paths with
  /// small tables.
  void SetLimitsForTesting(uint32_t row_space, size_t delta_max);

 private:
  /// Integer keys: the mixed 64-bit value, row number. 12 bytes.
  struct NarrowSlot {
    uint64_t token;
    uint32_t row;
  } __attribute__((packed, aligned(4)));
  /// Other keys: hash, row number, offset of the key in the arena.
  struct WideSlot {
    uint64_t token;
    uint32_t row;
    uint32_t key_len;
    uint64_t key_at;
  };
  struct FileInfo {
    std::string path;
    uint32_t base = 0;  ///< first row number; valid if `numbered`
    uint32_t rows = 0;
    bool numbered = false;
    /// Upper bound of the live rows' `_cdc_seq`: the greatest of the file's live
    /// rows when built (key_index_build.cc), of the rows written when appended.
    std::string max_seq;
  };
  /// Hash lookups by string_view without building a std::string.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  struct TombstoneInfo {
    std::string seq;
    int64_t deleted_at_ms = 0;
  };

  /// False for a key that cannot belong to a narrow index (wrong shape).
  bool Fits(std::string_view key) const;
  uint64_t TokenOf(std::string_view key, uint64_t hash) const;
  std::string KeyOfNarrow(uint64_t token) const;
  /// The row number of `key`, or kRemovedRow.
  uint32_t LookupRow(std::string_view key, uint64_t token) const;
  /// Points `key` at `row`, inserting it if absent.
  void SetRow(std::string_view key, uint64_t token, uint32_t row);
  /// Removes `key` from the live keys; false if it was not live.
  bool EraseLive(std::string_view key, uint64_t token);
  /// How many keys wait in the delta before it is merged into the run.
  size_t DeltaMergeAt() const;
  /// Sorts `added` by token (a token given twice keeps its last row) and
  /// merges it into the narrow run; returns how many tokens went in.
  Result<size_t> MergeIntoNarrowRun(std::vector<NarrowSlot> added);
  /// Merges the delta into the sorted run when it is large enough.
  Status MaybeMergeDelta();
  /// Calls fn(uint32_t& row) for every live row number.
  template <typename Fn>
  void ForEachRow(Fn&& fn);

  /// Numbers a new file's rows; may renumber every file to make room.
  Result<uint32_t> AddFile(const std::string& path, int64_t rows, std::string max_seq);
  /// File id of `path`, or -1.
  int64_t FileIdOf(const std::string& path) const;
  /// The file and in-file row of a row number.
  std::pair<uint32_t, int64_t> Locate(uint32_t row) const;
  /// Makes room for `rows` new row numbers (renumbering if needed).
  Status Reserve(uint64_t rows);
  /// Renumbers the files that still hold live rows from 0.
  Status Renumber();

  KeyEncoder encoder_;
  bool narrow_ = false;
  char narrow_tag_ = 0;  ///< IntegerKeyTag of the one key column, or 0
  int64_t version_ = -1;
  int64_t live_ = 0;

  SortedKeyRun<NarrowSlot> narrow_run_;
  SortedKeyRun<WideSlot> wide_run_;
  std::string arena_;  // wide keys' bytes
  int64_t arena_garbage_ = 0;
  /// Tokens are already well mixed (splitmix64): hash them as they are.
  struct TokenHash {
    size_t operator()(uint64_t token) const { return static_cast<size_t>(token); }
  };
  /// New keys since the last merge -> row: by token (narrow) or by key (wide).
  std::unordered_map<uint64_t, uint32_t, TokenHash> narrow_delta_;
  StringMap<uint32_t> delta_;
  size_t delta_max_ = 0;

  StringMap<TombstoneInfo> tombstones_;

  std::vector<FileInfo> files_;
  std::unordered_map<std::string, uint32_t> file_ids_;
  /// (base, file id) of numbered files, ascending.
  std::vector<std::pair<uint32_t, uint32_t>> by_base_;
  uint64_t next_row_ = 0;
  uint32_t row_space_ = kRemovedRow;

  std::unique_ptr<SeqReader> seqs_;
  std::string truncate_seq_;
};

// Defined here: the store (key_index_store.cc) and Apply (key_index_apply.cc)
// both renumber rows through it.
template <typename Fn>
inline void KeyIndex::ForEachRow(Fn&& fn) {
  for (auto& [k, row] : narrow_delta_) row = fn(row);
  for (auto& [k, row] : delta_) row = fn(row);
  if (narrow_) {
    narrow_run_.ForEach([&](NarrowSlot& s) {
      if (s.row != kRemovedRow) s.row = fn(uint32_t{s.row});
    });
  } else {
    wide_run_.ForEach([&](WideSlot& s) {
      if (s.row != kRemovedRow) s.row = fn(s.row);
    });
  }
}

}  // namespace sluice::merge
