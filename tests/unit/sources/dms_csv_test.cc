// DMS CSV files through the source's reader (sources/dms/dms_file_reader.h):
// header-less layouts told by the field count, and CDC_TXN files split per
// table in one pass.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "sluice/sources/dms/dms_changes.h"
#include "sluice/sources/dms/dms_file_reader.h"

namespace sluice::sources::dms {
namespace {

DmsTableSchema Orders() {
  return {{"id"}, {{"id", arrow::int64()}, {"name", arrow::utf8()}, {"qty", arrow::int32()}}};
}

DmsSettings Headerless() {
  DmsSettings s;
  s.parquet = false;
  s.csv_header = false;
  s.timestamp_column = "ts";
  return s;
}

using Names = std::vector<std::string>;

TEST(DmsHeaderless, LayoutFromFieldCount) {
  DmsSettings s = Headerless();
  EXPECT_EQ(HeaderlessNames(s, Orders(), true, 5), (Names{"Op", "ts", "id", "name", "qty"}));
  // Before images of the key come after the columns.
  EXPECT_EQ(HeaderlessNames(s, Orders(), true, 6),
            (Names{"Op", "ts", "id", "name", "qty", "BI_id"}));
  // A file written before the last column was added.
  EXPECT_EQ(HeaderlessNames(s, Orders(), true, 4), (Names{"Op", "ts", "id", "name"}));
  EXPECT_EQ(HeaderlessNames(s, Orders(), false, 4), (Names{"ts", "id", "name", "qty"}));
  s.change_sequence_column = "AR_H_CHANGE_SEQ";
  EXPECT_EQ(HeaderlessNames(s, Orders(), true, 7),
            (Names{"Op", "ts", "id", "name", "qty", "AR_H_CHANGE_SEQ", "BI_id"}));
  EXPECT_TRUE(HeaderlessNames(s, Orders(), true, 9).empty());  // fits nothing
  EXPECT_TRUE(HeaderlessHasOp(s, DmsFileKind::kCdc));
  EXPECT_FALSE(HeaderlessHasOp(s, DmsFileKind::kFullLoad));
  s.cdc_inserts_only = true;
  EXPECT_FALSE(HeaderlessHasOp(s, DmsFileKind::kCdc));
}

TEST(DmsHeaderless, FileDecodesWithConfiguredNames) {
  std::string text =
      "I,2022-06-24 19:01:00.000001,1,\"a, b\",3\n"
      "U,2022-06-24 19:01:00.000002,1,NULL,4\n";
  auto name = *ParseDmsFileName("20220624-190100000.csv", false);
  auto rows =
      ReadDmsFile(arrow::Buffer::FromString(text), name, "s/t/f.csv", Headerless(), Orders());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->parts.size(), 1u);
  EXPECT_EQ(rows->parts[0].batch->schema()->field_names(),
            (Names{"Op", "ts", "id", "name", "qty"}));
  DmsFileContext ctx;
  ctx.where = "s/t/f.csv";
  auto out = ToChanges(rows->parts[0], ctx, Headerless(), Orders());
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->batch->num_rows(), 2);
  EXPECT_EQ(out->batch->GetColumnByName("name")->GetScalar(0).ValueOrDie()->ToString(), "a, b");
  EXPECT_FALSE(out->batch->GetColumnByName("name")->IsValid(1));
}

TEST(DmsHeaderless, WithoutRfc4180QuotesArePlainBytes) {
  DmsSettings s = Headerless();
  s.csv_rfc4180 = false;
  std::string text = "I,2022-06-24 19:01:00,1,say \"hi,3\n";
  auto name = *ParseDmsFileName("20220624-190100000.csv", false);
  auto rows = ReadDmsFile(arrow::Buffer::FromString(text), name, "w", s, Orders());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->parts.size(), 1u) << (rows->bad.empty() ? "" : rows->bad[0].reason);
  EXPECT_EQ(rows->parts[0].batch->GetColumnByName("name")->GetScalar(0).ValueOrDie()->ToString(),
            "say \"hi");
}

TEST(DmsHeaderless, DamagedGzipKeepsWholeLinesAndSaysWhatIsLost) {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "I,2022-06-24 19:01:00," + std::to_string(i) + ",name number " +
            std::to_string(i * 7919) + "," + std::to_string(i % 97) + "\n";
  }
  // gzip of `text` (python: gzip.compress), cut in the middle.
  std::string gz;
  {
    std::string tmp = ::testing::TempDir() + "dms_gzip_test.csv";
    std::ofstream(tmp, std::ios::binary) << text;
    ASSERT_EQ(std::system(("gzip -f -n " + tmp).c_str()), 0);
    std::ifstream in(tmp + ".gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto cut = arrow::Buffer::FromString(gz.substr(0, gz.size() / 2));
  auto name = *ParseDmsFileName("20220624-190100000.csv.gz", false);
  auto rows = ReadDmsFile(cut, name, "w", Headerless(), Orders());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->parts.size(), 1u);
  const int64_t n = rows->parts[0].batch->num_rows();
  EXPECT_GT(n, 0);
  EXPECT_LT(n, 2000);
  // Every row kept is a whole line: its name is the full text.
  auto names = rows->parts[0].batch->GetColumnByName("name");
  EXPECT_EQ(names->GetScalar(n - 1).ValueOrDie()->ToString(),
            "name number " + std::to_string((n - 1) * 7919));
  bool said = false;
  for (const auto& b : rows->bad) said = said || b.reason.find("damaged gzip") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(DmsCdcTxn, RowsOfManyTablesAreRoutedInOnePass) {
  DmsSettings s = Headerless();
  s.csv_header = true;  // AddColumnName does not apply to CDC_TXN files
  std::map<std::string, DmsTableSchema> schemas;
  schemas["sales.orders"] = Orders();
  schemas["sales.items"] = {{"sku"}, {{"sku", arrow::utf8()}, {"price", arrow::float64()}}};
  std::string text =
      "I,orders,sales,2022-06-24 19:01:00.000001,1,a,3\n"
      "I,items,sales,2022-06-24 19:01:00.000001,X1,2.5\n"
      "U,orders,sales,2022-06-24 19:01:00.000002,1,\"multi\nline\",4\n"
      "I,ghosts,sales,2022-06-24 19:01:00.000003,7\n"
      "D,items,sales,2022-06-24 19:01:00.000004,X1,2.5\n";
  auto rows = ReadCdcTxnFile(arrow::Buffer::FromString(text), "cdc/CDC_TXN-1.csv", s, schemas);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->tables.count("sales.orders"), 1u);
  ASSERT_EQ(rows->tables.count("sales.items"), 1u);
  const auto& orders = rows->tables.at("sales.orders").second;
  ASSERT_EQ(orders.parts.size(), 1u);
  EXPECT_EQ(orders.parts[0].batch->schema()->field_names(),
            (Names{"Op", "ts", "id", "name", "qty"}));
  EXPECT_EQ(orders.parts[0].row_numbers, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(orders.parts[0].offsets[1], text.find("U,orders"));
  const auto& items = rows->tables.at("sales.items").second;
  ASSERT_EQ(items.parts.size(), 1u);
  EXPECT_EQ(items.parts[0].row_numbers, (std::vector<int64_t>{1, 4}));
  // A table with no configured columns: its records are dead letters.
  ASSERT_EQ(rows->tables.count("sales.ghosts"), 1u);
  ASSERT_EQ(rows->tables.at("sales.ghosts").second.bad.size(), 1u);
  EXPECT_NE(rows->tables.at("sales.ghosts").second.bad[0].reason.find("no columns configured"),
            std::string::npos);

  // Sequences follow the file's record order across tables.
  DmsFileContext ctx;
  ctx.where = "cdc/CDC_TXN-1.csv";
  auto o = ToChanges(orders.parts[0], ctx, s, schemas["sales.orders"]);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->batch->GetColumnByName("_cdc_origin")->GetScalar(1).ValueOrDie()->ToString(),
            "cdc/CDC_TXN-1.csv#2");
  EXPECT_EQ(o->batch->GetColumnByName("name")->GetScalar(1).ValueOrDie()->ToString(),
            "multi\nline");
}

}  // namespace
}  // namespace sluice::sources::dms
