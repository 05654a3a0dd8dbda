// KeyIndex: for every primary key of a merged table, where its live row is
// (data file, row index in the file) and the sequence of the event that wrote
// it; for deleted keys, their tombstone (sequence of the delete, when it was
// seen). The planner looks every event up here to apply the rules of
// DESIGN.md §4 without reading the table.
//
// The index is a cache: it is rebuilt from the table (key columns and
// `_cdc_seq` of each data file, deletion vectors applied) plus the
// persisted tombstones (tombstone_store.h), so any process can take over a
// table (DESIGN.md §8). After each merge commit it is updated in place by
// Apply(); a commit conflict or any doubt means: rebuild.
//
// Memory: one 32-byte entry per key in a dense vector, an 8-byte slot per
// bucket of an open-addressing table (load <= 0.75; the slot keeps 32 hash
// bits so most probes never touch the entry), and the key and seq bytes in
// one arena. No allocation per key. About 32 + 8/0.6 + |key| + |seq| bytes
// per key: ~75 bytes for an int64 key and a 24-byte seq.
//
// Not thread-safe; one pipeline owns one table's index.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/delta/compaction.h"
#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/key_encoder.h"
#include "sluice/merge/merge_plan.h"

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
  std::string seq;
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
    std::string_view seq;               ///< valid until the index changes
    const std::string* file = nullptr;  ///< live
    int64_t row = 0;                    ///< live
  };

  /// An empty index (a table that does not exist yet).
  explicit KeyIndex(KeyEncoder encoder);

  /// Reads `snapshot`'s key columns and `_cdc_seq` (nothing else) from every
  /// data file, applying deletion vectors, then installs `tombstones` (which
  /// lose to a live row with a greater or equal seq).
  static Result<std::unique_ptr<KeyIndex>> Build(const delta::Snapshot& snapshot,
                                                 const io::TableLocation& location,
                                                 KeyEncoder encoder,
                                                 const std::vector<Tombstone>& tombstones,
                                                 IndexBuildStats* stats = nullptr);

  Found Find(std::string_view key, uint64_t hash) const;
  Found Find(std::string_view key) const { return Find(key, HashKey(key)); }

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

  int64_t live_count() const { return live_; }
  int64_t tombstone_count() const { return static_cast<int64_t>(entries_.size()) - live_; }
  /// Bytes held (entries, slots, arena, file names).
  int64_t MemoryBytes() const;
  const KeyEncoder& encoder() const { return encoder_; }
  /// The table version the index reflects (-1: no table).
  int64_t version() const { return version_; }
  void set_version(int64_t v) { version_ = v; }

  /// Every entry sorted by key (tests, tools).
  std::vector<IndexEntry> Entries() const;

 private:
  static constexpr uint32_t kTombstoneFile = UINT32_MAX;
  struct Entry {
    uint64_t hash;
    uint64_t arena;  ///< offset of key bytes; seq bytes follow
    int64_t where;   ///< live: row in file; tombstone: deleted_at_ms
    uint32_t file;   ///< file id, or kTombstoneFile
    uint16_t key_len;
    uint16_t seq_len;
  };
  static_assert(sizeof(Entry) == 32);

  /// Index of the entry for `key`, or -1.
  int64_t Lookup(std::string_view key, uint64_t hash) const;
  /// Sets `key` to (seq, file, where), inserting it if absent.
  Status Upsert(std::string_view key, uint64_t hash, std::string_view seq, uint32_t file,
                int64_t where);
  uint32_t FileId(const std::string& path);
  void Grow();
  void MaybeCompactArena();
  std::string_view KeyOf(const Entry& e) const { return {arena_.data() + e.arena, e.key_len}; }
  std::string_view SeqOf(const Entry& e) const {
    return {arena_.data() + e.arena + e.key_len, e.seq_len};
  }

  KeyEncoder encoder_;
  std::vector<Entry> entries_;
  /// 0 = empty; else (hash >> 32) << 32 | (entry index + 1).
  std::vector<uint64_t> slots_;
  std::string arena_;
  int64_t arena_garbage_ = 0;
  int64_t live_ = 0;
  std::vector<std::string> files_;
  std::unordered_map<std::string, uint32_t> file_ids_;
  int64_t version_ = -1;
};

}  // namespace sluice::merge
