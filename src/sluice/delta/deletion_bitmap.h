// The set of deleted row indexes of one data file: the protocol's
// "RoaringBitmapArray" (PROTOCOL.md "Deletion Vector Format"). Values are
// 64-bit row indexes; in memory they are kept as Roaring-style containers of
// 2^16 values each (sorted array, 8 KiB bitmap or runs), so millions of rows
// cost a few bytes each and a contiguous range costs almost nothing.
//
// Serialize() writes what Delta/Spark write: the magic number, then the
// 64-bit Roaring "portable" layout whose buckets are standard 32-bit Roaring
// bitmaps. Container types are chosen exactly as Java RoaringBitmap's
// runOptimize() does for a bitmap built by adding single values (what Spark's
// DELETE/UPDATE/MERGE do), so our bytes match Spark's for the same row set.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::delta {

class DeletionBitmap {
 public:
  /// Little-endian int32 prefix of the portable RoaringBitmapArray format.
  static constexpr uint32_t kMagicNumber = 1681511377;
  /// The protocol requires every bucket key (high 32 bits) to have its top
  /// bit clear, so values must not exceed this. Row indexes always satisfy
  /// it; adding larger values is a programming error (asserted).
  static constexpr uint64_t kMaxValue = (uint64_t{1} << 63) - 1;

  DeletionBitmap() = default;

  void Add(uint64_t value);
  /// Adds every value in [begin, end); no-op when begin >= end.
  void AddRange(uint64_t begin, uint64_t end);
  bool Contains(uint64_t value) const;
  uint64_t Cardinality() const;
  bool IsEmpty() const { return containers_.empty(); }
  std::vector<uint64_t> ToSortedVector() const;
  /// Adds every value of `other` to this set.
  void Union(const DeletionBitmap& other);

  /// Set equality (independent of how containers are represented).
  bool operator==(const DeletionBitmap& other) const;

  /// The protocol's serialized form (magic number + portable 64-bit Roaring).
  /// Only non-empty buckets are written (the portable format is sparse;
  /// Spark also accepts and writes this for row indexes below 2^32).
  std::string Serialize() const;

  /// Parses the serialized form. Safe on untrusted bytes: every read is
  /// bounds-checked and the structure is validated (sorted unique keys,
  /// sorted disjoint runs, container cardinalities matching their headers,
  /// no trailing bytes); any violation is an Invalid status.
  static Result<DeletionBitmap> Deserialize(std::string_view bytes);

  /// One container of 2^16 values; public only so the implementation file
  /// can work on it with free functions.
  struct Container {
    enum class Kind : uint8_t { kArray, kBitmap, kRun };
    Kind kind = Kind::kArray;
    uint32_t cardinality = 0;  ///< never 0: empty containers are erased
    /// kArray: sorted unique values. kRun: flattened (start, length - 1)
    /// pairs, sorted, disjoint and non-adjacent.
    std::vector<uint16_t> values;
    std::vector<uint64_t> words;  ///< kBitmap: 1024 words, bit i = value i
  };

 private:
  /// Keyed by value >> 16, so buckets (value >> 32) are contiguous ranges.
  std::map<uint64_t, Container> containers_;
};

}  // namespace sluice::delta
