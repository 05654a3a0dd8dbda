// DMS rows -> canonical change batches (sources/dms/dms_changes.h): op
// mapping, ordering, CSV cells cast to configured types, before images,
// partial images and dead letters.
#include "sluice/sources/dms/dms_changes.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "sluice/core/change_schema.h"
#include "sluice/sources/sequence_key.h"

namespace sluice::sources::dms {
namespace {

using Cell = std::optional<std::string>;

// A batch of utf8 columns, as the CSV decoder gives them.
DmsRawRows Csv(const std::vector<std::string>& names, const std::vector<std::vector<Cell>>& rows) {
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::Array>> cols;
  for (size_t c = 0; c < names.size(); ++c) {
    arrow::StringBuilder b;
    for (const auto& row : rows) {
      EXPECT_TRUE((row[c] ? b.Append(*row[c]) : b.AppendNull()).ok());
    }
    fields.push_back(arrow::field(names[c], arrow::utf8()));
    cols.push_back(b.Finish().ValueOrDie());
  }
  DmsRawRows raw;
  raw.batch =
      arrow::RecordBatch::Make(arrow::schema(fields), static_cast<int64_t>(rows.size()), cols);
  return raw;
}

DmsFileContext Cdc(uint64_t ordinal = 5) {
  DmsFileContext ctx;
  ctx.where = "public/t/20220624-190132278.csv";
  ctx.ordinal = ordinal;
  ctx.kind = DmsFileKind::kCdc;
  ctx.file_time_ms = 1'656'097'292'278;
  return ctx;
}

DmsFileContext Load(uint64_t ordinal = 9) {
  DmsFileContext ctx;
  ctx.where = "public/t/LOAD00000001.csv";
  ctx.ordinal = ordinal;
  ctx.kind = DmsFileKind::kFullLoad;
  return ctx;
}

DmsSettings Settings() {
  DmsSettings s;
  s.parquet = false;
  s.timestamp_column = "ts";
  return s;
}

std::vector<std::string> Ops(const arrow::RecordBatch& b) {
  auto dict =
      std::static_pointer_cast<arrow::DictionaryArray>(b.GetColumnByName(std::string(kOpColumn)));
  auto idx = std::static_pointer_cast<arrow::Int32Array>(dict->indices());
  std::vector<std::string> out;
  for (int64_t i = 0; i < b.num_rows(); ++i) {
    out.emplace_back(CdcOpName(static_cast<CdcOp>(idx->Value(i))));
  }
  return out;
}

std::string Seq(const arrow::RecordBatch& b, int64_t row) {
  auto a = std::static_pointer_cast<arrow::BinaryArray>(b.GetColumnByName(std::string(kSeqColumn)));
  return std::string(a->GetView(row));
}

TEST(DmsChanges, OpColumnMapsToOperations) {
  auto raw = Csv({"Op", "ts", "id", "name"}, {{"I", "2022-06-24 19:01:00.000001", "1", "a"},
                                              {"U", "2022-06-24 19:01:00.000002", "1", "b"},
                                              {"D", "2022-06-24 19:01:00.000003", "1", "b"},
                                              {"X", "2022-06-24 19:01:00.000004", "2", "c"}});
  auto out = ToChanges(raw, Cdc(), Settings(), {{"id"}, {}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->batch->num_rows(), 3);
  EXPECT_EQ(Ops(*out->batch), (std::vector<std::string>{"insert", "update", "delete"}));
  // Op and the timestamp column are not payload columns.
  EXPECT_EQ(out->batch->schema()->field(0)->name(), "id");
  EXPECT_EQ(out->batch->schema()->field(1)->name(), "name");
  EXPECT_EQ(out->batch->schema()->field(2)->name(), kOpColumn);
  ASSERT_EQ(out->bad.size(), 1u);
  EXPECT_NE(out->bad[0].reason.find("unknown Op 'X'"), std::string::npos);
  EXPECT_EQ(out->bad[0].offset, 3);
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(
      out->batch->GetColumnByName(std::string(kTsColumn)));
  EXPECT_EQ(ts->Value(1) % 1'000'000, 2);
  // Rows of one file at the same time keep their order.
  EXPECT_LT(CompareSequenceKeys(Seq(*out->batch, 0), Seq(*out->batch, 1)), 0);
}

TEST(DmsChanges, NoOpColumnIsInsertsOnly) {
  auto raw = Csv({"ts", "id"}, {{"2022-06-24 19:01:00", "1"}});
  auto out = ToChanges(raw, Cdc(), Settings(), {{"id"}, {}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Ops(*out->batch), (std::vector<std::string>{"insert"}));
}

TEST(DmsChanges, FullLoadIsSnapshotAndSortsBeforeEveryCdcRow) {
  // DMS may stamp a full-load row later than a CDC change of the same key,
  // and the full-load file may be read after the CDC file.
  auto load = ToChanges(Csv({"Op", "ts", "id"}, {{"I", "2030-01-01 00:00:00", "1"}}), Load(100),
                        Settings(), {{"id"}, {}});
  auto cdc = ToChanges(Csv({"Op", "ts", "id"}, {{"U", "2000-01-01 00:00:00", "1"}}), Cdc(1),
                       Settings(), {{"id"}, {}});
  ASSERT_TRUE(load.ok() && cdc.ok());
  EXPECT_EQ(Ops(*load->batch), (std::vector<std::string>{"snapshot"}));
  EXPECT_LT(CompareSequenceKeys(Seq(*load->batch, 0), Seq(*cdc->batch, 0)), 0);
}

TEST(DmsChanges, CdcStartDateStampsFullLoadRows) {
  DmsSettings s = Settings();
  s.cdc_start_us = 1'656'028'800'000'000;  // 2022-06-24
  auto load = ToChanges(Csv({"ts", "id"}, {{"2022-07-01 00:00:00", "1"}}), Load(), s, {{"id"}, {}});
  ASSERT_TRUE(load.ok());
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(
      load->batch->GetColumnByName(std::string(kTsColumn)));
  EXPECT_EQ(ts->Value(0), 1'656'028'800'000'000);
}

TEST(DmsChanges, ChangeSequenceComparesAsANumber) {
  DmsSettings s = Settings();
  s.change_sequence_column = "AR_H_CHANGE_SEQ";
  // As text "9..." > "10..."; as numbers 9 < 10. Timestamps say the opposite.
  auto raw = Csv({"Op", "ts", "id", "AR_H_CHANGE_SEQ"},
                 {{"U", "2022-06-24 19:01:09", "1", "00000000000000000000000000000000010"},
                  {"U", "2022-06-24 19:01:10", "1", "9"},
                  {"U", "2022-06-24 19:01:11", "1", "20220624190132000000000000000012345"},
                  {"U", "2022-06-24 19:01:12", "1", "12a"}});
  auto out = ToChanges(raw, Cdc(), s, {{"id"}, {}});
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->batch->num_rows(), 3);
  EXPECT_GT(CompareSequenceKeys(Seq(*out->batch, 0), Seq(*out->batch, 1)), 0);
  EXPECT_GT(CompareSequenceKeys(Seq(*out->batch, 2), Seq(*out->batch, 0)), 0);
  ASSERT_EQ(out->bad.size(), 1u);
  EXPECT_NE(out->bad[0].reason.find("is not a number"), std::string::npos);
  EXPECT_EQ(ParseChangeSequence("20220624190132000000000000000012345")->first,
            static_cast<uint64_t>((static_cast<unsigned __int128>(2022062419013200000ULL) *
                                       10'000'000'000'000'000ULL +
                                   12345) >>
                                  64));
  EXPECT_FALSE(ParseChangeSequence("123456789012345678901234567890123456789"));  // 39 digits
}

TEST(DmsChanges, CsvCellsCastToConfiguredTypes) {
  DmsTableSchema schema;
  schema.primary_keys = {"id"};
  schema.columns = {
      {"id", arrow::int64()},    {"price", arrow::decimal128(10, 2)},
      {"born", arrow::date32()}, {"seen", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      {"ok", arrow::boolean()},  {"absent", arrow::utf8()}};
  auto raw =
      Csv({"Op", "ts", "id", "price", "born", "seen", "ok", "extra"},
          {{"I", "2022-06-24 19:01:00", "1", "12.50", "2001-02-03", "2022-06-24 19:01:00.5", "true",
            "x"},
           {"I", "2022-06-24 19:01:00", "two", "1", "2001-02-03", std::nullopt, "false", "y"},
           {"I", "2022-06-24 19:01:00", "3", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
            "z"}});
  raw.offsets = {40, 120, 200};
  auto out = ToChanges(raw, Cdc(), Settings(), schema);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const auto& b = *out->batch;
  ASSERT_EQ(b.num_rows(), 2);
  EXPECT_TRUE(b.schema()->field(0)->type()->Equals(arrow::int64()));
  EXPECT_TRUE(b.schema()->field(1)->type()->Equals(arrow::decimal128(10, 2)));
  EXPECT_EQ(b.schema()->field(5)->name(), "absent");  // missing: NULL
  EXPECT_EQ(b.column(5)->null_count(), 2);
  EXPECT_EQ(b.GetColumnByName("extra"), nullptr);  // extra: dropped
  EXPECT_EQ(std::static_pointer_cast<arrow::Int64Array>(b.column(0))->Value(1), 3);
  EXPECT_EQ(b.column(1)->GetScalar(0).ValueOrDie()->ToString(), "12.50");
  EXPECT_TRUE(std::static_pointer_cast<arrow::BooleanArray>(b.column(4))->Value(0));
  ASSERT_EQ(out->bad.size(), 1u);
  EXPECT_EQ(out->bad[0].offset, 120);  // the record's byte offset
  EXPECT_EQ(out->bad[0].where, "public/t/20220624-190132278.csv");
  EXPECT_NE(out->bad[0].reason.find("column id"), std::string::npos) << out->bad[0].reason;
}

// Columns are cast once for all rows; the good rows' values must stay with
// their rows when rows before them are bad (a bad Op, a cell that does not
// cast), before images included.
TEST(DmsChanges, CastValuesStayWithTheirRowsAroundBadRows) {
  DmsTableSchema schema;
  schema.primary_keys = {"id"};
  schema.columns = {{"id", arrow::int64()},
                    {"seen", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
                    {"ok", arrow::boolean()}};
  const std::string ts = "2022-06-24 19:01:00";
  auto raw = Csv({"Op", "ts", "BI_id", "id", "seen", "ok"},
                 {{"I", ts, std::nullopt, "1", "2022-06-24 19:01:01", "true"},
                  {"X", ts, std::nullopt, "2", "2022-06-24 19:01:02", "false"},
                  {"I", ts, std::nullopt, "3", "not a time", "true"},
                  {"I", ts, std::nullopt, "4", "2022-06-24 19:01:04", "maybe"},
                  {"I", ts, std::nullopt, "5", "2022-06-24 19:01:05", "f"},
                  {"U", ts, "5", "6", "2022-06-24 19:01:06", "t"}});
  auto out = ToChanges(raw, Cdc(), Settings(), schema);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->bad.size(), 3u);
  EXPECT_EQ(out->bad[0].offset, 1);
  EXPECT_NE(out->bad[1].reason.find("column seen"), std::string::npos) << out->bad[1].reason;
  EXPECT_NE(out->bad[2].reason.find("column ok"), std::string::npos) << out->bad[2].reason;
  const auto& b = *out->batch;
  ASSERT_EQ(b.num_rows(), 4);
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"insert", "insert", "delete", "update"}));
  auto id = std::static_pointer_cast<arrow::Int64Array>(b.GetColumnByName("id"));
  auto seen = std::static_pointer_cast<arrow::TimestampArray>(b.GetColumnByName("seen"));
  auto ok = std::static_pointer_cast<arrow::BooleanArray>(b.GetColumnByName("ok"));
  const int64_t at_19_01 = 1'656'097'260'000'000;  // 2022-06-24 19:01:00 UTC, µs
  EXPECT_EQ(id->Value(0), 1);
  EXPECT_EQ(seen->Value(0), at_19_01 + 1'000'000);
  EXPECT_TRUE(ok->Value(0));
  EXPECT_EQ(id->Value(1), 5);
  EXPECT_EQ(seen->Value(1), at_19_01 + 5'000'000);
  EXPECT_FALSE(ok->Value(1));
  EXPECT_EQ(id->Value(2), 5);  // the key move's delete: the before image
  EXPECT_EQ(id->Value(3), 6);
  EXPECT_EQ(seen->Value(3), at_19_01 + 6'000'000);
  EXPECT_TRUE(ok->Value(3));
}

TEST(DmsChanges, ExtraColumnsDroppedOrRefused) {
  DmsTableSchema schema{{"id"}, {{"id", arrow::int64()}}};
  auto raw = Csv({"Op", "ts", "id", "extra"}, {{"I", "2022-06-24 19:01:00", "1", "x"}});
  DmsSettings s = Settings();
  auto dropped = ToChanges(raw, Cdc(), s, schema);
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->batch->num_rows(), 1);
  s.refuse_extra_columns = true;
  auto refused = ToChanges(raw, Cdc(), s, schema);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->batch, nullptr);
  ASSERT_EQ(refused->bad.size(), 1u);
  EXPECT_NE(refused->bad[0].reason.find("extra"), std::string::npos);
}

TEST(DmsChanges, UnparseableTimestampIsADeadLetter) {
  auto raw = Csv({"Op", "ts", "id"}, {{"I", "yesterday", "1"}, {"I", "2022-06-24 19:01:00", "2"}});
  auto out = ToChanges(raw, Cdc(), Settings(), {{"id"}, {}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->batch->num_rows(), 1);
  ASSERT_EQ(out->bad.size(), 1u);
  EXPECT_NE(out->bad[0].reason.find("unparseable timestamp 'yesterday'"), std::string::npos);
}

TEST(DmsChanges, NullKeyIsADeadLetter) {
  auto raw = Csv({"Op", "ts", "id"}, {{"I", "2022-06-24 19:01:00", std::nullopt}});
  auto out = ToChanges(raw, Cdc(), Settings(), {{"id"}, {}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->batch, nullptr);
  ASSERT_EQ(out->bad.size(), 1u);
}

TEST(DmsChanges, BeforeImageKeyChangeIsDeleteOfOldKeyAndUpdateOfNew) {
  DmsTableSchema schema{{"id"}, {{"id", arrow::int64()}, {"name", arrow::utf8()}}};
  auto raw = Csv({"Op", "ts", "BI_id", "BI_name", "id", "name"},
                 {{"U", "2022-06-24 19:01:00", "1", "a", "2", "a"},  // key 1 -> 2
                  {"U", "2022-06-24 19:01:01", "2", "a", "2", "b"},  // same key
                  {"I", "2022-06-24 19:01:02", std::nullopt, std::nullopt, "3", "c"}});
  auto out = ToChanges(raw, Cdc(), Settings(), schema);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const auto& b = *out->batch;
  ASSERT_EQ(b.num_rows(), 4);
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"delete", "update", "update", "insert"}));
  auto id = std::static_pointer_cast<arrow::Int64Array>(b.GetColumnByName("id"));
  EXPECT_EQ(id->Value(0), 1);  // the old key goes
  EXPECT_EQ(id->Value(1), 2);
  EXPECT_EQ(b.GetColumnByName("BI_id"), nullptr);  // before images are not payload
  EXPECT_LT(CompareSequenceKeys(Seq(b, 0), Seq(b, 1)), 0);
}

TEST(DmsChanges, NoSupValueCellsArePartialImages) {
  auto raw =
      Csv({"Op", "ts", "id", "name", "note"}, {{"U", "2022-06-24 19:01:00", "1", std::nullopt, "n"},
                                               {"U", "2022-06-24 19:01:01", "2", "b", "m"}});
  raw.unsupplied = {{}, {}, {}, {true, false}, {}};
  auto out = ToChanges(raw, Cdc(), Settings(), {{"id"}, {}});
  ASSERT_TRUE(out.ok());
  auto list =
      std::static_pointer_cast<arrow::ListArray>(out->batch->GetColumnByName("_cdc_unchanged"));
  ASSERT_NE(list, nullptr);
  ASSERT_EQ(list->value_length(0), 1);
  EXPECT_EQ(std::static_pointer_cast<arrow::StringArray>(list->values())->GetString(0), "name");
  EXPECT_EQ(list->value_length(1), 0);
}

TEST(DmsChanges, ReservedColumnNameFailsTheFile) {
  auto raw = Csv({"ts", "_cdc_seq"}, {{"2022-06-24 19:01:00", "1"}});
  EXPECT_FALSE(ToChanges(raw, Cdc(), Settings(), {}).ok());
}

}  // namespace
}  // namespace sluice::sources::dms
