// The run-building contract the Debezium record readers share
// (formats/debezium/record_run_builder.h): check before append, a refusal is
// a bad message and leaves no row, an empty run leaves no batch, null and
// oversize values are screened out.
#include "sluice/formats/debezium/record_run_builder.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace sluice::formats::debezium {
namespace {

// A run of {id int64} rows.
std::unique_ptr<RecordRunBuilder> IdRun(bool inferred) {
  auto schema = connect::ParseConnectSchema(
      R"({"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}]})");
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  auto type = connect::ArrowTypeFor(**schema, {});
  EXPECT_TRUE(type.ok()) << type.status().ToString();
  auto run = RecordRunBuilder::Make(*schema, *type, inferred);
  EXPECT_TRUE(run.ok()) << run.status().ToString();
  return std::move(run).ValueOrDie();
}

Status AppendId(RecordRunBuilder& run, int64_t id) {
  auto* row = static_cast<arrow::StructBuilder*>(run.builder());
  ARROW_RETURN_NOT_OK(row->Append());
  return static_cast<arrow::Int64Builder*>(row->field_builder(0))->Append(id);
}

TEST(RecordRunBuilder, RefusedMessagesLeaveNoRow) {
  auto run = IdRun(true);
  auto ok = [] { return Status::OK(); };
  bool appended = false;
  auto refused = run->Add(
      0, [] { return Status::TypeError("id: not a number"); },
      [&] {
        appended = true;
        return Status::OK();
      });
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->value_or(""), "id: not a number");
  EXPECT_FALSE(appended);
  auto added = run->Add(1, ok, [&] { return AppendId(*run, 7); });
  ASSERT_TRUE(added.ok());
  EXPECT_FALSE(added->has_value());
  auto trailing = run->Add(
      2, [] { return Status::Invalid("3 bytes after the record"); }, ok);
  ASSERT_TRUE(trailing.ok());
  EXPECT_EQ(trailing->value_or(""), "3 bytes after the record");

  DecodedRecords out;
  ASSERT_TRUE(run->FinishInto(&out).ok());
  ASSERT_EQ(out.runs.size(), 1u);
  const RecordRun& r = out.runs[0];
  EXPECT_EQ(r.messages, std::vector<int64_t>{1});
  EXPECT_TRUE(r.inferred);
  ASSERT_NE(r.schema, nullptr);
  ASSERT_EQ(r.batch->num_rows(), 1);
  EXPECT_EQ(r.batch->schema()->field(0)->name(), "id");
  EXPECT_EQ(std::static_pointer_cast<arrow::Int64Array>(r.batch->column(0))->Value(0), 7);
}

TEST(RecordRunBuilder, OtherCheckFailuresAreErrors) {
  auto run = IdRun(false);
  auto failed = run->Add(
      0, [] { return Status::IOError("lost"); }, [] { return Status::OK(); });
  EXPECT_TRUE(failed.status().IsIOError());
}

TEST(RecordRunBuilder, AnEmptyRunLeavesNoBatch) {
  auto run = IdRun(false);
  DecodedRecords out;
  ASSERT_TRUE(run->FinishInto(&out).ok());
  EXPECT_TRUE(out.runs.empty());
}

TEST(RecordRunBuilder, NullAndOversizeValuesAreScreenedOut) {
  DecodedRecords out;
  EXPECT_TRUE(RecordUndecodable(std::nullopt, 4, 8, &out));
  EXPECT_TRUE(RecordUndecodable(std::string_view("123456789"), 5, 8, &out));
  EXPECT_FALSE(RecordUndecodable(std::string_view("12345678"), 6, 8, &out));
  EXPECT_EQ(out.tombstones, std::vector<int64_t>{4});
  ASSERT_EQ(out.bad.size(), 1u);
  EXPECT_EQ(out.bad[0].index, 5);
  EXPECT_EQ(out.bad[0].reason, "message of 9 bytes exceeds the limit");
}

}  // namespace
}  // namespace sluice::formats::debezium
