// SplitBytesByRows (pipeline/stream_pipeline.h): a unit read once for
// several tables gives each table the share of its rows (changes and bad
// rows), the shares add up to the unit's bytes exactly, and units that
// failed or decoded to nothing give nothing.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sluice/pipeline/stream_pipeline.h"

namespace sluice::pipeline {
namespace {

std::shared_ptr<arrow::RecordBatch> Rows(int64_t n) {
  arrow::Int64Builder b;
  for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(b.Append(i).ok());
  auto array = b.Finish().ValueOrDie();
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("id", arrow::int64())}), n, {array});
}

sources::TableChanges Table(const std::string& schema, const std::string& name, int64_t rows,
                            int bad = 0) {
  sources::TableChanges tc;
  tc.table = {schema, name};
  if (rows > 0) tc.batches.push_back(Rows(rows));
  for (int i = 0; i < bad; ++i) tc.bad.push_back({"f", i, "bad", ""});
  return tc;
}

TEST(SplitBytesByRows, SharesFollowRowsAndAddUpToTheUnitsBytes) {
  std::vector<sources::Unit> units = {
      {"u1", 1000, 0, 0}, {"u2", 10, 0, 1}, {"u3", 77, 0, 2}, {"u4", 500, 0, 3}};
  std::vector<Result<sources::DecodedUnit>> decoded;
  sources::DecodedUnit one;  // 3 : 1 (one of them a bad row)
  one.tables.push_back(Table("db", "a", 3));
  one.tables.push_back(Table("db", "b", 0, /*bad=*/1));
  decoded.push_back(std::move(one));
  sources::DecodedUnit two;  // 1 : 1 : 1 of 10 bytes: rounding leaves 1 byte
  two.tables.push_back(Table("db", "a", 1));
  two.tables.push_back(Table("db", "b", 1));
  two.tables.push_back(Table("db", "c", 1));
  decoded.push_back(std::move(two));
  decoded.push_back(Status::IOError("unit u3 could not be read"));
  decoded.push_back(sources::DecodedUnit{});  // nothing in it
  auto shares = SplitBytesByRows(units, decoded);
  EXPECT_EQ(shares["db.a"], 750 + 3 + 1);  // the rounding remainder goes to one table
  EXPECT_EQ(shares["db.b"], 250 + 3);
  EXPECT_EQ(shares["db.c"], 3);
  EXPECT_EQ(shares["db.a"] + shares["db.b"] + shares["db.c"], 1010);
  EXPECT_EQ(shares.size(), 3u);
}

TEST(SplitBytesByRows, HugeUnitsDoNotOverflow) {
  std::vector<sources::Unit> units = {{"big", int64_t{1} << 60, 0, 0}};
  std::vector<Result<sources::DecodedUnit>> decoded;
  sources::DecodedUnit d;
  d.tables.push_back(Table("db", "a", 1000));
  d.tables.push_back(Table("db", "b", 3000));
  decoded.push_back(std::move(d));
  auto shares = SplitBytesByRows(units, decoded);
  EXPECT_EQ(shares["db.a"], (int64_t{1} << 60) / 4);
  EXPECT_EQ(shares["db.a"] + shares["db.b"], int64_t{1} << 60);
}

}  // namespace
}  // namespace sluice::pipeline
