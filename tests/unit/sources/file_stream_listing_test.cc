// A file stream on an object store lists its folder through io::TreeLister
// starting after the cursor's watermark: a poll never lists the sealed past
// of the folder, the late-file check lists all of it, and every file is
// still taken exactly once.
#include <arrow/buffer.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "sluice/io/tree_lister.h"
#include "sluice/sources/file_stream.h"

namespace sluice::sources {
namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kEpoch2025 = 1735689600000;  // 2025-01-01T00:00Z

std::string PathAtHour(int hour) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "2025/01/%02d/%02d/00/f.avro", hour / 24 + 1, hour % 24);
  return buf;
}

// An object store's listing of one folder, recording each request.
class FakeLister : public io::TreeLister {
 public:
  std::map<std::string, io::FileEntry> objects;  // by path inside "table"
  std::vector<std::string> afters;

  void Add(const std::string& path) { objects[path] = {path, 10, kEpoch2025}; }

  Result<std::vector<io::FileEntry>> ListTreeAfter(const std::string& dir,
                                                   const std::string& after) override {
    EXPECT_EQ(dir, "table");
    afters.push_back(after);
    std::vector<io::FileEntry> out;
    for (auto it = objects.upper_bound(after); it != objects.end(); ++it) out.push_back(it->second);
    return out;
  }
  Result<std::vector<std::string>> ListFolders(const std::string&) override {
    return std::vector<std::string>{"table"};
  }
};

class HourlyStream : public FileStream {
 public:
  using FileStream::FileStream;

 protected:
  bool IsDataFile(std::string_view name) const override {
    return name.size() > 5 && name.substr(name.size() - 5) == ".avro";
  }
  bool IsGzipFile(std::string_view path) const override {
    return path.size() > 3 && path.substr(path.size() - 3) == ".gz";
  }
  std::optional<int64_t> TimeOfPath(std::string_view path) const override {
    int y, mo, d, h, m;
    if (std::sscanf(std::string(path).c_str(), "%d/%d/%d/%d/%d/", &y, &mo, &d, &h, &m) != 5) {
      return std::nullopt;
    }
    return kEpoch2025 + ((d - 1) * 24LL + h) * kHour + m * 60'000LL;
  }
  FileExtent CheckExtent(const arrow::Buffer&, std::string_view) const override {
    return FileExtent::kWhole;
  }
  Result<std::optional<SourceTable>> IdentifyFile(const Unit&,
                                                  const std::shared_ptr<arrow::Buffer>&) override {
    return std::nullopt;
  }
  Result<DecodedUnit> DecodeFile(const Unit&, const std::shared_ptr<arrow::Buffer>&,
                                 const DecodeContext&) const override {
    return DecodedUnit{};
  }
};

std::vector<std::string> Take(HourlyStream& stream) {
  auto units = stream.Pending(10'000);
  EXPECT_TRUE(units.ok()) << units.status().ToString();
  std::vector<std::string> names;
  for (const auto& u : *units) names.push_back(u.name);
  auto position = stream.PositionAfter(*units);
  EXPECT_TRUE(position.ok());
  stream.Advance(*position);
  return names;
}

TEST(FileStreamListingTest, PollsListOnlyAfterTheWatermark) {
  auto lister = std::make_shared<FakeLister>();
  for (int h = 0; h < 72; ++h) lister->Add(PathAtHour(h));
  lister->Add("2025/01/01/00/00/_hidden/x.avro");
  lister->Add("2025/01/01/00/00/notes.txt");
  FileStreamOptions options;
  options.lister = lister;
  options.visible_while_written = false;
  options.late_window_ms = 24 * kHour;
  options.late_check_interval_ms = int64_t{1} << 50;  // only the first poll checks
  HourlyStream stream("table", options);
  ASSERT_TRUE(stream.Restore(std::nullopt).ok());

  // First poll: no watermark yet, plus the first late-file check.
  std::vector<std::string> first = Take(stream);
  ASSERT_EQ(first.size(), 72u);
  EXPECT_EQ(first.front(), PathAtHour(0));
  EXPECT_EQ(lister->afters, (std::vector<std::string>{"", ""}));
  // Everything older than a day before the newest file is sealed.
  const std::string watermark = stream.cursor().watermark();
  EXPECT_EQ(watermark, PathAtHour(71 - 24));

  // Next poll: one listing, from the watermark on; nothing is taken twice.
  lister->afters.clear();
  EXPECT_TRUE(Take(stream).empty());
  EXPECT_EQ(lister->afters, (std::vector<std::string>{watermark}));

  // A new file is taken once.
  lister->Add(PathAtHour(72));
  EXPECT_EQ(Take(stream), (std::vector<std::string>{PathAtHour(72)}));
  EXPECT_TRUE(Take(stream).empty());
  EXPECT_EQ(stream.cursor().count(), 73u);
}

// Prefetch() does a poll's listing ahead (the runner calls it for every
// stream at once): the next Pending() takes what it listed without a request
// of its own, including the late-file check's listing; without a prefetch,
// Pending() lists itself.
TEST(FileStreamListingTest, PendingUsesWhatPrefetchListed) {
  auto lister = std::make_shared<FakeLister>();
  for (int h = 0; h < 48; ++h) lister->Add(PathAtHour(h));
  FileStreamOptions options;
  options.lister = lister;
  options.visible_while_written = false;
  options.late_window_ms = 24 * kHour;
  options.late_check_interval_ms = int64_t{1} << 50;  // only the first poll checks
  HourlyStream stream("table", options);
  ASSERT_TRUE(stream.Restore(std::nullopt).ok());

  stream.Prefetch();
  EXPECT_EQ(lister->afters, (std::vector<std::string>{"", ""}));  // range + late check
  lister->Add(PathAtHour(48));                                    // lands after the prefetch
  lister->afters.clear();
  std::vector<std::string> first = Take(stream);
  EXPECT_TRUE(lister->afters.empty()) << "Pending() listed again";
  ASSERT_EQ(first.size(), 48u);  // what was listed: the new file waits for the next poll
  EXPECT_EQ(first.back(), PathAtHour(47));

  // The next poll without a prefetch lists itself and finds it.
  EXPECT_EQ(Take(stream), (std::vector<std::string>{PathAtHour(48)}));
  EXPECT_EQ(lister->afters.size(), 1u);
  // A prefetch is used once, and a restore drops it.
  stream.Prefetch();
  ASSERT_TRUE(stream.Restore(std::nullopt).ok());
  lister->afters.clear();
  EXPECT_EQ(Take(stream).size(), 49u);
  EXPECT_EQ(lister->afters, (std::vector<std::string>{"", ""}));
}

}  // namespace
}  // namespace sluice::sources
