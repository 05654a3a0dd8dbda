// The compact key store of KeyIndex (key_index.h): integer keys as mixed
// 64-bit tokens, other keys as hash + arena bytes, in a sorted run plus a
// hash delta; and the row numbering across data files.
#include <algorithm>

#include "sluice/merge/key_index.h"

namespace sluice::merge {

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

}  // namespace

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

}  // namespace sluice::merge
