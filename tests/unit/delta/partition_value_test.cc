#include "sluice/delta/partition_value.h"

#include <arrow/array.h>
#include <arrow/json/from_string.h>
#include <arrow/scalar.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

#include <cmath>

namespace sluice::delta {
namespace {

std::shared_ptr<arrow::Array> A(const std::shared_ptr<arrow::DataType>& type,
                                const std::string& values) {
  auto r = arrow::json::ArrayFromJSONString(type, values);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

// Serializes every row of `values` (JSON) of `type`.
std::vector<std::optional<std::string>> Ser(const std::shared_ptr<arrow::DataType>& type,
                                            const std::string& values) {
  auto arr = A(type, values);
  std::vector<std::optional<std::string>> out;
  for (int64_t i = 0; i < arr->length(); ++i) {
    auto r = SerializePartitionValue(*arr, i);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    out.push_back(r.ok() ? *r : std::optional<std::string>("<error>"));
  }
  return out;
}

using V = std::vector<std::optional<std::string>>;
constexpr std::nullopt_t N = std::nullopt;

// Parses `text` as `type` and checks it equals the scalar built from JSON.
void ExpectParse(const std::shared_ptr<arrow::DataType>& type,
                 const std::optional<std::string>& text, const std::string& expected_json) {
  SCOPED_TRACE(text.value_or("<null>") + " as " + type->ToString());
  auto r = ParsePartitionValue(text, type);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto expected = arrow::json::ScalarFromJSONString(type, expected_json);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  EXPECT_TRUE((*r)->Equals(**expected)) << (*r)->ToString() << " vs " << (*expected)->ToString();
}

void ExpectParseError(const std::shared_ptr<arrow::DataType>& type, const std::string& text) {
  auto r = ParsePartitionValue(text, type);
  EXPECT_FALSE(r.ok()) << text << " as " << type->ToString() << " gave " << (*r)->ToString();
}

TEST(PartitionValueTest, Strings) {
  EXPECT_EQ(Ser(arrow::utf8(), R"(["a b", "x/y=z", null, ""])"), (V{"a b", "x/y=z", N, N}));
  EXPECT_EQ(Ser(arrow::large_utf8(), R"(["é"])"), (V{"é"}));
  EXPECT_EQ(Ser(arrow::utf8_view(), R"(["v"])"), (V{"v"}));
  ExpectParse(arrow::utf8(), "x/y=z", R"("x/y=z")");
  ExpectParse(arrow::utf8(), "", R"("")");
  ExpectParse(arrow::utf8(), N, "null");
  ExpectParse(arrow::large_utf8(), "abc", R"("abc")");
}

TEST(PartitionValueTest, Binary) {
  auto arr = A(arrow::binary(), R"(["YWJj", null])");  // JSON binary is raw: "YWJj"
  auto r = SerializePartitionValue(*arr, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, "YWJj");
  std::string raw("\x00\x01\xff", 3);
  auto scalar = ParsePartitionValue(raw, arrow::binary());
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(std::static_pointer_cast<arrow::BinaryScalar>(*scalar)->view(), raw);
  EXPECT_FALSE(SerializePartitionValue(*arr, 1)->has_value());
}

TEST(PartitionValueTest, Integers) {
  EXPECT_EQ(Ser(arrow::int8(), "[-128, 127, null]"), (V{"-128", "127", N}));
  EXPECT_EQ(Ser(arrow::int64(), "[-9223372036854775808]"), (V{"-9223372036854775808"}));
  EXPECT_EQ(Ser(arrow::uint64(), "[18446744073709551615]"), (V{"18446744073709551615"}));
  ExpectParse(arrow::int32(), "-42", "-42");
  ExpectParse(arrow::int64(), "9223372036854775807", "9223372036854775807");
  ExpectParse(arrow::int16(), "", "null");
  ExpectParse(arrow::int16(), N, "null");
  ExpectParseError(arrow::int8(), "128");
  ExpectParseError(arrow::int32(), "12x");
}

TEST(PartitionValueTest, Booleans) {
  EXPECT_EQ(Ser(arrow::boolean(), "[true, false, null]"), (V{"true", "false", N}));
  ExpectParse(arrow::boolean(), "true", "true");
  ExpectParse(arrow::boolean(), "FALSE", "false");
  ExpectParseError(arrow::boolean(), "yes");
}

TEST(PartitionValueTest, Floats) {
  EXPECT_EQ(Ser(arrow::float64(), "[1.5, -0.1, 1e300, 3]"), (V{"1.5", "-0.1", "1e+300", "3"}));
  EXPECT_EQ(Ser(arrow::float32(), "[1.1]"), (V{"1.1"}));
  EXPECT_EQ(Ser(arrow::float64(), "[NaN, Inf, -Inf]"), (V{"NaN", "Infinity", "-Infinity"}));
  ExpectParse(arrow::float64(), "1.5", "1.5");
  ExpectParse(arrow::float64(), "1.0E10", "1e10");
  ExpectParse(arrow::float32(), "1.1", "1.1");
  auto nan = ParsePartitionValue(std::string("NaN"), arrow::float64());
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(std::static_pointer_cast<arrow::DoubleScalar>(*nan)->value));
  auto inf = ParsePartitionValue(std::string("-Infinity"), arrow::float64());
  ASSERT_TRUE(inf.ok());
  EXPECT_EQ(std::static_pointer_cast<arrow::DoubleScalar>(*inf)->value, -HUGE_VAL);
  ExpectParseError(arrow::float64(), "1.5.2");
}

TEST(PartitionValueTest, Decimals) {
  auto t = arrow::decimal128(10, 3);
  EXPECT_EQ(Ser(t, R"(["-0.050", "1234567.000", "0.000", null])"),
            (V{"-0.050", "1234567.000", "0.000", N}));
  EXPECT_EQ(Ser(arrow::decimal128(38, 10), R"(["0.0000000001"])"), (V{"0.0000000001"}));
  EXPECT_EQ(Ser(arrow::decimal256(40, 0), R"(["-12"])"), (V{"-12"}));
  ExpectParse(t, "-0.05", R"("-0.050")");
  ExpectParse(t, "12", R"("12.000")");
  ExpectParse(t, "1.5E2", R"("150.000")");
  ExpectParseError(t, "0.0001");       // loses digits at scale 3
  ExpectParseError(t, "123456789.0");  // exceeds precision 10
  ExpectParseError(t, "abc");
  auto t32 = arrow::decimal32(7, 2);
  EXPECT_EQ(Ser(t32, R"(["-1.25"])"), (V{"-1.25"}));
  ExpectParse(t32, "-1.25", R"("-1.25")");
  auto t64 = arrow::decimal64(18, 4);
  EXPECT_EQ(Ser(t64, R"(["0.0001"])"), (V{"0.0001"}));
  ExpectParse(t64, "0.0001", R"("0.0001")");
}

TEST(PartitionValueTest, Dates) {
  EXPECT_EQ(Ser(arrow::date32(), "[0, 18628, -1, null]"),
            (V{"1970-01-01", "2021-01-01", "1969-12-31", N}));
  EXPECT_EQ(Ser(arrow::date64(), "[86400000]"), (V{"1970-01-02"}));
  ExpectParse(arrow::date32(), "2021-01-01", "18628");
  ExpectParse(arrow::date32(), "0001-01-01", "-719162");
  ExpectParse(arrow::date32(), "9999-12-31", "2932896");
  ExpectParse(arrow::date64(), "1970-01-02", "86400000");
  ExpectParseError(arrow::date32(), "2021-02-30");
  ExpectParseError(arrow::date32(), "2021-1-1");
  // The four-digit year range 0000..9999 is the limit both ways.
  ExpectParse(arrow::date32(), "0000-01-01", "-719528");
  EXPECT_EQ(Ser(arrow::date32(), "[-719528, 2932896]"), (V{"0000-01-01", "9999-12-31"}));
  EXPECT_FALSE(SerializePartitionValue(*A(arrow::date32(), "[2932897]"), 0).ok());
  EXPECT_FALSE(SerializePartitionValue(*A(arrow::date32(), "[-719529]"), 0).ok());
}

TEST(PartitionValueTest, Timestamps) {
  auto us = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  EXPECT_EQ(Ser(us, "[0, 1609459200123456, -1, 1609459200000000, null]"),
            (V{"1970-01-01 00:00:00", "2021-01-01 00:00:00.123456", "1969-12-31 23:59:59.999999",
               "2021-01-01 00:00:00", N}));
  EXPECT_EQ(Ser(arrow::timestamp(arrow::TimeUnit::NANO, "UTC"), "[1, 1000]"),
            (V{"1970-01-01 00:00:00.000000001", "1970-01-01 00:00:00.000001"}));
  EXPECT_EQ(Ser(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), "[1500]"),
            (V{"1970-01-01 00:00:01.500000"}));
  ExpectParse(us, "2021-01-01 00:00:00.123456", "1609459200123456");
  ExpectParse(us, "2021-01-01 00:00:00", "1609459200000000");
  ExpectParse(us, "2021-01-01T00:00:00.123456Z", "1609459200123456");
  ExpectParse(us, "2021-01-01T02:00:00.5+02:00", "1609459200500000");
  ExpectParse(us, "2020-12-31T19:00:00-0500", "1609459200000000");
  ExpectParse(us, "1969-12-31 23:59:59.999999", "-1");
  ExpectParse(us, "2021-01-01", "1609459200000000");
  ExpectParse(arrow::timestamp(arrow::TimeUnit::NANO, "UTC"), "1970-01-01 00:00:00.000000001", "1");
  ExpectParseError(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), "1970-01-01 00:00:00.0001");
  ExpectParseError(us, "2021-01-01 25:00:00");
  ExpectParseError(us, "2021-01-01 00:00:00 junk");
  ExpectParse(us, "", "null");
}

TEST(PartitionValueTest, TimestampNtz) {
  auto ntz = arrow::timestamp(arrow::TimeUnit::MICRO);
  EXPECT_EQ(Ser(ntz, "[1609459200123456]"), (V{"2021-01-01 00:00:00.123456"}));
  ExpectParse(ntz, "2021-01-01 00:00:00.123456", "1609459200123456");
  ExpectParse(ntz, "2021-01-01T00:00:00", "1609459200000000");
  ExpectParseError(ntz, "2021-01-01T00:00:00Z");
  ExpectParseError(ntz, "2021-01-01 00:00:00+01:00");
}

TEST(PartitionValueTest, DictionaryArrays) {
  auto type = arrow::dictionary(arrow::int8(), arrow::utf8());
  auto arr = arrow::DictionaryArray::FromArrays(type, A(arrow::int8(), "[1, null, 0]"),
                                                A(arrow::utf8(), R"(["x", "y"])"));
  ASSERT_TRUE(arr.ok());
  EXPECT_EQ(*SerializePartitionValue(**arr, 0), std::optional<std::string>("y"));
  EXPECT_EQ(*SerializePartitionValue(**arr, 1), std::nullopt);
  EXPECT_EQ(*SerializePartitionValue(**arr, 2), std::optional<std::string>("x"));
}

TEST(PartitionValueTest, UnsupportedTypes) {
  auto arr = A(arrow::list(arrow::int32()), "[[1]]");
  EXPECT_TRUE(SerializePartitionValue(*arr, 0).status().IsNotImplemented());
  EXPECT_TRUE(ParsePartitionValue(std::string("1"), arrow::list(arrow::int32()))
                  .status()
                  .IsNotImplemented());
  EXPECT_TRUE(SerializePartitionValue(*A(arrow::int32(), "[1]"), 1).status().IsIndexError());
}

TEST(PartitionValueTest, PathEscaping) {
  EXPECT_EQ(EscapePartitionPathSegment("plain-value_1.2 ok"), "plain-value_1.2 ok");
  EXPECT_EQ(EscapePartitionPathSegment("a/b=c:d%e"), "a%2Fb%3Dc%3Ad%25e");
  EXPECT_EQ(EscapePartitionPathSegment("\"#'*?\\{[]^"), "%22%23%27%2A%3F%5C%7B%5B%5D%5E");
  EXPECT_EQ(EscapePartitionPathSegment(std::string("\x01\n\x7f", 3)), "%01%0A%7F");
  EXPECT_EQ(EscapePartitionPathSegment("日本 }|<>"), "日本 }|<>");
  EXPECT_EQ(UnescapePartitionPathSegment("a%2Fb%3Dc%3Ad%25e"), "a/b=c:d%e");
  EXPECT_EQ(UnescapePartitionPathSegment("100%"), "100%");
  EXPECT_EQ(UnescapePartitionPathSegment("%zz%4"), "%zz%4");
  std::string all;
  for (int c = 1; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(UnescapePartitionPathSegment(EscapePartitionPathSegment(all)), all);
  EXPECT_EQ(PartitionPathSegment("date", std::string("2021-01-01")), "date=2021-01-01");
  EXPECT_EQ(PartitionPathSegment("ts", std::string("2021-01-01 00:00:00")),
            "ts=2021-01-01 00%3A00%3A00");
  EXPECT_EQ(PartitionPathSegment("c=1", std::nullopt), "c%3D1=__HIVE_DEFAULT_PARTITION__");
}

}  // namespace
}  // namespace sluice::delta
