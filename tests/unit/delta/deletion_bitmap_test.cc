#include "sluice/delta/deletion_bitmap.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace sluice::delta {
namespace {

DeletionBitmap RoundTrip(const DeletionBitmap& b) {
  auto back = DeletionBitmap::Deserialize(b.Serialize());
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *back : DeletionBitmap();
}

DeletionBitmap FromValues(const std::vector<uint64_t>& values) {
  DeletionBitmap b;
  for (uint64_t v : values) b.Add(v);
  return b;
}

std::string Le32(uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}
std::string Le16(uint16_t v) {
  return std::string{static_cast<char>(v), static_cast<char>(v >> 8)};
}
std::string Le64(uint64_t v) {
  return Le32(static_cast<uint32_t>(v)) + Le32(static_cast<uint32_t>(v >> 32));
}

TEST(DeletionBitmapTest, EmptySerializesToMagicAndZeroBuckets) {
  DeletionBitmap b;
  EXPECT_TRUE(b.IsEmpty());
  EXPECT_EQ(b.Cardinality(), 0u);
  EXPECT_EQ(b.Serialize(), Le32(1681511377) + Le64(0));
  EXPECT_EQ(RoundTrip(b), b);
  EXPECT_TRUE(RoundTrip(b).IsEmpty());
}

TEST(DeletionBitmapTest, SingleValueExactBytes) {
  DeletionBitmap b;
  b.Add(5);
  // magic, 1 bucket, key 0, cookie 12346, 1 container, key 0 card-1 0,
  // offset 16, value 5.
  const std::string expected = Le32(1681511377) + Le64(1) + Le32(0) + Le32(12346) + Le32(1) +
                               Le16(0) + Le16(0) + Le32(16) + Le16(5);
  EXPECT_EQ(b.Serialize(), expected);
  EXPECT_EQ(RoundTrip(b).ToSortedVector(), std::vector<uint64_t>{5});
}

TEST(DeletionBitmapTest, AddContainsCardinality) {
  DeletionBitmap b;
  for (uint64_t v : {7u, 3u, 7u, 65536u, 1u}) b.Add(v);
  EXPECT_EQ(b.Cardinality(), 4u);
  EXPECT_TRUE(b.Contains(3));
  EXPECT_TRUE(b.Contains(65536));
  EXPECT_FALSE(b.Contains(4));
  EXPECT_FALSE(b.Contains(65537));
  EXPECT_EQ(b.ToSortedVector(), (std::vector<uint64_t>{1, 3, 7, 65536}));
}

TEST(DeletionBitmapTest, SparseValuesBeyond32Bits) {
  const std::vector<uint64_t> values = {0,
                                        (uint64_t{1} << 32) - 1,
                                        uint64_t{1} << 32,
                                        (uint64_t{1} << 32) + 5,
                                        uint64_t{1} << 40,
                                        (uint64_t{7} << 48) + 65535,
                                        DeletionBitmap::kMaxValue};
  DeletionBitmap b = FromValues(values);
  EXPECT_EQ(b.ToSortedVector(), values);
  DeletionBitmap back = RoundTrip(b);
  EXPECT_EQ(back, b);
  EXPECT_EQ(back.ToSortedVector(), values);
  EXPECT_TRUE(back.Contains(uint64_t{1} << 40));
  EXPECT_FALSE(back.Contains((uint64_t{1} << 40) + 1));
}

TEST(DeletionBitmapTest, DenseRangeIsCompactAndRoundTrips) {
  DeletionBitmap b;
  b.AddRange(10, 3'000'010);
  EXPECT_EQ(b.Cardinality(), 3'000'000u);
  EXPECT_FALSE(b.Contains(9));
  EXPECT_TRUE(b.Contains(10));
  EXPECT_TRUE(b.Contains(3'000'009));
  EXPECT_FALSE(b.Contains(3'000'010));
  const std::string bytes = b.Serialize();
  EXPECT_LT(bytes.size(), 1000u);  // one run per container
  DeletionBitmap back = RoundTrip(b);
  EXPECT_EQ(back, b);
  EXPECT_EQ(back.Cardinality(), 3'000'000u);

  // The same set built value by value serializes identically.
  DeletionBitmap one_by_one;
  for (uint64_t v = 10; v < 3'000'010; ++v) one_by_one.Add(v);
  EXPECT_EQ(one_by_one, b);
  EXPECT_EQ(one_by_one.Serialize(), bytes);
}

TEST(DeletionBitmapTest, MillionsOfScatteredRows) {
  DeletionBitmap b;
  std::vector<uint64_t> expected;
  for (uint64_t v = 0; v < 12'000'000; v += 3) {
    b.Add(v);
    expected.push_back(v);
  }
  EXPECT_EQ(b.Cardinality(), expected.size());
  DeletionBitmap back = RoundTrip(b);
  EXPECT_EQ(back, b);
  EXPECT_EQ(back.ToSortedVector(), expected);
  // Bitmap containers: ~8 KiB per 65536 rows.
  EXPECT_LT(b.Serialize().size(), 12'000'000 / 65536 * 8300 + 9000);
}

TEST(DeletionBitmapTest, ContainerTypeThresholds) {
  // 4096 scattered values: array container (2 bytes/value).
  DeletionBitmap array;
  for (uint64_t v = 0; v < 2 * 4096; v += 2) array.Add(v);
  EXPECT_EQ(array.Serialize().size(), 16u + 8 + 8 + 4096 * 2);
  // 4097: bitmap container (8192 bytes).
  DeletionBitmap bitmap = array;
  bitmap.Add(2 * 4096);
  EXPECT_EQ(bitmap.Serialize().size(), 16u + 8 + 8 + 8192);
  EXPECT_EQ(RoundTrip(bitmap), bitmap);
  // Few runs: run container, no offset table below 4 containers.
  DeletionBitmap run;
  run.AddRange(100, 200);
  EXPECT_EQ(run.Serialize(), Le32(1681511377) + Le64(1) + Le32(0) + Le32(12347) +
                                 std::string(1, '\1') + Le16(0) + Le16(99) + Le16(1) + Le16(100) +
                                 Le16(99));
  // Tie (array of 2 values = 4 bytes vs 1 run = 6 bytes) stays an array.
  DeletionBitmap pair = FromValues({4, 5});
  EXPECT_EQ(pair.Serialize().size(), 16u + 16 + 4);
  // Bitmap with 2047 runs becomes runs (8190 < 8192), 2048 does not.
  DeletionBitmap many_runs;
  for (uint64_t r = 0; r < 2047; ++r) many_runs.AddRange(r * 32, r * 32 + 3);
  EXPECT_EQ(many_runs.Serialize().size(), 16u + 4 + 1 + 4 + 2 + 4 * 2047);
  many_runs.AddRange(2047 * 32, 2047 * 32 + 3);
  EXPECT_EQ(many_runs.Serialize().size(), 16u + 8 + 8 + 8192);
  EXPECT_EQ(RoundTrip(many_runs), many_runs);
}

TEST(DeletionBitmapTest, OffsetTableWithRunsFromFourContainers) {
  DeletionBitmap b;
  for (uint64_t k = 0; k < 4; ++k) b.AddRange(k << 16, (k << 16) + 100);
  const std::string bytes = b.Serialize();
  // cookie + flags + 4 * (key, card) + 4 offsets + 4 * (2 + 4).
  EXPECT_EQ(bytes.size(), 16u + 4 + 1 + 16 + 16 + 24);
  EXPECT_EQ(RoundTrip(b), b);
}

TEST(DeletionBitmapTest, UnionAndMixedOperationsMatchReference) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    DeletionBitmap a, b;
    std::set<uint64_t> ref;
    auto random_value = [&] {
      // Concentrate on a few containers, sometimes in a high bucket.
      uint64_t base = (rng() % 4) << 16;
      if (rng() % 5 == 0) base += uint64_t{3} << 32;
      return base + rng() % 65536;
    };
    const int n = static_cast<int>(rng() % 20000);
    for (int i = 0; i < n; ++i) {
      const uint64_t v = random_value();
      (i % 2 ? a : b).Add(v);
      ref.insert(v);
    }
    for (int i = 0; i < 3; ++i) {
      const uint64_t begin = random_value();
      const uint64_t end = begin + rng() % 100000;
      (i % 2 ? a : b).AddRange(begin, end);
      for (uint64_t v = begin; v < end; ++v) ref.insert(v);
    }
    a.Union(b);
    // Single adds into run containers produced by ranges.
    for (int i = 0; i < 100; ++i) {
      const uint64_t v = random_value();
      a.Add(v);
      ref.insert(v);
    }
    const std::vector<uint64_t> want(ref.begin(), ref.end());
    ASSERT_EQ(a.ToSortedVector(), want);
    ASSERT_EQ(a.Cardinality(), want.size());
    for (int i = 0; i < 1000; ++i) {
      const uint64_t v = random_value();
      ASSERT_EQ(a.Contains(v), ref.count(v) == 1) << v;
    }
    DeletionBitmap back = RoundTrip(a);
    ASSERT_EQ(back, a);
    ASSERT_EQ(FromValues(want).Serialize(), a.Serialize());
  }
}

TEST(DeletionBitmapTest, UnionWithFullAndSelf) {
  DeletionBitmap a = FromValues({1, 2, 3});
  DeletionBitmap full;
  full.AddRange(0, 65536);
  a.Union(a);
  EXPECT_EQ(a.Cardinality(), 3u);
  a.Union(full);
  EXPECT_EQ(a, full);
  full.Union(FromValues({5, 70000}));
  EXPECT_EQ(full.Cardinality(), 65537u);
}

TEST(DeletionBitmapTest, EqualityIgnoresRepresentation) {
  DeletionBitmap ranged;
  ranged.AddRange(0, 100);
  DeletionBitmap added;
  for (uint64_t v = 0; v < 100; ++v) added.Add(v);
  EXPECT_EQ(ranged, added);
  added.Add(100);
  EXPECT_FALSE(ranged == added);
}

// ---- Corrupt input: errors, never crashes.

TEST(DeletionBitmapTest, RejectsBadMagicAndLegacyFormat) {
  EXPECT_TRUE(DeletionBitmap::Deserialize("").status().IsInvalid());
  EXPECT_TRUE(DeletionBitmap::Deserialize(Le32(1234) + Le64(0)).status().IsInvalid());
  EXPECT_TRUE(DeletionBitmap::Deserialize(Le32(1681511376) + Le64(0)).status().IsNotImplemented());
}

TEST(DeletionBitmapTest, RejectsEveryTruncation) {
  DeletionBitmap b;
  b.AddRange(0, 70000);
  for (uint64_t v = 200000; v < 220000; v += 3) b.Add(v);
  b.Add(uint64_t{1} << 33);
  const std::string bytes = b.Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DeletionBitmap::Deserialize(std::string_view(bytes).substr(0, n)).ok()) << n;
  }
  EXPECT_TRUE(DeletionBitmap::Deserialize(bytes + "x").status().IsInvalid());
}

TEST(DeletionBitmapTest, RejectsStructuralViolations) {
  const std::string head = Le32(1681511377) + Le64(1) + Le32(0);
  auto bad = [](const std::string& bytes) {
    auto r = DeletionBitmap::Deserialize(bytes);
    EXPECT_TRUE(r.status().IsInvalid()) << r.status();
  };
  // Huge bucket count.
  bad(Le32(1681511377) + Le64(~uint64_t{0}) + Le32(0) + Le32(12346) + Le32(0));
  // Bucket key with the most significant bit set.
  bad(Le32(1681511377) + Le64(1) + Le32(0x80000000u) + Le32(12346) + Le32(0));
  // Duplicate bucket keys.
  bad(Le32(1681511377) + Le64(2) + Le32(1) + Le32(12346) + Le32(0) + Le32(1) + Le32(12346) +
      Le32(0));
  // Unknown cookie; absurd container count.
  bad(head + Le32(99) + Le32(0));
  bad(head + Le32(12346) + Le32(0x7fffffff));
  // Container keys not ascending.
  bad(head + Le32(12346) + Le32(2) + Le16(1) + Le16(0) + Le16(1) + Le16(0) + Le32(24) + Le32(26) +
      Le16(1) + Le16(2));
  // Array not strictly ascending.
  bad(head + Le32(12346) + Le32(1) + Le16(0) + Le16(1) + Le32(16) + Le16(5) + Le16(5));
  // Bitmap popcount differs from header cardinality.
  bad(head + Le32(12346) + Le32(1) + Le16(0) + Le16(5000) + Le32(16) + std::string(8192, '\xff'));
  // Runs: overlapping, past 65535, cardinality mismatch, zero runs.
  const std::string run1 = head + Le32(12347) + std::string(1, '\1') + Le16(0);
  bad(run1 + Le16(19) + Le16(2) + Le16(0) + Le16(9) + Le16(5) + Le16(9));
  bad(run1 + Le16(9) + Le16(1) + Le16(65530) + Le16(9));
  bad(run1 + Le16(5) + Le16(1) + Le16(0) + Le16(9));
  bad(run1 + Le16(0) + Le16(0));
  // Adjacent runs are accepted and merged.
  auto ok = DeletionBitmap::Deserialize(run1 + Le16(19) + Le16(2) + Le16(0) + Le16(9) + Le16(10) +
                                        Le16(9));
  ASSERT_TRUE(ok.ok()) << ok.status();
  DeletionBitmap want;
  want.AddRange(0, 20);
  EXPECT_EQ(*ok, want);
  EXPECT_EQ(ok->Serialize(), want.Serialize());
}

TEST(DeletionBitmapTest, RandomCorruptionNeverCrashes) {
  DeletionBitmap b;
  b.AddRange(5, 100000);
  for (uint64_t v = 300000; v < 320000; v += 7) b.Add(v);
  for (uint64_t v = 400000; v < 400100; v += 5) b.Add(v);
  b.Add(uint64_t{1} << 35);
  const std::string bytes = b.Serialize();
  std::mt19937 rng(1);
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      mutated[rng() % mutated.size()] = static_cast<char>(rng());
    }
    auto r = DeletionBitmap::Deserialize(mutated);
    if (r.ok()) {
      // Whatever was accepted must be internally consistent.
      ASSERT_EQ(r->ToSortedVector().size(), r->Cardinality());
      ASSERT_EQ(RoundTrip(*r), *r);
    }
  }
}

}  // namespace
}  // namespace sluice::delta
