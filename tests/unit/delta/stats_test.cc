#include "sluice/delta/stats.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/json/from_string.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace sluice::delta {
namespace {

using arrow::field;
using nlohmann::json;

std::shared_ptr<arrow::Array> A(const std::shared_ptr<arrow::DataType>& type,
                                const std::string& values) {
  auto r = arrow::json::ArrayFromJSONString(type, values);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

std::shared_ptr<arrow::RecordBatch> Batch(const std::shared_ptr<arrow::Schema>& schema,
                                          std::vector<std::string> columns) {
  std::vector<std::shared_ptr<arrow::Array>> arrays;
  for (int i = 0; i < schema->num_fields(); ++i) {
    arrays.push_back(A(schema->field(i)->type(), columns[static_cast<size_t>(i)]));
  }
  return arrow::RecordBatch::Make(schema, arrays.empty() ? 0 : arrays[0]->length(), arrays);
}

std::string StatsOf(const std::shared_ptr<arrow::Schema>& schema,
                    const std::vector<std::vector<std::string>>& batches, StatsOptions opts = {}) {
  StatsCollector c(schema, opts);
  for (const auto& b : batches) {
    auto st = c.Update(*Batch(schema, b));
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  return c.ToJson();
}

TEST(StatsTest, IntegersAndFloats) {
  auto schema = arrow::schema({field("i8", arrow::int8()), field("i64", arrow::int64()),
                               field("u64", arrow::uint64()), field("f", arrow::float32()),
                               field("d", arrow::float64())});
  std::string s = StatsOf(
      schema, {{"[1, -5, null]", "[9007199254740993, -1, 0]", "[18446744073709551615, 3, null]",
                "[1.1, -2.5, null]", "[0.1, 1e300, -3]"}});
  EXPECT_EQ(
      s,
      R"({"numRecords":3,)"
      R"("minValues":{"i8":-5,"i64":-1,"u64":3,"f":-2.5,"d":-3},)"
      R"("maxValues":{"i8":1,"i64":9007199254740993,"u64":18446744073709551615,"f":1.1,"d":1e+300},)"
      R"("nullCount":{"i8":1,"i64":0,"u64":1,"f":1,"d":0}})");
  EXPECT_TRUE(json::accept(s));
}

TEST(StatsTest, NaNAndInfinity) {
  auto schema = arrow::schema({field("nan", arrow::float64()), field("inf", arrow::float64())});
  auto batch = arrow::RecordBatch::Make(
      schema, 3, {A(arrow::float64(), "[1, NaN, 2]"), A(arrow::float64(), "[1.5, -Inf, 3.5]")});
  StatsCollector c(schema);
  ASSERT_TRUE(c.Update(*batch).ok());
  EXPECT_EQ(c.ToJson(), R"({"numRecords":3,"minValues":{},"maxValues":{"inf":3.5},)"
                        R"("nullCount":{"nan":0,"inf":0}})");
}

TEST(StatsTest, DecimalsExact) {
  auto schema =
      arrow::schema({field("d", arrow::decimal128(38, 10)), field("e", arrow::decimal256(20, 2)),
                     field("z", arrow::decimal128(5, 0)), field("d32", arrow::decimal32(5, 2))});
  std::string s =
      StatsOf(schema, {{R"(["1234567890123456789012345678.0123456789", "-0.0000000001", null])",
                        R"(["-0.05", "12.30", "7.00"])", R"(["0", "-99999", "99999"])",
                        R"(["1.50", null, "-0.01"])"}});
  EXPECT_EQ(
      s,
      R"({"numRecords":3,)"
      R"("minValues":{"d":-1E-10,"e":-0.05,"z":-99999,"d32":-0.01},)"
      R"("maxValues":{"d":1234567890123456789012345678.0123456789,"e":12.30,"z":99999,"d32":1.50},)"
      R"("nullCount":{"d":1,"e":0,"z":0,"d32":1}})");
  EXPECT_TRUE(json::accept(s));
}

TEST(StatsTest, DatesAndTimestamps) {
  auto utc = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  auto ntz = arrow::timestamp(arrow::TimeUnit::MICRO);
  auto ns = arrow::timestamp(arrow::TimeUnit::NANO, "+02:00");
  auto sec = arrow::timestamp(arrow::TimeUnit::SECOND);
  auto schema =
      arrow::schema({field("d", arrow::date32()), field("d64", arrow::date64()), field("ts", utc),
                     field("ntz", ntz), field("ns", ns), field("s", sec)});
  // 1609459200123456 us = 2021-01-01T00:00:00.123456Z; -1 us = 1969-12-31T23:59:59.999999.
  std::string s =
      StatsOf(schema, {{"[18628, 0, null]", "[86400000, -86400000, null]",
                        "[1609459200123456, 1609459200000000, null]", "[-1, 1000, null]",
                        "[1609459200000000001, 1609459200000000000, null]", "[0, 59, null]"}});
  EXPECT_EQ(
      s,
      R"({"numRecords":3,)"
      R"("minValues":{"d":"1970-01-01","d64":"1969-12-31","ts":"2021-01-01T00:00:00.000Z",)"
      R"("ntz":"1969-12-31T23:59:59.999","ns":"2021-01-01T00:00:00.000Z","s":"1970-01-01T00:00:00.000"},)"
      R"("maxValues":{"d":"2021-01-01","d64":"1970-01-02","ts":"2021-01-01T00:00:00.124Z",)"
      R"("ntz":"1970-01-01T00:00:00.001","ns":"2021-01-01T00:00:00.001Z","s":"1970-01-01T00:00:59.000"},)"
      R"("nullCount":{"d":1,"d64":1,"ts":1,"ntz":1,"ns":1,"s":1}})");
}

TEST(StatsTest, NoMinMaxForBooleanBinaryArraysMaps) {
  auto schema = arrow::schema({field("b", arrow::boolean()), field("bin", arrow::binary()),
                               field("l", arrow::list(arrow::int32())),
                               field("m", arrow::map(arrow::utf8(), arrow::int32()))});
  std::string s = StatsOf(schema, {{"[true, null, false]", R"(["YQ==", null, null])",
                                    "[[1, null], null, []]", R"([[["k", 1]], null, null])"}});
  EXPECT_EQ(s, R"({"numRecords":3,"minValues":{},"maxValues":{},)"
               R"("nullCount":{"b":1,"bin":2,"l":1,"m":2}})");
}

TEST(StatsTest, NestedStructsAndParentNulls) {
  auto inner = arrow::struct_({field("x", arrow::int32()), field("y", arrow::utf8())});
  auto schema =
      arrow::schema({field("id", arrow::int64()),
                     field("s", arrow::struct_({field("a", arrow::int32()), field("in", inner),
                                                field("flag", arrow::boolean())}))});
  std::string s = StatsOf(schema, {{"[1, 2, 3]",
                                    R"([{"a": 5, "in": {"x": 1, "y": "b"}, "flag": true},
                    null,
                    {"a": null, "in": {"x": -7, "y": null}, "flag": null}])"}});
  EXPECT_EQ(s, R"({"numRecords":3,)"
               R"("minValues":{"id":1,"s":{"a":5,"in":{"x":-7,"y":"b"}}},)"
               R"("maxValues":{"id":3,"s":{"a":5,"in":{"x":1,"y":"b"}}},)"
               R"("nullCount":{"id":0,"s":{"a":2,"in":{"x":1,"y":2},"flag":2}}})");
}

TEST(StatsTest, StructChildValuesUnderNullParentIgnored) {
  // The child array holds 100 at the row where the struct is null.
  auto child = A(arrow::int32(), "[1, 100, 2]");
  auto validity = A(arrow::boolean(), "[true, false, true]");
  auto st = arrow::StructArray::Make(
      {child}, {field("v", arrow::int32())},
      std::static_pointer_cast<arrow::BooleanArray>(validity)->values(), 1);
  ASSERT_TRUE(st.ok());
  // BooleanArray values bitmap is the validity here: true,false,true.
  auto schema = arrow::schema({field("s", (*st)->type())});
  StatsCollector c(schema);
  ASSERT_TRUE(c.Update(*arrow::RecordBatch::Make(schema, 3, {*st})).ok());
  EXPECT_EQ(c.ToJson(), R"({"numRecords":3,"minValues":{"s":{"v":1}},"maxValues":{"s":{"v":2}},)"
                        R"("nullCount":{"s":{"v":1}}})");
}

TEST(StatsTest, AllNullColumnsAndEmpty) {
  auto schema = arrow::schema({field("i", arrow::int32()), field("s", arrow::utf8())});
  EXPECT_EQ(StatsOf(schema, {{"[null, null]", "[null, null]"}}),
            R"({"numRecords":2,"minValues":{},"maxValues":{},"nullCount":{"i":2,"s":2}})");
  EXPECT_EQ(StatsOf(schema, {}),
            R"({"numRecords":0,"minValues":{},"maxValues":{},"nullCount":{"i":0,"s":0}})");
}

TEST(StatsTest, StringsEscapedAndTruncated) {
  auto schema = arrow::schema({field("s", arrow::utf8())});
  StatsOptions opts;
  opts.string_prefix_length = 4;
  // Short strings are kept whole, with JSON escaping.
  EXPECT_EQ(StatsOf(schema, {{R"(["a\"b", "\\\n", null])"}}, opts),
            R"({"numRecords":3,"minValues":{"s":"\\\n"},"maxValues":{"s":"a\"b"},)"
            R"("nullCount":{"s":1}})");
  // ASCII: max gets 0x7F appended after the prefix.
  EXPECT_EQ(StatsOf(schema, {{R"(["abcdefgh", "abcdzzzz"])"}}, opts),
            "{\"numRecords\":2,\"minValues\":{\"s\":\"abcd\"},\"maxValues\":{\"s\":\"abcd\x7f\"},"
            "\"nullCount\":{\"s\":0}}");
  // Multi-byte: 4 code points, never split; next code point >= 0x7F ->
  // U+10FFFF tie-breaker.
  EXPECT_EQ(StatsOf(schema, {{R"(["日本語のテキスト", "äöüßé"])"}}, opts),
            "{\"numRecords\":2,\"minValues\":{\"s\":\"äöüß\"},"
            "\"maxValues\":{\"s\":\"日本語の\xF4\x8F\xBF\xBF\"},\"nullCount\":{\"s\":0}}");
  // Existing U+10FFFF after the prefix is skipped over.
  EXPECT_EQ(StatsOf(schema,
                    {{"[\"abcd\xF4\x8F\xBF\xBF"
                      "a\"]"}},
                    opts),
            "{\"numRecords\":1,\"minValues\":{\"s\":\"abcd\"},"
            "\"maxValues\":{\"s\":\"abcd\xF4\x8F\xBF\xBF\x7f\"},\"nullCount\":{\"s\":0}}");
  // Only U+10FFFF beyond 2x the prefix: no max can be built.
  std::string many;
  for (int i = 0; i < 10; ++i) many += "\xF4\x8F\xBF\xBF";
  EXPECT_EQ(StatsOf(schema, {{"[\"" + many + "\"]"}}, opts),
            "{\"numRecords\":1,\"minValues\":{\"s\":\"" + many.substr(0, 16) +
                "\"},\"maxValues\":{},\"nullCount\":{\"s\":0}}");
}

TEST(StatsTest, AccumulatesAcrossBatchesAndStringTypes) {
  auto schema = arrow::schema({field("i", arrow::int32()), field("ls", arrow::large_utf8()),
                               field("sv", arrow::utf8_view())});
  std::string s = StatsOf(schema, {{"[5, null]", R"(["m", null])", R"(["q", "r"])"},
                                   {"[3, 4]", R"(["z", "a"])", R"([null, "b"])"},
                                   {"[null]", "[null]", R"(["zz"])"}});
  EXPECT_EQ(s, R"({"numRecords":5,"minValues":{"i":3,"ls":"a","sv":"b"},)"
               R"("maxValues":{"i":5,"ls":"z","sv":"zz"},"nullCount":{"i":2,"ls":2,"sv":1}})");
}

// Strings that share long prefixes, differ only past byte 8, hold NULs or
// are prefixes of each other: min/max must still be the exact byte order.
TEST(StatsTest, StringMinMaxIsByteOrderAcrossSharedPrefixes) {
  std::mt19937 rng(7);
  const char alphabet[] = {'\0', 'a', 'b'};
  for (int round = 0; round < 200; ++round) {
    auto schema = arrow::schema({field("s", arrow::utf8())});
    StatsCollector c(schema);
    std::string lo, hi;
    bool has = false;
    for (int b = 0; b < 3; ++b) {
      arrow::StringBuilder builder;
      const int n = 1 + static_cast<int>(rng() % 20);
      for (int i = 0; i < n; ++i) {
        std::string v(rng() % 12, 'a');
        for (auto& ch : v) ch = alphabet[rng() % 3];
        ASSERT_TRUE(builder.Append(v).ok());
        if (!has || v < lo) lo = v;
        if (!has || hi < v) hi = v;
        has = true;
      }
      std::shared_ptr<arrow::Array> a;
      ASSERT_TRUE(builder.Finish(&a).ok());
      ASSERT_TRUE(c.Update(*arrow::RecordBatch::Make(schema, a->length(), {a})).ok());
    }
    auto j = json::parse(c.ToJson());
    ASSERT_EQ(j["minValues"]["s"].get<std::string>(), lo) << round;
    ASSERT_EQ(j["maxValues"]["s"].get<std::string>(), hi) << round;
  }
}

TEST(StatsTest, DictionaryArrays) {
  auto type = arrow::dictionary(arrow::int32(), arrow::utf8());
  auto schema = arrow::schema({field("d", type)});
  // "zzz" is in the dictionary but unreferenced; index 3 is a null entry.
  auto dict = A(arrow::utf8(), R"(["b", "zzz", "a", null, "c"])");
  auto indices = A(arrow::int32(), "[0, 2, null, 3, 4, 0]");
  auto arr = arrow::DictionaryArray::FromArrays(type, indices, dict);
  ASSERT_TRUE(arr.ok());
  StatsCollector c(schema);
  ASSERT_TRUE(c.Update(*arrow::RecordBatch::Make(schema, 6, {*arr})).ok());
  EXPECT_EQ(c.ToJson(), R"({"numRecords":6,"minValues":{"d":"a"},"maxValues":{"d":"c"},)"
                        R"("nullCount":{"d":2}})");
}

TEST(StatsTest, NumIndexedColsCountsLeaves) {
  auto schema = arrow::schema(
      {field("a", arrow::int32()),
       field("s", arrow::struct_({field("x", arrow::int32()), field("y", arrow::int32())})),
       field("l", arrow::list(arrow::int32())), field("b", arrow::int32())});
  std::vector<std::vector<std::string>> batches = {
      {"[1]", R"([{"x": 2, "y": 3}])", "[[1]]", "[4]"}};
  StatsOptions opts;
  opts.num_indexed_cols = 2;  // a, s.x
  EXPECT_EQ(StatsOf(schema, batches, opts),
            R"({"numRecords":1,"minValues":{"a":1,"s":{"x":2}},"maxValues":{"a":1,"s":{"x":2}},)"
            R"("nullCount":{"a":0,"s":{"x":0}}})");
  opts.num_indexed_cols = 4;  // a, s.x, s.y, l
  EXPECT_EQ(
      StatsOf(schema, batches, opts),
      R"({"numRecords":1,"minValues":{"a":1,"s":{"x":2,"y":3}},)"
      R"("maxValues":{"a":1,"s":{"x":2,"y":3}},"nullCount":{"a":0,"s":{"x":0,"y":0},"l":0}})");
  opts.num_indexed_cols = 0;
  EXPECT_EQ(StatsOf(schema, batches, opts),
            R"({"numRecords":1,"minValues":{},"maxValues":{},"nullCount":{}})");
  opts.num_indexed_cols = -1;
  EXPECT_EQ(json::parse(StatsOf(schema, batches, opts))["nullCount"],
            json::parse(R"({"a":0,"s":{"x":0,"y":0},"l":0,"b":0})"));
}

TEST(StatsTest, RejectsMismatchedBatch) {
  auto schema = arrow::schema({field("i", arrow::int32())});
  StatsCollector c(schema);
  auto other = arrow::schema({field("i", arrow::int64())});
  EXPECT_FALSE(c.Update(*Batch(other, {"[1]"})).ok());
  auto two = arrow::schema({field("i", arrow::int32()), field("j", arrow::int32())});
  EXPECT_FALSE(c.Update(*Batch(two, {"[1]", "[2]"})).ok());
}

TEST(StatsTest, NumRecordsFromStats) {
  auto r = NumRecordsFromStats(R"({"numRecords":42,"minValues":{}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::optional<int64_t>(42));
  r = NumRecordsFromStats(R"({"minValues":{}})");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_FALSE(NumRecordsFromStats("{oops").ok());
  EXPECT_FALSE(NumRecordsFromStats(R"({"numRecords":"x"})").ok());
}

}  // namespace
}  // namespace sluice::delta
