#include "sluice/cli/demo_stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

// 2025-01-01T00:01:30Z: three CDC minutes end at midnight's minute, so the
// folders cross a year, a month, a day and an hour.
constexpr int64_t kEndMs = 1735689690000;

class DemoStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice_demo_stream_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // relative path -> contents
  static std::map<std::string, std::string> Files(const fs::path& root) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      out[fs::relative(e.path(), root).generic_string()] = text.str();
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(DemoStreamTest, SameOptionsSameBytesAndCountsMatchTheFiles) {
  DemoStreamOptions options;
  options.rows = 100;
  options.batches = 3;
  options.end_ms = kEndMs;
  auto a = WriteDemoStream((dir_ / "a").string(), options);
  auto b = WriteDemoStream((dir_ / "b").string(), options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto files_a = Files(dir_ / "a");
  EXPECT_EQ(files_a, Files(dir_ / "b"));

  int64_t lines = 0;
  for (const auto& [path, text] : files_a) lines += std::count(text.begin(), text.end(), '\n');
  EXPECT_EQ(lines, a->events);
  EXPECT_EQ(static_cast<int64_t>(files_a.size()), a->files);
  ASSERT_EQ(a->tables.size(), 2u);
  EXPECT_EQ(a->tables[0].backfill, 20);  // a fifth of the rows are customers
  EXPECT_EQ(a->tables[1].backfill, 80);
  // rows / 4, at least 20 changes a minute
  int64_t cdc = 0;
  for (const auto& t : a->tables) cdc += t.inserts + t.updates + t.deletes;
  EXPECT_EQ(cdc, 3 * 25);

  options.seed = 7;
  ASSERT_TRUE(WriteDemoStream((dir_ / "c").string(), options).ok());
  EXPECT_NE(files_a, Files(dir_ / "c"));
}

TEST_F(DemoStreamTest, MinuteFoldersFollowSourceTimeInUtc) {
  DemoStreamOptions options;
  options.rows = 200;
  options.batches = 3;
  options.end_ms = kEndMs;
  ASSERT_TRUE(WriteDemoStream(dir_.string(), options).ok());
  std::set<std::string> minutes;
  for (const auto& [path, text] : Files(dir_)) {
    if (path.rfind("shop_orders/", 0) != 0) continue;
    std::string minute = path.substr(12, 16);
    bool backfill = path.find("_mysql-backfill-fulldump_") != std::string::npos;
    minutes.insert(minute + (backfill ? " backfill" : " cdc"));
    EXPECT_NE(text.find("\"object\":\"shop_orders\""), std::string::npos) << path;
  }
  EXPECT_EQ(minutes, (std::set<std::string>{"2024/12/31/23/57 backfill", "2024/12/31/23/58 cdc",
                                            "2024/12/31/23/59 cdc", "2025/01/01/00/00 cdc"}));
}

TEST(DemoStreamOptionsCheck, RefusesOutOfRange) {
  DemoStreamOptions ok;
  EXPECT_TRUE(CheckDemoStreamOptions(ok).ok());
  for (int64_t rows : {0, -5, 10'000'001}) {
    DemoStreamOptions o;
    o.rows = rows;
    auto st = CheckDemoStreamOptions(o);
    EXPECT_TRUE(st.IsInvalid()) << rows;
    EXPECT_NE(st.message().find("--rows"), std::string::npos);
  }
  for (int batches : {-1, 1441}) {
    DemoStreamOptions o;
    o.batches = batches;
    auto st = CheckDemoStreamOptions(o);
    EXPECT_TRUE(st.IsInvalid()) << batches;
    EXPECT_NE(st.message().find("--batches"), std::string::npos);
  }
  DemoStreamOptions zero;
  zero.rows = 0;
  EXPECT_FALSE(WriteDemoStream("/nonexistent/never-written", zero).ok());
}

}  // namespace
}  // namespace sluice::cli
