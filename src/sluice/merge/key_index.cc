#include "sluice/merge/key_index.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <span>

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

namespace {

// A bijection on 64-bit values (splitmix64's finaliser), so that integer
// keys spread evenly over the directory buckets and can be recovered.
constexpr uint64_t kMixA = 0xbf58476d1ce4e5b9ULL;
constexpr uint64_t kMixB = 0x94d049bb133111ebULL;

constexpr uint64_t InverseOdd(uint64_t a) {
  uint64_t x = a;  // Newton's iteration doubles the correct bits each step
  for (int i = 0; i < 6; ++i) x *= 2 - a * x;
  return x;
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= kMixA;
  x ^= x >> 27;
  x *= kMixB;
  x ^= x >> 31;
  return x;
}

uint64_t Unmix(uint64_t x) {
  x ^= (x >> 31) ^ (x >> 62);
  x *= InverseOdd(kMixB);
  x ^= (x >> 27) ^ (x >> 54);
  x *= InverseOdd(kMixA);
  x ^= (x >> 30) ^ (x >> 60);
  return x;
}

uint64_t LoadBigEndian(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

constexpr size_t kDefaultDeltaMax = size_t{1} << 16;
// Sequences of recently written or read rows kept for late events.
constexpr int64_t kSeqCacheBytes = int64_t{16} << 20;

}  // namespace

KeyIndex::KeyIndex(KeyEncoder encoder, std::optional<io::TableLocation> location)
    : encoder_(std::move(encoder)),
      delta_max_(kDefaultDeltaMax),
      seqs_(std::make_unique<SeqReader>(std::move(location), kSeqCacheBytes)) {
  const auto& types = encoder_.key_types();
  if (types.size() == 1) narrow_tag_ = IntegerKeyTag(*types[0]);
  narrow_ = narrow_tag_ != 0;
}

void KeyIndex::SetLimitsForTesting(uint32_t row_space, size_t delta_max) {
  row_space_ = row_space;
  delta_max_ = delta_max;
}

uint64_t KeyIndex::TokenOf(std::string_view key, uint64_t hash) const {
  if (!narrow_) return hash;
  // 'i'/'u' + 8 bytes big endian (key_encoder.h); callers pass only keys
  // that Fits().
  return Mix(LoadBigEndian(key.data() + 1));
}

bool KeyIndex::Fits(std::string_view key) const {
  return !narrow_ || (key.size() == 9 && key[0] == narrow_tag_);
}

std::string KeyIndex::KeyOfNarrow(uint64_t token) const {
  uint64_t v = Unmix(token);
  std::string key(9, '\0');
  key[0] = narrow_tag_;
  for (int i = 8; i >= 1; --i) {
    key[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return key;
}

uint32_t KeyIndex::LookupRow(std::string_view key, uint64_t token) const {
  if (narrow_) {
    auto it = narrow_delta_.find(token);
    if (it != narrow_delta_.end()) return it->second;
    auto [lo, hi] = narrow_run_.Range(token);
    return lo == hi ? kRemovedRow : lo->row;
  }
  auto it = delta_.find(key);
  if (it != delta_.end()) return it->second;
  auto [lo, hi] = wide_run_.Range(token);
  for (const WideSlot* s = lo; s != hi; ++s) {
    if (std::string_view(arena_.data() + s->key_at, s->key_len) == key) return s->row;
  }
  return kRemovedRow;
}

void KeyIndex::SetRow(std::string_view key, uint64_t token, uint32_t row) {
  // A key in the sorted run (live or a hole) is updated there; only keys the
  // run lacks go to the delta, so a key is never in both.
  if (narrow_) {
    auto [lo, hi] = narrow_run_.Range(token);
    if (lo != hi) {
      if (lo->row == kRemovedRow) ++live_;
      lo->row = row;
      return;
    }
    auto [it, inserted] = narrow_delta_.try_emplace(token, row);
    if (inserted) ++live_;
    it->second = row;
    return;
  }
  auto [lo, hi] = wide_run_.Range(token);
  for (WideSlot* s = lo; s != hi; ++s) {
    if (std::string_view(arena_.data() + s->key_at, s->key_len) == key) {
      if (s->row == kRemovedRow) ++live_;
      s->row = row;
      return;
    }
  }
  auto [it, inserted] = delta_.try_emplace(std::string(key), row);
  if (inserted) ++live_;
  it->second = row;
}

bool KeyIndex::EraseLive(std::string_view key, uint64_t token) {
  if (narrow_) {
    if (narrow_delta_.erase(token) > 0) {
      --live_;
      return true;
    }
    auto [lo, hi] = narrow_run_.Range(token);
    if (lo == hi || lo->row == kRemovedRow) return false;
    lo->row = kRemovedRow;
    --live_;
    return true;
  }
  if (auto it = delta_.find(key); it != delta_.end()) {
    delta_.erase(it);
    --live_;
    return true;
  }
  auto [lo, hi] = wide_run_.Range(token);
  for (WideSlot* s = lo; s != hi; ++s) {
    if (s->row != kRemovedRow && std::string_view(arena_.data() + s->key_at, s->key_len) == key) {
      s->row = kRemovedRow;
      arena_garbage_ += s->key_len;
      --live_;
      return true;
    }
  }
  return false;
}

size_t KeyIndex::DeltaMergeAt() const {
  // The delta costs ~40-80 bytes a key, the run 12: merge at 1/256 of the
  // run (or 64K keys), so the delta stays a small share (~30 MiB at 100M
  // keys) and the O(n) merge is paid once per many commits.
  const size_t run = static_cast<size_t>(narrow_ ? narrow_run_.size() : wide_run_.size());
  return std::max(delta_max_, run / 256);
}

Result<size_t> KeyIndex::MergeIntoNarrowRun(std::vector<NarrowSlot> added) {
  // Stable, so that of a token given twice the last row is kept.
  std::stable_sort(added.begin(), added.end(),
                   [](const NarrowSlot& a, const NarrowSlot& b) { return a.token < b.token; });
  size_t kept = 0;
  for (size_t i = 0; i < added.size(); ++i) {
    if (kept > 0 && added[kept - 1].token == added[i].token) {
      added[kept - 1] = added[i];
    } else {
      added[kept++] = added[i];
    }
  }
  added.resize(kept);
  if (!narrow_run_.Merge(added)) return Status::OutOfMemory("key index: cannot grow");
  return kept;
}

Status KeyIndex::MaybeMergeDelta() {
  const size_t pending = narrow_ ? narrow_delta_.size() : delta_.size();
  if (pending == 0 || pending < DeltaMergeAt()) return Status::OK();
  if (narrow_) {
    std::vector<NarrowSlot> added;
    added.reserve(narrow_delta_.size());
    for (const auto& [token, row] : narrow_delta_) added.push_back(NarrowSlot{token, row});
    narrow_delta_.clear();
    return MergeIntoNarrowRun(std::move(added)).status();
  }
  // Wide: drop the holes' bytes from the arena once they are half of it.
  if (arena_garbage_ * 2 > static_cast<int64_t>(arena_.size())) {
    std::string fresh;
    fresh.reserve(arena_.size() - static_cast<size_t>(arena_garbage_));
    wide_run_.ForEach([&](WideSlot& s) {
      if (s.row == kRemovedRow) return;
      const uint64_t at = fresh.size();
      fresh.append(arena_, s.key_at, s.key_len);
      s.key_at = at;
    });
    arena_ = std::move(fresh);
    arena_garbage_ = 0;
  }
  std::vector<WideSlot> added;
  added.reserve(delta_.size());
  for (const auto& [k, row] : delta_) {
    added.push_back(WideSlot{HashKey(k), row, static_cast<uint32_t>(k.size()), arena_.size()});
    arena_.append(k);
  }
  delta_.clear();
  std::sort(added.begin(), added.end(),
            [](const WideSlot& a, const WideSlot& b) { return a.token < b.token; });
  if (!wide_run_.Merge(added)) return Status::OutOfMemory("key index: cannot grow");
  return Status::OK();
}

template <typename Fn>
void KeyIndex::ForEachRow(Fn&& fn) {
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

int64_t KeyIndex::FileIdOf(const std::string& path) const {
  auto it = file_ids_.find(path);
  return it == file_ids_.end() ? -1 : static_cast<int64_t>(it->second);
}

std::pair<uint32_t, int64_t> KeyIndex::Locate(uint32_t row) const {
  auto it = std::upper_bound(by_base_.begin(), by_base_.end(), row,
                             [](uint32_t r, const auto& p) { return r < p.first; });
  --it;  // callers pass numbers this index handed out
  return {it->second, static_cast<int64_t>(row - it->first)};
}

Result<uint32_t> KeyIndex::AddFile(const std::string& path, int64_t rows, std::string max_seq) {
  if (FileIdOf(path) >= 0) {
    return Status::Invalid("key index: data file ", path, " was already added");
  }
  if (rows < 0 || next_row_ + static_cast<uint64_t>(rows) > row_space_) {
    return Status::CapacityError("key index: no room to number the ", rows, " rows of ", path,
                                 " (Reserve first)");
  }
  const auto id = static_cast<uint32_t>(files_.size());
  FileInfo info;
  info.path = path;
  info.base = static_cast<uint32_t>(next_row_);
  info.rows = static_cast<uint32_t>(rows);
  info.numbered = true;
  info.max_seq = std::move(max_seq);
  files_.push_back(std::move(info));
  file_ids_.emplace(path, id);
  if (rows > 0) by_base_.emplace_back(files_.back().base, id);
  next_row_ += static_cast<uint64_t>(rows);
  return files_.back().base;
}

Status KeyIndex::Reserve(uint64_t rows) {
  if (next_row_ + rows <= row_space_) return Status::OK();
  ARROW_RETURN_NOT_OK(Renumber());
  if (next_row_ + rows > row_space_) {
    return Status::CapacityError(
        "key index: the merged table's data files hold more than ", row_space_,
        " rows (deleted rows included); compact the table (sluice compact)");
  }
  return Status::OK();
}

Status KeyIndex::Renumber() {
  // Files some live key still points at keep a number; the rest (rewritten,
  // compacted away) are forgotten.
  std::vector<bool> used(files_.size(), false);
  ForEachRow([&](uint32_t row) {
    used[Locate(row).first] = true;
    return row;
  });
  std::vector<uint32_t> new_base(files_.size(), 0);
  uint64_t next = 0;
  for (const auto& [base, id] : by_base_) {
    if (!used[id]) continue;
    new_base[id] = static_cast<uint32_t>(next);
    next += files_[id].rows;
    if (next > row_space_) {
      return Status::CapacityError("key index: the merged table's live data files hold more than ",
                                   row_space_, " rows; compact the table (sluice compact)");
    }
  }
  ForEachRow([&](uint32_t row) {
    auto [id, in_file] = Locate(row);
    return new_base[id] + static_cast<uint32_t>(in_file);
  });
  std::vector<std::pair<uint32_t, uint32_t>> by_base;
  for (const auto& [base, id] : by_base_) {
    if (used[id]) {
      files_[id].base = new_base[id];
      by_base.emplace_back(new_base[id], id);
    } else {
      files_[id].numbered = false;
      file_ids_.erase(files_[id].path);
      std::string().swap(files_[id].path);
      std::string().swap(files_[id].max_seq);
    }
  }
  by_base_ = std::move(by_base);
  next_row_ = next;
  return Status::OK();
}

Result<std::unique_ptr<KeyIndex>> KeyIndex::Build(const delta::Snapshot& snapshot,
                                                  const io::TableLocation& location,
                                                  KeyEncoder encoder,
                                                  const std::vector<Tombstone>& tombstones,
                                                  IndexBuildStats* stats) {
  auto start = std::chrono::steady_clock::now();
  auto index = std::make_unique<KeyIndex>(std::move(encoder), location);
  KeyIndex& ix = *index;
  ix.version_ = snapshot.version();
  IndexBuildStats local;
  IndexBuildStats& s = stats ? *stats : local;
  s = IndexBuildStats{};
  // Slots collected straight into a malloc'd buffer the run then owns
  // (grown with realloc; pre-sized from the stats when they exist).
  const size_t slot_size = ix.narrow_ ? sizeof(NarrowSlot) : sizeof(WideSlot);
  size_t capacity = 1024;
  if (auto records = snapshot.NumRecords()) capacity = std::max<size_t>(capacity, *records);
  void* buffer = std::malloc(capacity * slot_size);
  if (buffer == nullptr) return Status::OutOfMemory("key index: ", capacity, " keys");
  size_t count = 0;
  auto push = [&](const auto& slot) {
    if (count == capacity) {
      void* grown = std::realloc(buffer, capacity * 2 * slot_size);
      if (grown == nullptr) return false;
      buffer = grown;
      capacity *= 2;
    }
    std::memcpy(static_cast<char*>(buffer) + count * slot_size, &slot, slot_size);
    ++count;
    return true;
  };
  Status scanned = Status::OK();
  for (const auto& file : snapshot.files()) {
    ++s.files;
    // Number the file once its rows are known (after the scan); the rows
    // are numbered from the next free number meanwhile.
    const uint64_t base = ix.next_row_;
    std::string max_seq;
    int64_t rows = 0;
    scanned = ScanKeys(
        snapshot, location, file, ix.encoder_,
        [&](const EncodedKeys& keys, const arrow::BinaryArray& seqs, int64_t first_row,
            const std::vector<uint64_t>& deleted) -> Status {
          if (base + static_cast<uint64_t>(first_row + keys.size()) > ix.row_space_) {
            return Status::CapacityError(
                "key index: the merged table's data files hold more than ", ix.row_space_,
                " rows (deleted rows included); compact the table (sluice compact)");
          }
          auto next_deleted =
              std::lower_bound(deleted.begin(), deleted.end(), static_cast<uint64_t>(first_row));
          for (int64_t i = 0; i < keys.size(); ++i) {
            ++s.rows_read;
            if (!seqs.IsNull(i) && seqs.GetView(i) > max_seq) max_seq = seqs.GetView(i);
            const int64_t row = first_row + i;
            if (next_deleted != deleted.end() && *next_deleted == static_cast<uint64_t>(row)) {
              ++next_deleted;
              continue;
            }
            if (!keys.valid(i)) {
              ++s.null_keys;
              continue;
            }
            const auto number = static_cast<uint32_t>(base + static_cast<uint64_t>(row));
            bool ok;
            if (ix.narrow_) {
              ok = push(NarrowSlot{ix.TokenOf(keys.key(i), keys.hash(i)), number});
            } else {
              std::string_view key = keys.key(i);
              ok = push(WideSlot{keys.hash(i), number, static_cast<uint32_t>(key.size()),
                                 ix.arena_.size()});
              ix.arena_.append(key);
            }
            if (!ok) return Status::OutOfMemory("key index: cannot hold ", count, " keys");
          }
          rows = first_row + keys.size();
          return Status::OK();
        });
    if (!scanned.ok()) break;
    auto added = ix.AddFile(file.path, rows, std::move(max_seq));
    if (!added.ok()) {
      scanned = added.status();
      break;
    }
  }
  if (!scanned.ok()) {
    std::free(buffer);
    return scanned;
  }
  // Sorted by token; equal keys next to each other are duplicates (a table
  // written by something else): the row with the greater sequence wins.
  std::vector<std::pair<size_t, size_t>> dups;  // (kept, dropped) slot indexes
  auto dedup = [&](auto* slots, auto& run, auto same_key) -> Status {
    run.Assign(slots, count);
    auto* data = run.data();
    for (size_t i = 1; i < count; ++i) {
      for (size_t j = i; j-- > 0 && data[j].token == data[i].token;) {
        if (data[j].row == kRemovedRow || !same_key(data[i], data[j])) continue;
        ++s.duplicate_keys;
        auto [fi, ri] = ix.Locate(data[i].row);
        auto [fj, rj] = ix.Locate(data[j].row);
        ARROW_ASSIGN_OR_RAISE(auto exact,
                              ix.ExactSeqs({{&ix.files_[fi].path, ri}, {&ix.files_[fj].path, rj}}));
        // Greater sequence wins; on a tie the earlier file (lower number).
        const bool i_wins =
            exact[0] > exact[1] || (exact[0] == exact[1] && data[i].row < data[j].row);
        if (i_wins) {
          data[j].row = kRemovedRow;
        } else {
          data[i].row = kRemovedRow;
          break;
        }
      }
    }
    return Status::OK();
  };
  Status deduped;
  if (ix.narrow_) {
    deduped = dedup(static_cast<NarrowSlot*>(buffer), ix.narrow_run_,
                    [](const NarrowSlot&, const NarrowSlot&) { return true; });
  } else {
    deduped = dedup(static_cast<WideSlot*>(buffer), ix.wide_run_,
                    [&](const WideSlot& a, const WideSlot& b) {
                      return std::string_view(ix.arena_.data() + a.key_at, a.key_len) ==
                             std::string_view(ix.arena_.data() + b.key_at, b.key_len);
                    });
  }
  ARROW_RETURN_NOT_OK(deduped);
  ix.live_ = static_cast<int64_t>(count) - s.duplicate_keys;
  if (s.duplicate_keys > 0) {
    // Drop the holes now (Merge with nothing added compacts).
    if (ix.narrow_) {
      ix.narrow_run_.Merge({});
    } else {
      ix.wide_run_.Merge({});
    }
  }
  for (const auto& t : tombstones) {
    // A live row of the key (re-inserted at or after the delete, or older
    // because the delete's main commit never landed, which the caller's
    // batch_version filter rules out) keeps the key live.
    if (!ix.Fits(t.key)) continue;  // not a key of this table's key type
    if (ix.LookupRow(t.key, ix.TokenOf(t.key, HashKey(t.key))) != kRemovedRow) continue;
    auto& info = ix.tombstones_[t.key];
    if (info.seq.empty() || t.seq > info.seq) info = TombstoneInfo{t.seq, t.deleted_at_ms};
  }
  s.live_rows = ix.live_count();
  s.tombstones = ix.tombstone_count();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return index;
}

KeyIndex::Found KeyIndex::Find(std::string_view key, uint64_t hash) const {
  Found f;
  if (narrow_ && (key.size() != 9 || key[0] != narrow_tag_)) return f;  // not a key of this table
  auto t = tombstones_.find(key);
  if (t != tombstones_.end()) {
    f.kind = Found::Kind::kTombstone;
    f.seq = t->second.seq;
    f.seq_exact = true;
    return f;
  }
  const uint32_t row = LookupRow(key, TokenOf(key, hash));
  if (row == kRemovedRow) return f;
  auto [id, in_file] = Locate(row);
  f.kind = Found::Kind::kLive;
  f.file = &files_[id].path;
  f.row = in_file;
  f.seq = files_[id].max_seq;
  return f;
}

Result<std::vector<std::string>> KeyIndex::ExactSeqs(
    const std::vector<SeqReader::Request>& rows) const {
  return seqs_->Read(rows);
}

void KeyIndex::PurgeTombstones(int64_t cutoff_ms) {
  std::erase_if(tombstones_, [&](const auto& kv) { return kv.second.deleted_at_ms < cutoff_ms; });
}

Status KeyIndex::Apply(const MergePlan& plan, const MergeOutcome& outcome) {
  if (outcome.already_applied) return Status::OK();
  if (plan.base_version != version_) {
    return Status::Invalid("key index is at version ", version_, " but the plan was made at ",
                           plan.base_version, "; rebuild the index");
  }
  // Number every new file first, so no renumbering happens half way.
  uint64_t new_rows = 0;
  for (const auto& rw : outcome.rewrites) {
    for (const auto& f : rw.replacements) new_rows += static_cast<uint64_t>(f.rows);
  }
  for (const auto& f : outcome.appended) new_rows += static_cast<uint64_t>(f.rows);
  ARROW_RETURN_NOT_OK(Reserve(new_rows));
  // 1. Rows of rewritten files move: new row = old row - rows deleted
  // before it, then split across the replacement files in order.
  if (!outcome.rewrites.empty()) {
    struct Move {
      const FileRewrite* rewrite;
      std::vector<uint32_t> bases;  // of the replacements
    };
    std::unordered_map<uint32_t, Move> moved;
    for (const auto& rw : outcome.rewrites) {
      const int64_t old_id = FileIdOf(rw.old_path);
      std::string bound = old_id >= 0 ? files_[old_id].max_seq : std::string();
      Move m{&rw, {}};
      for (const auto& f : rw.replacements) {
        ARROW_ASSIGN_OR_RAISE(auto base, AddFile(f.path, f.rows, bound));
        m.bases.push_back(base);
      }
      // A file the index forgot held no live row: nothing of it moves.
      if (old_id >= 0) moved.emplace(static_cast<uint32_t>(old_id), std::move(m));
    }
    ForEachRow([&](uint32_t number) {
      auto [id, in_file] = Locate(number);
      auto it = moved.find(id);
      if (it == moved.end()) return number;
      const FileRewrite& rw = *it->second.rewrite;
      auto row = static_cast<uint64_t>(in_file);
      auto before = std::lower_bound(rw.deleted.begin(), rw.deleted.end(), row);
      if (before != rw.deleted.end() && *before == row) return number;  // replaced below
      int64_t new_row = in_file - (before - rw.deleted.begin());
      for (size_t r = 0; r < rw.replacements.size(); ++r) {
        if (new_row < rw.replacements[r].rows) {
          return it->second.bases[r] + static_cast<uint32_t>(new_row);
        }
        new_row -= rw.replacements[r].rows;
      }
      return number;
    });
  }
  // 2. Appended rows: row i of plan.appends is in the file covering it.
  // Many appended integer keys while the delta is empty: the keys the run
  // lacks are collected, and when there are as many as a delta merge takes
  // (a backfill), sorted and merged into the run in one pass instead of
  // going through the delta's hash map.
  const bool bulk = narrow_ && narrow_delta_.empty() && plan.append_keys.size() >= delta_max_;
  // (Renumbering happens in Reserve, before this; nothing renumbers rows
  // while `fresh` holds some.)
  std::vector<NarrowSlot> fresh;
  size_t first = 0;
  for (const auto& file : outcome.appended) {
    if (first + static_cast<size_t>(file.rows) > plan.append_keys.size()) {
      return Status::Invalid("key index: the commit wrote more rows than the plan appends");
    }
    std::span<const std::string> seqs(plan.append_seqs.data() + first,
                                      static_cast<size_t>(file.rows));
    const std::string* max_seq = nullptr;
    for (const auto& q : seqs) {
      if (max_seq == nullptr || *max_seq < q) max_seq = &q;
    }
    ARROW_ASSIGN_OR_RAISE(auto base,
                          AddFile(file.path, file.rows, max_seq ? *max_seq : std::string()));
    seqs_->Remember(file.path, 0, seqs);
    for (int64_t r = 0; r < file.rows; ++r) {
      const auto& key = plan.append_keys[first + static_cast<size_t>(r)];
      const uint64_t hash = HashKey(key);
      if (!tombstones_.empty()) tombstones_.erase(key);
      const uint64_t token = TokenOf(key, hash);
      const uint32_t row = base + static_cast<uint32_t>(r);
      if (!bulk) {
        SetRow(key, token, row);
        continue;
      }
      auto [lo, hi] = narrow_run_.Range(token);
      if (lo == hi) {
        fresh.push_back(NarrowSlot{token, row});
        continue;
      }
      if (lo->row == kRemovedRow) ++live_;
      lo->row = row;
    }
    first += static_cast<size_t>(file.rows);
  }
  if (first != plan.append_keys.size()) {
    return Status::Invalid("key index: the commit wrote fewer rows than the plan appends");
  }
  if (fresh.size() >= DeltaMergeAt()) {
    ARROW_ASSIGN_OR_RAISE(size_t added, MergeIntoNarrowRun(std::move(fresh)));
    live_ += static_cast<int64_t>(added);
  } else {
    // A few new keys (a CDC batch into a large table) go to the delta, as
    // SetRow would put them: an O(n) merge of the run each time costs more.
    for (const auto& slot : fresh) SetRow({}, slot.token, slot.row);
  }

  // 3. Tombstones.
  for (const auto& t : plan.tombstones) {
    EraseLive(t.key, TokenOf(t.key, HashKey(t.key)));
    tombstones_[t.key] = TombstoneInfo{t.seq, t.deleted_at_ms};
  }
  ARROW_RETURN_NOT_OK(MaybeMergeDelta());
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
    uint32_t new_base;
  };
  uint64_t new_rows = 0;
  for (const auto& file : result.files) new_rows += static_cast<uint64_t>(file.rows);
  ARROW_RETURN_NOT_OK(Reserve(new_rows));
  std::unordered_map<uint32_t, std::vector<Piece>> pieces;
  for (const auto& path : result.removed) {
    const int64_t id = FileIdOf(path);
    if (id >= 0) pieces[static_cast<uint32_t>(id)];
  }
  for (const auto& file : result.files) {
    std::string max_seq;
    for (const auto& seg : file.segments) {
      const int64_t old = FileIdOf(seg.old_path);
      if (old >= 0) max_seq = std::max(max_seq, files_[old].max_seq);
    }
    ARROW_ASSIGN_OR_RAISE(auto base, AddFile(file.path, file.rows, std::move(max_seq)));
    int64_t at = 0;
    for (const auto& seg : file.segments) {
      const int64_t old = FileIdOf(seg.old_path);
      if (!seg.rows.empty() && old >= 0) {
        pieces[static_cast<uint32_t>(old)].push_back({&seg.rows, base + static_cast<uint32_t>(at)});
      }
      at += static_cast<int64_t>(seg.rows.size());
    }
  }
  for (auto& [id, list] : pieces) {
    std::sort(list.begin(), list.end(),
              [](const Piece& a, const Piece& b) { return a.rows->front() < b.rows->front(); });
  }
  Status lost = Status::OK();
  ForEachRow([&](uint32_t number) {
    auto [id, in_file] = Locate(number);
    auto it = pieces.find(id);
    if (it == pieces.end()) return number;
    const auto row = static_cast<uint64_t>(in_file);
    const auto& list = it->second;
    // The last piece starting at or before the row.
    auto piece = std::upper_bound(list.begin(), list.end(), row,
                                  [](uint64_t r, const Piece& p) { return r < p.rows->front(); });
    if (piece != list.begin()) {
      --piece;
      auto pos = std::lower_bound(piece->rows->begin(), piece->rows->end(), row);
      if (pos != piece->rows->end() && *pos == row) {
        return piece->new_base + static_cast<uint32_t>(pos - piece->rows->begin());
      }
    }
    if (lost.ok()) {
      lost = Status::Invalid("key index: live row ", row, " of ", files_[id].path,
                             " is not among the rows the compaction kept; rebuild the index");
    }
    return number;
  });
  ARROW_RETURN_NOT_OK(lost);
  version_ = result.version;
  return Status::OK();
}

int64_t KeyIndex::MemoryBytes() const {
  int64_t bytes =
      narrow_run_.MemoryBytes() + wide_run_.MemoryBytes() + static_cast<int64_t>(arena_.capacity());
  bytes +=
      static_cast<int64_t>(delta_.size()) * 80 + static_cast<int64_t>(delta_.bucket_count()) * 8;
  bytes += static_cast<int64_t>(narrow_delta_.size()) * 32 +
           static_cast<int64_t>(narrow_delta_.bucket_count()) * 8;
  for (const auto& [k, t] : tombstones_) {
    bytes += static_cast<int64_t>(k.size() + t.seq.size()) + 96;
  }
  for (const auto& f : files_)
    bytes += static_cast<int64_t>(f.path.size() * 2 + f.max_seq.size()) + 96;
  return bytes + seqs_->cached_bytes();
}

std::vector<IndexEntry> KeyIndex::Entries() const {
  std::vector<IndexEntry> out;
  auto live = [&](std::string key, uint32_t number) {
    IndexEntry x;
    x.key = std::move(key);
    x.live = true;
    auto [id, in_file] = Locate(number);
    x.file = files_[id].path;
    x.row = in_file;
    out.push_back(std::move(x));
  };
  for (const auto& [token, row] : narrow_delta_) live(KeyOfNarrow(token), row);
  for (const auto& [k, row] : delta_) live(k, row);
  narrow_run_.ForEach([&](const NarrowSlot& s) {
    if (s.row != kRemovedRow) live(KeyOfNarrow(s.token), s.row);
  });
  wide_run_.ForEach([&](const WideSlot& s) {
    if (s.row != kRemovedRow) live(std::string(arena_.data() + s.key_at, s.key_len), s.row);
  });
  for (const auto& [k, t] : tombstones_) {
    IndexEntry x;
    x.key = k;
    x.seq = t.seq;
    x.deleted_at_ms = t.deleted_at_ms;
    out.push_back(std::move(x));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

}  // namespace sluice::merge
