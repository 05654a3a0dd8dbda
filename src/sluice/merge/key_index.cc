// KeyIndex: construction, lookups, and what tests and tools read back
// (key_index.h). The compact key store is in key_index_store.cc, Build in
// key_index_build.cc, Apply / ApplyCompaction in key_index_apply.cc.
#include "sluice/merge/key_index.h"

#include <algorithm>

namespace sluice::merge {

namespace {

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

std::vector<KeyIndex::LiveRow> KeyIndex::LiveRows() const {
  std::vector<LiveRow> out;
  auto live = [&](uint32_t number) {
    auto [id, in_file] = Locate(number);
    out.push_back({&files_[id].path, in_file, files_[id].max_seq});
  };
  for (const auto& [token, row] : narrow_delta_) live(row);
  for (const auto& [k, row] : delta_) live(row);
  narrow_run_.ForEach([&](const NarrowSlot& s) {
    if (s.row != kRemovedRow) live(s.row);
  });
  wide_run_.ForEach([&](const WideSlot& s) {
    if (s.row != kRemovedRow) live(s.row);
  });
  return out;
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
