// The real DMS full-load Parquet file (../shared/fixtures/dms, written by a
// DMS task from PostgreSQL) through the DMS source's reader and change
// builder, every value checked against what pyarrow reads from it.
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sluice/core/change_schema.h"
#include "sluice/sources/dms/dms_changes.h"
#include "sluice/sources/dms/dms_file_reader.h"
#include "sluice/sources/dms/dms_names.h"

namespace sluice::sources::dms {
namespace {

std::string FixturePath() {
  const char* env = std::getenv("SLUICE_FIXTURES_DIR");
  return std::string(env ? env : SLUICE_FIXTURES_DIR) +
         "/dms/parquet/dms_test_table_LOAD00000001.parquet";
}

arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAll(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto f, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, f->GetSize());
  return f->Read(size);
}

class DmsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bytes = ReadAll(FixturePath());
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString() << " (set SLUICE_FIXTURES_DIR)";
    bytes_ = *bytes;
    settings_.parquet = true;
    settings_.timestamp_column = "DMS_TIMESTAMP";
    name_ = *ParseDmsFileName("LOAD00000001.parquet", true);
  }
  std::shared_ptr<arrow::Buffer> bytes_;
  DmsSettings settings_;
  DmsFileName name_;
};

TEST_F(DmsFixture, DecodesEveryValue) {
  EXPECT_EQ(CheckDmsExtent(*bytes_, true), FileExtent::kWhole);
  auto rows = ReadDmsFile(bytes_, name_, "public/t/LOAD00000001.parquet", settings_, {});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_TRUE(rows->bad.empty());
  ASSERT_EQ(rows->parts.size(), 1u);
  DmsFileContext ctx;
  ctx.where = "public/t/LOAD00000001.parquet";
  ctx.kind = DmsFileKind::kFullLoad;
  ctx.ordinal = 0;
  auto out = ToChanges(rows->parts[0], ctx, settings_, {{"id"}, {}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->bad.empty());
  const auto& b = *out->batch;
  ASSERT_EQ(b.num_rows(), 10);
  // DMS_TIMESTAMP is the commit (transfer) time, not a payload column.
  EXPECT_EQ(b.schema()->field(0)->name(), "id");
  auto field = [&](const char* n) { return b.schema()->GetFieldByName(n); };
  EXPECT_TRUE(field("id")->type()->Equals(arrow::int64()));
  EXPECT_TRUE(field("my_smallint")->type()->Equals(arrow::int16()));
  EXPECT_TRUE(field("my_numeric")->type()->Equals(arrow::decimal128(15, 2)));
  EXPECT_TRUE(field("my_money")->type()->Equals(arrow::decimal128(38, 4)));
  EXPECT_TRUE(field("my_bytea")->type()->Equals(arrow::binary()));
  EXPECT_TRUE(
      field("my_timestamp")->type()->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  EXPECT_TRUE(field("my_bool")->type()->Equals(arrow::boolean()));
  auto v = [&](const char* col, int64_t row) {
    return b.GetColumnByName(col)->GetScalar(row).ValueOrDie()->ToString();
  };
  // Row 0 and 1 as pyarrow reads them.
  EXPECT_EQ(v("id", 0), "1");
  EXPECT_EQ(v("my_int", 0), "1298498081");
  EXPECT_EQ(v("my_smallint", 0), "15887");
  EXPECT_EQ(v("my_numeric", 0), "1427131847.59");
  EXPECT_EQ(v("my_money", 0), "47632969758.5400");
  EXPECT_EQ(v("my_varchar", 0), "");
  EXPECT_EQ(v("my_text", 0), "mraj");
  EXPECT_EQ(v("my_bytea", 0), "whthctcu");
  EXPECT_EQ(v("my_uuid", 0), "181e9c5d-9b55-4535-8c6e-6c8c1234b807");
  EXPECT_EQ(v("my_bool", 0), "false");
  EXPECT_EQ(v("my_bool", 1), "true");
  EXPECT_EQ(v("my_text", 1), "");
  EXPECT_EQ(v("my_jsonb", 1), R"({"key_78": "ynsg"})");
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(b.GetColumnByName("my_timestamp"));
  EXPECT_EQ(ts->Value(0), 1'635'694'452'458'000);  // 2021-10-31 15:34:12.458 UTC
  auto cdc_ts =
      std::static_pointer_cast<arrow::TimestampArray>(b.GetColumnByName(std::string(kTsColumn)));
  EXPECT_EQ(cdc_ts->Value(0), *ParseDmsTimestamp("2022-07-26 06:46:18.616807"));
  EXPECT_EQ(b.GetColumnByName(std::string(kOriginColumn))->GetScalar(9).ValueOrDie()->ToString(),
            "public/t/LOAD00000001.parquet#9");
}

TEST_F(DmsFixture, TruncatedOrCorruptFileIsADeadLetterNotACrash) {
  for (int64_t cut : {int64_t{3}, int64_t{100}, bytes_->size() / 2, bytes_->size() - 1}) {
    auto part = arrow::SliceBuffer(bytes_, 0, cut);
    EXPECT_NE(CheckDmsExtent(*part, true), FileExtent::kWhole) << cut;
    auto rows = ReadDmsFile(part, name_, "w", settings_, {});
    ASSERT_TRUE(rows.ok()) << cut;
    EXPECT_TRUE(rows->parts.empty()) << cut;
    ASSERT_EQ(rows->bad.size(), 1u) << cut;
    EXPECT_NE(rows->bad[0].reason.find("Parquet"), std::string::npos) << rows->bad[0].reason;
  }
  // Garbage in the middle, footer intact.
  auto copy = arrow::AllocateBuffer(bytes_->size()).ValueOrDie();
  std::memcpy(copy->mutable_data(), bytes_->data(), static_cast<size_t>(bytes_->size()));
  for (int64_t i = 8; i < bytes_->size() - 8; i += 7) copy->mutable_data()[i] ^= 0x5A;
  std::shared_ptr<arrow::Buffer> bad(std::move(copy));
  auto rows = ReadDmsFile(bad, name_, "w", settings_, {});
  ASSERT_TRUE(rows.ok());
  EXPECT_FALSE(rows->bad.empty());
}

}  // namespace
}  // namespace sluice::sources::dms
