// DMS file names, hex counters, date-partition folders and path times
// (sources/dms/dms_names.h).
#include "sluice/sources/dms/dms_names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "sluice/sources/dms/dms_settings.h"

namespace sluice::sources::dms {
namespace {

constexpr int64_t kJun24_2022 = 19167;  // days since 1970-01-01

TEST(DmsNames, FullLoadCounterIsHexadecimal) {
  auto a = ParseDmsFileName("LOAD00000009.csv", false);
  auto b = ParseDmsFileName("LOAD0000000A.csv", false);
  auto c = ParseDmsFileName("LOAD00000010.csv", false);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->kind, DmsFileKind::kFullLoad);
  EXPECT_EQ(a->load_counter, 9u);
  EXPECT_EQ(b->load_counter, 10u);
  EXPECT_EQ(c->load_counter, 16u);
  // Fixed width: text order is counter order, so path order is load order.
  std::vector<std::string> names = {"LOAD00000010.csv", "LOAD0000000A.csv", "LOAD0000000F.csv",
                                    "LOAD00000009.csv"};
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"LOAD00000009.csv", "LOAD0000000A.csv",
                                             "LOAD0000000F.csv", "LOAD00000010.csv"}));
}

TEST(DmsNames, SegmentsGzipAndFormats) {
  auto s = ParseDmsFileName("SEGMENT2_LOAD0000001F.parquet", true);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->segment, 2);
  EXPECT_EQ(s->load_counter, 31u);
  EXPECT_TRUE(s->parquet);
  auto g = ParseDmsFileName("LOAD00000001.csv.gz", false);
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->gzip);
  // A Parquet source does not read CSV files and the other way round,
  // except CDC_TXN files, which are CSV always.
  EXPECT_FALSE(ParseDmsFileName("LOAD00000001.csv", true));
  EXPECT_FALSE(ParseDmsFileName("LOAD00000001.parquet", false));
  auto txn = ParseDmsFileName("CDC_TXN-20220624-190132278-abc.csv", true);
  ASSERT_TRUE(txn);
  EXPECT_EQ(txn->kind, DmsFileKind::kCdcTxn);
  EXPECT_FALSE(ParseDmsFileName("LOAD0000001.csv", false));   // 7 digits
  EXPECT_FALSE(ParseDmsFileName("LOAD0000001G.csv", false));  // not hex
  EXPECT_FALSE(ParseDmsFileName("notes.txt", false));
  EXPECT_FALSE(ParseDmsFileName("20220624-1901.csv", false));
}

TEST(DmsNames, CdcNameCarriesItsTime) {
  auto f = ParseDmsFileName("20220624-190132278.csv", false);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, DmsFileKind::kCdc);
  ASSERT_TRUE(f->time_ms);
  EXPECT_EQ(*f->time_ms, ((kJun24_2022 * 24 + 19) * 60 + 1) * 60'000 + 32'278);
  EXPECT_FALSE(ParseDmsFileName("20221324-190132278.csv", false));  // month 13
}

TEST(DmsNames, PathTimeOfEveryPartitionDelimiter) {
  const int64_t day = kJun24_2022 * 86'400'000;
  for (const char* folder : {"2022/06/24", "2022-06-24", "2022_06_24", "20220624"}) {
    EXPECT_EQ(DmsPathTime(std::string(folder) + "/LOAD00000001.csv"), day) << folder;
  }
  EXPECT_EQ(DmsPathTime("2022/06/24/19/LOAD00000001.csv"), day + 19 * 3'600'000);
  EXPECT_EQ(DmsPathTime("202206/LOAD00000001.csv"), (kJun24_2022 - 23) * 86'400'000);
  // A CDC name's own time wins over its folder's.
  EXPECT_EQ(DmsPathTime("2022/06/24/20220624-190132278.csv"),
            day + ((19 * 60 + 1) * 60 + 32) * 1000 + 278);
  // Sequences whose text order is not time order give no time (never sealed).
  EXPECT_FALSE(DmsPathTime("06/2022/24/LOAD00000001.csv"));  // MMYYYYDD
  EXPECT_FALSE(DmsPathTime("24/06/2022/LOAD00000001.csv"));  // DDMMYYYY
  EXPECT_FALSE(DmsPathTime("06202224/LOAD00000001.csv"));
  // A full-load file at the table's top has no time.
  EXPECT_FALSE(DmsPathTime("LOAD00000001.csv"));
  EXPECT_TRUE(DmsPathTime("20220624-190132278.parquet"));
  // CDC_TXN names carry their time too (17 digits, or the CDC form).
  EXPECT_EQ(DmsPathTime("CDC_TXN-20220624190132278.csv"),
            day + ((19 * 60 + 1) * 60 + 32) * 1000 + 278);
  EXPECT_EQ(ParseDmsFileName("CDC_TXN-20220624-190132278-x.csv", false)->time_ms,
            day + ((19 * 60 + 1) * 60 + 32) * 1000 + 278);
}

TEST(DmsNames, TimestampColumnText) {
  auto us = ParseDmsTimestamp("2022-07-26 06:46:18.616807");
  ASSERT_TRUE(us);
  EXPECT_EQ(*us % 1'000'000, 616807);
  EXPECT_FALSE(ParseDmsTimestamp("26/07/2022 06:46"));
  EXPECT_FALSE(ParseDmsTimestamp(""));
}

TEST(DmsSettings, ParsesAndChecks) {
  auto s = ParseDmsSettings("csv", {{"csv_header", "false"},
                                    {"csv_delimiter", "|"},
                                    {"cdc_start_date", "2022-06-24"},
                                    {"before_image_prefix", "OLD_"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->parquet);
  EXPECT_FALSE(s->csv_header);
  EXPECT_EQ(s->csv_delimiter, '|');
  EXPECT_EQ(s->cdc_start_us, kJun24_2022 * 86'400'000'000LL);
  EXPECT_EQ(s->before_image_prefix, "OLD_");
  EXPECT_FALSE(ParseDmsSettings("avro", {}).ok());
  EXPECT_FALSE(ParseDmsSettings("csv", {{"csv_header", "maybe"}}).ok());
  EXPECT_FALSE(ParseDmsSettings("csv", {{"cdc_start_date", "June"}}).ok());
  EXPECT_FALSE(ParseDmsSettings("csv", {{"csv_no_sup_value", "NULL"}}).ok());
}

}  // namespace
}  // namespace sluice::sources::dms
