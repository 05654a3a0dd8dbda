#include "sluice/merge/key_index.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>

#include <algorithm>
#include <bit>
#include <chrono>

#include "sluice/core/arrow_util.h"
#include "sluice/delta/deletion_vector.h"
#include "sluice/delta/partition_value.h"
#include "sluice/delta/table_reader.h"
#include "sluice/merge/change_event.h"

namespace sluice::merge {

namespace {

// Calls `fn(keys, seqs, first_row, deleted rows sorted)` for each row group of `file`,
// having read only the key columns and `_cdc_seq`.
template <typename Fn>
Status ScanKeys(const delta::Snapshot& snapshot, const io::TableLocation& location,
                const delta::Add& file, const KeyEncoder& encoder, Fn&& fn) {
  ARROW_ASSIGN_OR_RAISE(std::string abs, delta::ResolveDataPath(location, file.path));
  ARROW_ASSIGN_OR_RAISE(auto input, location.fs->OpenInputFile(abs));
  ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
  std::vector<uint64_t> deleted;
  if (file.deletion_vector) {
    ARROW_ASSIGN_OR_RAISE(
        auto bitmap, delta::ReadDeletionVector(*location.fs, location.root, *file.deletion_vector));
    deleted = bitmap.ToSortedVector();
  }
  const auto& parts = snapshot.metadata().partition_columns;
  const auto& names = encoder.key_columns();
  const auto& types = encoder.key_types();
  // Leaf column indexes of the columns we need, by top-level name.
  std::vector<std::string> wanted(names.begin(), names.end());
  wanted.emplace_back(kSeqColumn);
  std::vector<int> leaves;
  for (const auto& field : reader->manifest().schema_fields) {
    if (field.is_leaf() &&
        std::find(wanted.begin(), wanted.end(), field.field->name()) != wanted.end()) {
      leaves.push_back(field.column_index);
    }
  }
  int64_t first_row = 0;
  for (int rg = 0; rg < reader->num_row_groups(); ++rg) {
    std::shared_ptr<arrow::Table> t;
    ARROW_RETURN_NOT_OK(reader->ReadRowGroup(rg, leaves, &t));
    const int64_t n = t->num_rows();
    std::vector<std::shared_ptr<arrow::Array>> key_columns;
    for (size_t k = 0; k < names.size(); ++k) {
      if (std::find(parts.begin(), parts.end(), names[k]) != parts.end()) {
        auto it = file.partition_values.find(names[k]);
        std::optional<std::string> value =
            it == file.partition_values.end() ? std::nullopt : it->second;
        ARROW_ASSIGN_OR_RAISE(auto scalar, delta::ParsePartitionValue(value, types[k]));
        ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*scalar, n));
        key_columns.push_back(std::move(array));
        continue;
      }
      auto column = t->GetColumnByName(names[k]);
      if (!column) {  // a key column added after this file was written
        ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(types[k], n));
        key_columns.push_back(std::move(nulls));
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto array, ColumnAs(column, types[k]));
      key_columns.push_back(std::move(array));
    }
    auto seq_column = t->GetColumnByName(std::string(kSeqColumn));
    if (!seq_column) {
      return Status::Invalid("data file ", abs, " has no ", kSeqColumn,
                             " column; it is not a merged table written by Sluice");
    }
    ARROW_ASSIGN_OR_RAISE(auto seqs, ColumnAs(seq_column, arrow::binary()));
    ARROW_ASSIGN_OR_RAISE(auto keys, encoder.EncodeColumns(key_columns, n));
    ARROW_RETURN_NOT_OK(
        fn(keys, static_cast<const arrow::BinaryArray&>(*seqs), first_row, deleted));
    first_row += n;
  }
  return Status::OK();
}

}  // namespace

KeyIndex::KeyIndex(KeyEncoder encoder) : encoder_(std::move(encoder)), slots_(16, 0) {}

Result<std::unique_ptr<KeyIndex>> KeyIndex::Build(const delta::Snapshot& snapshot,
                                                  const io::TableLocation& location,
                                                  KeyEncoder encoder,
                                                  const std::vector<Tombstone>& tombstones,
                                                  IndexBuildStats* stats) {
  auto start = std::chrono::steady_clock::now();
  auto index = std::make_unique<KeyIndex>(std::move(encoder));
  index->version_ = snapshot.version();
  IndexBuildStats local;
  IndexBuildStats& s = stats ? *stats : local;
  s = IndexBuildStats{};
  // Pre-size from the stats so the table never rehashes while building.
  int64_t total_rows = 0;
  if (auto records = snapshot.NumRecords()) {
    total_rows = *records;
    size_t want = std::bit_ceil(static_cast<size_t>(*records + tombstones.size()) * 4 / 3 + 16);
    index->slots_.assign(want, 0);
    index->entries_.reserve(static_cast<size_t>(*records) + tombstones.size());
  }
  for (const auto& file : snapshot.files()) {
    ++s.files;
    uint32_t file_id = index->FileId(file.path);
    ARROW_RETURN_NOT_OK(ScanKeys(
        snapshot, location, file, index->encoder_,
        [&](const EncodedKeys& keys, const arrow::BinaryArray& seqs, int64_t first_row,
            const std::vector<uint64_t>& deleted) -> Status {
          // Rows ascend, so the deleted rows are walked alongside.
          auto next_deleted =
              std::lower_bound(deleted.begin(), deleted.end(), static_cast<uint64_t>(first_row));
          for (int64_t i = 0; i < keys.size(); ++i) {
            ++s.rows_read;
            const int64_t row = first_row + i;
            if (next_deleted != deleted.end() && *next_deleted == static_cast<uint64_t>(row)) {
              ++next_deleted;
              continue;
            }
            if (!keys.valid(i)) {
              ++s.null_keys;
              continue;
            }
            std::string_view seq = seqs.IsNull(i) ? std::string_view() : seqs.GetView(i);
            int64_t at = index->Lookup(keys.key(i), keys.hash(i));
            if (at >= 0) {
              ++s.duplicate_keys;
              if (seq <= index->SeqOf(index->entries_[at])) continue;
            }
            ARROW_RETURN_NOT_OK(index->Upsert(keys.key(i), keys.hash(i), seq, file_id, row));
          }
          return Status::OK();
        }));
    // Size the arena once from the first file's bytes per key, so it does
    // not grow by doubling (which could leave half of it unused).
    if (s.files == 1 && total_rows > 0 && index->live_ > 0) {
      double per_key = static_cast<double>(index->arena_.size()) / index->live_;
      index->arena_.reserve(static_cast<size_t>(per_key * 1.05 * total_rows) + 4096);
    }
  }
  for (const auto& t : tombstones) {
    uint64_t h = HashKey(t.key);
    int64_t at = index->Lookup(t.key, h);
    // A live row written by an event at or after the delete is a re-insert.
    if (at >= 0 && index->SeqOf(index->entries_[at]) >= std::string_view(t.seq)) continue;
    if (at >= 0 && index->entries_[at].file != kTombstoneFile) {
      // A live row older than a tombstone: the delete's main commit never
      // landed, which the caller's batch_version filter rules out. Keep the
      // row (it is in the table) so a later event still replaces it.
      continue;
    }
    ARROW_RETURN_NOT_OK(index->Upsert(t.key, h, t.seq, kTombstoneFile, t.deleted_at_ms));
  }
  s.live_rows = index->live_count();
  s.tombstones = index->tombstone_count();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return index;
}

int64_t KeyIndex::Lookup(std::string_view key, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  const uint64_t tag = hash >> 32;
  for (size_t s = hash & mask;; s = (s + 1) & mask) {
    uint64_t slot = slots_[s];
    if (slot == 0) return -1;
    if ((slot >> 32) != tag) continue;
    const Entry& e = entries_[(slot & 0xffffffffULL) - 1];
    if (e.hash == hash && KeyOf(e) == key) return static_cast<int64_t>((slot & 0xffffffffULL) - 1);
  }
}

KeyIndex::Found KeyIndex::Find(std::string_view key, uint64_t hash) const {
  Found f;
  int64_t at = Lookup(key, hash);
  if (at < 0) return f;
  const Entry& e = entries_[at];
  f.seq = SeqOf(e);
  if (e.file == kTombstoneFile) {
    f.kind = Found::Kind::kTombstone;
    return f;
  }
  f.kind = Found::Kind::kLive;
  f.file = &files_[e.file];
  f.row = e.where;
  return f;
}

Status KeyIndex::Upsert(std::string_view key, uint64_t hash, std::string_view seq, uint32_t file,
                        int64_t where) {
  if (key.size() > UINT16_MAX || seq.size() > UINT16_MAX) {
    return Status::Invalid("key index: key of ", key.size(), " bytes or sequence of ", seq.size(),
                           " bytes is longer than 65535 bytes");
  }
  int64_t at = Lookup(key, hash);
  if (at < 0) {
    if (entries_.size() >= UINT32_MAX - 1) return Status::CapacityError("key index is full");
    if ((entries_.size() + 1) * 4 > slots_.size() * 3) Grow();
    Entry e{hash,
            arena_.size(),
            where,
            file,
            static_cast<uint16_t>(key.size()),
            static_cast<uint16_t>(seq.size())};
    arena_.append(key);
    arena_.append(seq);
    entries_.push_back(e);
    if (file != kTombstoneFile) ++live_;
    const size_t mask = slots_.size() - 1;
    size_t s = hash & mask;
    while (slots_[s] != 0) s = (s + 1) & mask;
    slots_[s] = ((hash >> 32) << 32) | entries_.size();
    return Status::OK();
  }
  Entry& e = entries_[at];
  if (e.file == kTombstoneFile && file != kTombstoneFile) ++live_;
  if (e.file != kTombstoneFile && file == kTombstoneFile) --live_;
  e.file = file;
  e.where = where;
  if (seq.size() <= e.seq_len) {  // fits where the old one was
    std::copy(seq.begin(), seq.end(), arena_.begin() + static_cast<int64_t>(e.arena + e.key_len));
    arena_garbage_ += e.seq_len - seq.size();
    e.seq_len = static_cast<uint16_t>(seq.size());
    return Status::OK();
  }
  std::string key_copy(key);  // `key` may point into the arena we grow
  arena_garbage_ += e.key_len + e.seq_len;
  e.arena = arena_.size();
  e.seq_len = static_cast<uint16_t>(seq.size());
  arena_.append(key_copy);
  arena_.append(seq);
  MaybeCompactArena();
  return Status::OK();
}

void KeyIndex::Grow() {
  std::vector<uint64_t> bigger(slots_.size() * 2, 0);
  const size_t mask = bigger.size() - 1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    size_t s = entries_[i].hash & mask;
    while (bigger[s] != 0) s = (s + 1) & mask;
    bigger[s] = ((entries_[i].hash >> 32) << 32) | (i + 1);
  }
  slots_ = std::move(bigger);
}

void KeyIndex::MaybeCompactArena() {
  // Sequences grow rarely (same source, same width), so garbage is rare;
  // rewrite once it is half the arena.
  if (arena_garbage_ * 2 < static_cast<int64_t>(arena_.size())) return;
  std::string fresh;
  fresh.reserve(arena_.size() - static_cast<size_t>(arena_garbage_));
  for (auto& e : entries_) {
    uint64_t at = fresh.size();
    fresh.append(arena_, e.arena, size_t{e.key_len} + e.seq_len);
    e.arena = at;
  }
  arena_ = std::move(fresh);
  arena_garbage_ = 0;
}

uint32_t KeyIndex::FileId(const std::string& path) {
  auto [it, inserted] = file_ids_.try_emplace(path, static_cast<uint32_t>(files_.size()));
  if (inserted) files_.push_back(path);
  return it->second;
}

void KeyIndex::PurgeTombstones(int64_t cutoff_ms) {
  std::vector<Entry> kept;
  std::string arena;
  kept.reserve(entries_.size());
  for (const auto& e : entries_) {
    if (e.file == kTombstoneFile && e.where < cutoff_ms) continue;
    Entry copy = e;
    copy.arena = arena.size();
    arena.append(arena_, e.arena, size_t{e.key_len} + e.seq_len);
    kept.push_back(copy);
  }
  if (kept.size() == entries_.size()) return;
  entries_ = std::move(kept);
  arena_ = std::move(arena);
  arena_garbage_ = 0;
  slots_.assign(std::bit_ceil(entries_.size() * 4 / 3 + 16), 0);
  const size_t mask = slots_.size() - 1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    size_t s = entries_[i].hash & mask;
    while (slots_[s] != 0) s = (s + 1) & mask;
    slots_[s] = ((entries_[i].hash >> 32) << 32) | (i + 1);
  }
}

Status KeyIndex::Apply(const MergePlan& plan, const MergeOutcome& outcome) {
  if (outcome.already_applied) return Status::OK();
  if (plan.base_version != version_) {
    return Status::Invalid("key index is at version ", version_, " but the plan was made at ",
                           plan.base_version, "; rebuild the index");
  }
  // 1. Rows of rewritten files move: new row = old row - rows deleted
  // before it, then split across the replacement files in order.
  if (!outcome.rewrites.empty()) {
    std::unordered_map<uint32_t, const FileRewrite*> moved;
    for (const auto& rw : outcome.rewrites) moved[FileId(rw.old_path)] = &rw;
    std::vector<std::vector<uint32_t>> replacement_ids(outcome.rewrites.size());
    for (auto& e : entries_) {
      if (e.file == kTombstoneFile) continue;
      auto it = moved.find(e.file);
      if (it == moved.end()) continue;
      const FileRewrite& rw = *it->second;
      auto row = static_cast<uint64_t>(e.where);
      auto before = std::lower_bound(rw.deleted.begin(), rw.deleted.end(), row);
      if (before != rw.deleted.end() && *before == row) continue;  // replaced below
      int64_t new_row = e.where - (before - rw.deleted.begin());
      for (const auto& f : rw.replacements) {
        if (new_row < f.rows) {
          e.file = FileId(f.path);
          e.where = new_row;
          break;
        }
        new_row -= f.rows;
      }
    }
  }
  // 2. Appended rows: row i of plan.appends is in the file covering it.
  size_t file_index = 0;
  int64_t in_file = 0;
  for (size_t i = 0; i < plan.append_keys.size(); ++i) {
    while (file_index < outcome.appended.size() && in_file >= outcome.appended[file_index].rows) {
      ++file_index;
      in_file = 0;
    }
    if (file_index >= outcome.appended.size()) {
      return Status::Invalid("key index: the commit wrote fewer rows than the plan appends");
    }
    uint32_t id = FileId(outcome.appended[file_index].path);
    const auto& key = plan.append_keys[i];
    ARROW_RETURN_NOT_OK(Upsert(key, HashKey(key), plan.append_seqs[i], id, in_file));
    ++in_file;
  }
  // 3. Tombstones.
  for (const auto& t : plan.tombstones) {
    ARROW_RETURN_NOT_OK(Upsert(t.key, HashKey(t.key), t.seq, kTombstoneFile, t.deleted_at_ms));
  }
  version_ = outcome.version;
  return Status::OK();
}

Status KeyIndex::ApplyCompaction(const delta::CompactionResult& result) {
  if (!result.committed) return Status::OK();
  if (result.read_version != version_ || result.version != version_ + 1) {
    return Status::Invalid("key index is at version ", version_, " but the compaction read ",
                           result.read_version, " and committed ", result.version,
                           "; rebuild the index");
  }
  // Per old file, its segments in old-row order (a file's survivors are
  // written in order, possibly split across consecutive new files).
  struct Piece {
    const std::vector<uint64_t>* rows;
    uint32_t new_file;
    int64_t first_new_row;
  };
  std::unordered_map<uint32_t, std::vector<Piece>> pieces;
  for (const auto& path : result.removed) pieces[FileId(path)];
  for (const auto& file : result.files) {
    const uint32_t id = FileId(file.path);
    int64_t at = 0;
    for (const auto& seg : file.segments) {
      if (!seg.rows.empty()) pieces[FileId(seg.old_path)].push_back({&seg.rows, id, at});
      at += static_cast<int64_t>(seg.rows.size());
    }
  }
  for (auto& [id, list] : pieces) {
    std::sort(list.begin(), list.end(),
              [](const Piece& a, const Piece& b) { return a.rows->front() < b.rows->front(); });
  }
  for (auto& e : entries_) {
    if (e.file == kTombstoneFile) continue;
    auto it = pieces.find(e.file);
    if (it == pieces.end()) continue;
    const auto row = static_cast<uint64_t>(e.where);
    const auto& list = it->second;
    // The last piece starting at or before the row.
    auto piece = std::upper_bound(list.begin(), list.end(), row,
                                  [](uint64_t r, const Piece& p) { return r < p.rows->front(); });
    bool found = false;
    if (piece != list.begin()) {
      --piece;
      auto pos = std::lower_bound(piece->rows->begin(), piece->rows->end(), row);
      if (pos != piece->rows->end() && *pos == row) {
        e.file = piece->new_file;
        e.where = piece->first_new_row + (pos - piece->rows->begin());
        found = true;
      }
    }
    if (!found) {
      return Status::Invalid("key index: live row ", row, " of ", files_[it->first],
                             " is not among the rows the compaction kept; rebuild the index");
    }
  }
  version_ = result.version;
  return Status::OK();
}

int64_t KeyIndex::MemoryBytes() const {
  int64_t files = 0;
  for (const auto& f : files_) files += static_cast<int64_t>(f.size()) * 2 + 64;
  return static_cast<int64_t>(entries_.capacity() * sizeof(Entry) +
                              slots_.capacity() * sizeof(uint64_t) + arena_.capacity()) +
         files;
}

std::vector<IndexEntry> KeyIndex::Entries() const {
  std::vector<IndexEntry> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    IndexEntry x;
    x.key = std::string(KeyOf(e));
    x.seq = std::string(SeqOf(e));
    x.live = e.file != kTombstoneFile;
    if (x.live) {
      x.file = files_[e.file];
      x.row = e.where;
    } else {
      x.deleted_at_ms = e.where;
    }
    out.push_back(std::move(x));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

}  // namespace sluice::merge
