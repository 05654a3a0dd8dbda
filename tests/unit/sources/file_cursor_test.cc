// The bounded file cursor: exactly once over a long stream, a size that
// stops growing, late files inside and after the late window.
#include "sluice/sources/file_cursor.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>

namespace sluice::sources {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 24 * 60 * kMinute;
constexpr int64_t kEpoch2025 = 1735689600000;  // 2025-01-01T00:00Z

std::string PathAt(int64_t minute, int k) {
  int64_t t = minute;
  int mm = static_cast<int>(t % 60);
  t /= 60;
  int hh = static_cast<int>(t % 24);
  int day = static_cast<int>(t / 24) + 1;
  char buf[96];
  std::snprintf(buf, sizeof(buf), "2025/01/%02d/%02d/%02d/f-%03d.avro", day, hh, mm, k);
  return buf;
}

// Time of a path laid out like PathAt (January 2025 only).
std::optional<int64_t> TimeOf(std::string_view p) {
  int y, mo, d, h, m;
  if (std::sscanf(std::string(p).c_str(), "%d/%d/%d/%d/%d/", &y, &mo, &d, &h, &m) != 5) {
    return std::nullopt;
  }
  return kEpoch2025 + ((d - 1) * 24LL * 60 + h * 60 + m) * kMinute;
}

TEST(FileCursorTest, TwoHundredThousandFilesOverTenDaysStayBounded) {
  // 14 files a minute for 10 days: 201,600 files, ingested 1,000 per batch.
  std::vector<ListedFile> files;
  for (int64_t minute = 0; minute < 10 * 24 * 60; ++minute) {
    for (int k = 0; k < 14; ++k) {
      files.push_back({PathAt(minute, k), 100, kEpoch2025 + minute * kMinute + 1000});
    }
  }
  FileCursor cursor;
  size_t lo = 0;  // first listed file not yet sealed
  size_t max_json = 0;
  size_t max_set = 0;
  std::set<std::string> ingested;
  for (size_t next = 0; next < files.size();) {
    // The listing of the unsealed range (as FileStream lists it).
    while (lo < files.size() && cursor.Sealed(files[lo].path)) ++lo;
    std::vector<ListedFile> listing(files.begin() + lo,
                                    files.begin() + std::min(files.size(), next + 1000));
    std::vector<ListedFile> batch;
    for (const auto& f : listing) {
      if (cursor.IsNew(f)) batch.push_back(f);
    }
    ASSERT_FALSE(batch.empty());
    for (const auto& f : batch) ASSERT_TRUE(ingested.insert(f.path).second) << f.path;
    next += batch.size();
    FileCursor after = cursor.With(batch, TimeOf);
    // A late-file check that found nothing, a few minutes after the data.
    after.MarkChecked(batch.back().mtime_ms + 2 * kMinute, 5 * kMinute);
    after.Seal(listing, kDay, TimeOf);
    if ((next / 1000) % 20 == 0) {
      std::string json = after.ToJson();
      max_json = std::max(max_json, json.size());
      auto back = FileCursor::FromJson(json, "test");
      ASSERT_TRUE(back.ok());
      ASSERT_EQ(back->size(), after.size());
      ASSERT_EQ(back->watermark(), after.watermark());
      // FileStream::Advance keeps the cursor it serialized instead of parsing
      // the text back: the two must be the same state.
      ASSERT_EQ(back->ToJson(), json);
    }
    max_set = std::max(max_set, after.size());
    cursor = std::move(after);
  }
  EXPECT_EQ(ingested.size(), files.size());
  EXPECT_EQ(cursor.count(), files.size());
  // One day of files (20,160) plus a batch and the check margin.
  EXPECT_LE(max_set, 20'160u + 1000 + 5 * 14 + 14 * 10);
  // The documented bound: ~45 bytes a file of one late window (docs/sources.md).
  EXPECT_LT(max_json, 20'500u * 45);
  EXPECT_GT(max_set, 20'000u);  // the window really holds a day
}

TEST(FileCursorTest, LateFilesInsideAndAfterTheWindow) {
  FileCursor cursor;
  std::vector<ListedFile> listing;
  for (int64_t minute = 0; minute < 3 * 24 * 60; minute += 10) {
    listing.push_back({PathAt(minute, 0), 10, kEpoch2025 + minute * kMinute});
  }
  cursor = cursor.With(listing, TimeOf);
  cursor.MarkChecked(kEpoch2025 + 3 * kDay, 0);
  cursor.Seal(listing, kDay, TimeOf);
  ASSERT_FALSE(cursor.watermark().empty());
  EXPECT_TRUE(cursor.Sealed(PathAt(0, 0)));
  EXPECT_FALSE(cursor.Sealed(PathAt(3 * 24 * 60 - 10, 0)));
  EXPECT_LT(cursor.size(), listing.size());  // sealed paths left the set

  // Inside the window: a new file in an unsealed folder is new whatever its time.
  ListedFile inside{PathAt(2 * 24 * 60 + 5, 7), 10, kEpoch2025};
  EXPECT_TRUE(cursor.IsNew(inside));
  // After the window: a file in a sealed folder is new only when it landed
  // after the last late-file check covered that range...
  ListedFile late{PathAt(5, 7), 10, kEpoch2025 + 3 * kDay + kMinute};
  EXPECT_TRUE(cursor.Sealed(late.path));
  EXPECT_TRUE(cursor.IsNew(late));
  // ...and an ingested, sealed, pruned file is never new again.
  ListedFile old{PathAt(0, 0), 10, kEpoch2025};
  EXPECT_FALSE(cursor.IsNew(old));
  // Once taken, the late file is in the set until a later check covers it.
  cursor = cursor.With({late}, TimeOf);
  EXPECT_FALSE(cursor.IsNew(late));
  cursor.MarkChecked(kEpoch2025 + 4 * kDay, 0);
  cursor.Seal({}, kDay, TimeOf);
  EXPECT_FALSE(cursor.IsNew(late));
}

TEST(FileCursorTest, AFileNotYetIngestedBlocksTheWatermark) {
  std::vector<ListedFile> listing;
  for (int64_t minute = 0; minute < 3 * 24 * 60; minute += 60) {
    listing.push_back({PathAt(minute, 0), 10, kEpoch2025 + minute * kMinute});
  }
  std::vector<ListedFile> taken = listing;
  ListedFile held = taken[3];
  taken.erase(taken.begin() + 3);  // still being written: not taken
  FileCursor cursor = FileCursor().With(taken, TimeOf);
  cursor.Seal(listing, kDay, TimeOf);
  EXPECT_FALSE(cursor.Sealed(held.path));
  EXPECT_TRUE(cursor.IsNew(held));
  EXPECT_TRUE(cursor.watermark().empty() || cursor.watermark() < held.path);
}

TEST(FileCursorTest, ReadsTheFirstReleasesCursorAndRecordsItsBatch) {
  auto v1 = FileCursor::FromJson(
      R"({"version":1,"count":3,"files":{"2025/01/01/00/00":["a.avro","b.avro"],"2025/01/01/00/01":["c.avro"]}})",
      "v1");
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->count(), 3u);
  EXPECT_TRUE(v1->Contains("2025/01/01/00/00/b.avro"));
  FileCursor next = v1->With(std::vector<ListedFile>{{"2025/01/01/00/02/d.avro", 5, 1}}, TimeOf);
  EXPECT_EQ(next.base(), 3u);
  EXPECT_EQ(next.batch(), std::vector<std::string>{"2025/01/01/00/02/d.avro"});
  auto back = FileCursor::FromJson(next.ToJson(), "v2");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->base(), 3u);
  EXPECT_EQ(back->count(), 4u);
  EXPECT_EQ(back->Find("2025/01/01/00/02/d.avro")->size, 5);
  EXPECT_FALSE(FileCursor::FromJson("{", "bad").ok());
}

}  // namespace
}  // namespace sluice::sources
