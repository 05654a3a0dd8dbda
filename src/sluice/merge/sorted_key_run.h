// SortedKeyRun: the bulk of a key index (key_index.h), as one array of
// fixed-size slots sorted by a 64-bit token, plus a directory on the token's
// top bits so a lookup touches one or two cache lines after the directory.
//
// Why not a hash table: at 100M keys the array is the memory (12 bytes a
// key for integer keys, no empty slots), and growing it never holds two
// copies: the buffer is grown with realloc, which glibc does by remapping
// pages for blocks this size, and the new slots are merged in from the back
// in place. New keys collect in the caller's small hash delta and are merged
// in batches (Merge), so the O(n) pass is amortised over many commits.
//
// A slot whose `row` is kRemovedRow is a hole left by an erased key; holes
// are dropped by the next Merge. `Slot` is trivially copyable with public
// `token` (uint64_t) and `row` (uint32_t) members.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

namespace sluice::merge {

inline constexpr uint32_t kRemovedRow = UINT32_MAX;

template <typename Slot>
class SortedKeyRun {
  static_assert(std::is_trivially_copyable_v<Slot>);

 public:
  SortedKeyRun() = default;
  SortedKeyRun(const SortedKeyRun&) = delete;
  SortedKeyRun& operator=(const SortedKeyRun&) = delete;
  ~SortedKeyRun() { std::free(slots_); }

  int64_t size() const { return static_cast<int64_t>(size_); }
  Slot* data() { return slots_; }
  const Slot* data() const { return slots_; }

  /// [first, last) of the slots holding `token` (usually 0 or 1 of them).
  std::pair<const Slot*, const Slot*> Range(uint64_t token) const {
    if (size_ == 0) return {slots_, slots_};
    const uint64_t bucket = shift_ >= 64 ? 0 : token >> shift_;
    const Slot* lo = slots_ + dir_[bucket];
    const Slot* hi = slots_ + dir_[bucket + 1];
    lo = std::lower_bound(lo, hi, token, [](const Slot& s, uint64_t t) { return s.token < t; });
    const Slot* end = lo;
    while (end != hi && end->token == token) ++end;
    return {lo, end};
  }
  std::pair<Slot*, Slot*> Range(uint64_t token) {
    auto [lo, hi] = static_cast<const SortedKeyRun*>(this)->Range(token);
    return {const_cast<Slot*>(lo), const_cast<Slot*>(hi)};
  }

  /// Replaces the contents with `slots` (any order): sorts them in place.
  /// Returns false if memory cannot be had.
  bool Assign(Slot* slots, size_t n) {
    std::free(slots_);
    slots_ = slots;
    size_ = n;
    std::sort(slots_, slots_ + size_,
              [](const Slot& a, const Slot& b) { return a.token < b.token; });
    RebuildDirectory();
    return true;
  }

  /// Drops holes and merges `added` (sorted by token) in. False if the
  /// array cannot grow (nothing changed then).
  bool Merge(const std::vector<Slot>& added) {
    size_t kept = 0;
    for (size_t i = 0; i < size_; ++i) {
      if (slots_[i].row != kRemovedRow) slots_[kept++] = slots_[i];
    }
    size_ = kept;
    const size_t total = size_ + added.size();
    if (total > 0) {
      void* grown = std::realloc(slots_, total * sizeof(Slot));
      if (grown == nullptr) {
        RebuildDirectory();
        return false;
      }
      slots_ = static_cast<Slot*>(grown);
    }
    // From the back, so nothing is overwritten before it is moved.
    size_t out = total, a = size_, b = added.size();
    while (b > 0) {
      if (a > 0 && slots_[a - 1].token > added[b - 1].token) {
        slots_[--out] = slots_[--a];
      } else {
        slots_[--out] = added[--b];
      }
    }
    size_ = total;
    RebuildDirectory();
    return true;
  }

  /// Calls fn(Slot&) for every slot, holes included.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (size_t i = 0; i < size_; ++i) fn(slots_[i]);
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < size_; ++i) fn(slots_[i]);
  }

  int64_t MemoryBytes() const {
    return static_cast<int64_t>(size_ * sizeof(Slot) + dir_.capacity() * sizeof(uint32_t));
  }

 private:
  void RebuildDirectory() {
    // About 32 slots a bucket; at most 2^24 buckets (64 MiB).
    int bits = 0;
    while (bits < 24 && (size_t{1} << (bits + 5)) < size_) ++bits;
    shift_ = bits == 0 ? 64 : 64 - bits;
    const size_t buckets = size_t{1} << bits;
    dir_.assign(buckets + 1, 0);
    size_t at = 0;
    for (size_t b = 0; b < buckets; ++b) {
      dir_[b] = static_cast<uint32_t>(at);
      while (at < size_ && (shift_ >= 64 ? 0 : slots_[at].token >> shift_) == b) ++at;
    }
    dir_[buckets] = static_cast<uint32_t>(size_);
    dir_.shrink_to_fit();
  }

  Slot* slots_ = nullptr;  // malloc'd, so realloc can grow it in place
  size_t size_ = 0;
  int shift_ = 64;
  std::vector<uint32_t> dir_{0, 0};
};

}  // namespace sluice::merge
