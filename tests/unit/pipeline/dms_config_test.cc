// The DMS keys of the configuration (issue 14's TOML): [source.dms], the
// ordered `columns` of a table, SLUICE_SOURCE_DMS_<KEY>, and what reaches
// the source (source_options.h).
#include <arrow/type.h>
#include <gtest/gtest.h>

#include <fstream>

#include "sluice/pipeline/config.h"
#include "sluice/pipeline/source_options.h"

namespace sluice::pipeline {
namespace {

std::string WriteTemp(const std::string& text) {
  std::string path = ::testing::TempDir() + "sluice_dms_config_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
  std::ofstream(path) << text;
  return path;
}

TEST(DmsConfig, IssueExampleLoadsAndReachesTheSource) {
  auto path = WriteTemp(R"toml(
[source]
kind = "dms"
format = "csv"
path = "/data/dms-root"

[source.dms]
timestamp_column = "dmsTimestamp"
change_sequence_column = ""
csv_header = true
csv_null = "NULL"
csv_delimiter = ","
include_op_for_full_load = false
cdc_inserts_only = false
before_image_prefix = "BI_"
cdc_start_date = ""

[tables."public.orders"]
primary_keys = ["id"]
columns = { name = "string", id = "long", amount = "decimal(10,2)" }
)toml");
  auto c = LoadConfig(path, {{"SLUICE_SOURCE_DMS_CSV_NULL", "\\N"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->source_kind, "dms");
  EXPECT_EQ(c->format, "csv");
  EXPECT_EQ(c->source_settings.at("source.dms.timestamp_column"), "dmsTimestamp");
  EXPECT_EQ(c->source_settings.at("source.dms.csv_null"), "\\N");  // the environment wins
  // Written order, not sorted: header-less CSV takes its names from it.
  const auto& cols = c->tables.at("public.orders").columns;
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_EQ(cols[0].first, "name");
  EXPECT_EQ(cols[1].first, "id");
  EXPECT_EQ(cols[2].second, "decimal(10,2)");
  auto o = SourceOptionsFor(*c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->settings.at("timestamp_column"), "dmsTimestamp");
  ASSERT_EQ(o->tables.at("public.orders").columns.size(), 3u);
  EXPECT_EQ(o->tables.at("public.orders").columns[1].second->ToString(), "int64");
}

TEST(DmsConfig, UnknownKeyAndBadTypeAreErrors) {
  auto bad_key = LoadConfig(WriteTemp("[source.dms]\ncsv_headr = true\n"), {});
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.status().message().find("source.dms.csv_headr"), std::string::npos);
  auto c = LoadConfig(WriteTemp("[tables.\"a.b\"]\ncolumns = { id = \"lng\" }\n"), {});
  ASSERT_TRUE(c.ok());
  auto o = SourceOptionsFor(*c);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("tables.\"a.b\".columns.id"), std::string::npos);
}

}  // namespace
}  // namespace sluice::pipeline
