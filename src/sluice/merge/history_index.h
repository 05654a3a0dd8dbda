// HistoryIndex: for every primary key of a history table, its versions
// (start / last / end sequence, data file, row in the file), sorted by start
// sequence. The history planner looks a batch's keys up here to know which
// versions an event can touch and where their rows are, so a batch costs
// what its keys' chains cost, never a scan of the table.
//
// It also holds, per key, the orphan deletes (deletes that found no open
// version, history_orphans.h) so that a late older upsert ends at them.
//
// A cache like KeyIndex: Build() reads only the key columns and the three
// sequence columns of every data file (deletion vectors applied), and the
// orphan side table; Apply() follows a commit; after a conflict, a restart
// or any error, rebuild.
//
// Memory: per key, one unordered_map node (~80 bytes + the key bytes when
// longer than 15); per version, 112 bytes (three std::string + file id +
// row), plus each sequence longer than 15 bytes on the heap. The merged
// table's index (key_index.h) got down to 12 bytes a key by keeping no
// sequence per key and numbering rows across files; the same would apply
// here (history tables are optional and off by default).
// Per orphan delete, 48 bytes (seq + two int64) + its seq past 15 bytes,
// and a second map node (~80 bytes + key) per key that has any.
//
// Not thread-safe; one pipeline owns one history table's index.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/history_plan.h"
#include "sluice/merge/key_encoder.h"
#include "sluice/merge/merge_plan.h"

namespace sluice::merge {

/// One version as tests and tools see it (Entries()).
struct HistoryIndexEntry {
  std::string key;
  HistoryVersion version;
  std::string file;
  int64_t row = 0;
  bool operator==(const HistoryIndexEntry&) const = default;
};

struct HistoryIndexStats {
  int64_t files = 0;
  int64_t rows_read = 0;  ///< deleted rows included
  int64_t versions = 0;
  int64_t null_keys = 0;  ///< rows with a null key (not written by Sluice; skipped)
  int64_t orphans = 0;    ///< orphan deletes loaded
  double seconds = 0;
};

class HistoryIndex {
 public:
  struct Version {
    HistoryVersion seqs;
    uint32_t file = 0;
    int64_t row = 0;
  };

  /// An orphan delete as the planner needs it.
  struct Orphan {
    std::string seq;
    int64_t ts_us = 0;  ///< the delete's _cdc_ts
    int64_t recorded_at_ms = 0;
  };

  /// An empty index (a table that does not exist yet).
  explicit HistoryIndex(KeyEncoder encoder);

  /// Reads `snapshot`'s key columns, _cdc_seq, _cdc_last_seq and
  /// _cdc_end_seq from every data file, deletion vectors applied, and the
  /// orphan deletes recorded at or after `orphan_cutoff_ms` by batches the
  /// table holds (batch_version <= the highest txn version of `snapshot`: a
  /// history table has one writer).
  static Result<std::unique_ptr<HistoryIndex>> Build(const delta::Snapshot& snapshot,
                                                     const io::TableLocation& location,
                                                     KeyEncoder encoder,
                                                     HistoryIndexStats* stats = nullptr,
                                                     int64_t orphan_cutoff_ms = INT64_MIN);

  /// The versions of `key` sorted by start sequence; null if the key has none.
  /// Valid until the index changes.
  const std::vector<Version>* Find(std::string_view key) const;
  /// The orphan deletes of `key` sorted by seq; null if it has none. A seq
  /// may also be a version's end (consumed; history_orphans.h).
  const std::vector<Orphan>* FindOrphans(std::string_view key) const;
  /// Forgets orphan deletes recorded before `cutoff_ms` (the retention).
  void PurgeOrphans(int64_t cutoff_ms);
  /// The truncates the table holds, sorted by seq (read from its
  /// configuration by Build; replaced by a plan's `truncates` in Apply).
  const std::vector<HistoryTruncate>& truncates() const { return truncates_; }
  /// Calls fn(key, chain) for every key with versions (a truncate reaches
  /// keys its batch does not name).
  template <typename Fn>
  void ForEachChain(Fn&& fn) const {
    for (const auto& [key, chain] : chains_) fn(std::string_view(key), chain);
  }
  /// add.path of a file id.
  const std::string& file(uint32_t id) const { return files_[id]; }

  /// Installs a commit of `plan` (made against this index): rows of
  /// rewritten files move, deleted rows leave their chains, appended rows
  /// join them, plan.orphans join the orphan deletes. Nothing happens when
  /// outcome.already_applied.
  Status Apply(const HistoryPlan& plan, const MergeOutcome& outcome);

  int64_t key_count() const { return static_cast<int64_t>(chains_.size()); }
  int64_t version_count() const { return versions_; }
  int64_t orphan_count() const { return orphans_count_; }
  /// Approximate bytes held (see the header comment).
  int64_t MemoryBytes() const;
  const KeyEncoder& encoder() const { return encoder_; }
  /// The table version the index reflects (-1: no table).
  int64_t version() const { return version_; }
  void set_version(int64_t v) { version_ = v; }

  /// Every version sorted by key, then start sequence (tests, tools).
  std::vector<HistoryIndexEntry> Entries() const;
  /// Every orphan delete sorted by key, then seq (batch_version 0; tests, tools).
  std::vector<HistoryOrphan> Orphans() const;

 private:
  uint32_t FileId(const std::string& path);
  static void SortChain(std::vector<Version>& chain);
  void AddOrphan(const HistoryOrphan& orphan);

  KeyEncoder encoder_;
  std::unordered_map<std::string, std::vector<Version>> chains_;
  std::vector<std::string> files_;
  std::unordered_map<std::string, uint32_t> file_ids_;
  std::unordered_map<std::string, std::vector<Orphan>> orphans_;
  int64_t versions_ = 0;
  int64_t orphans_count_ = 0;
  int64_t version_ = -1;
  std::vector<HistoryTruncate> truncates_;
};

}  // namespace sluice::merge
