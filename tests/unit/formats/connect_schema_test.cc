// Kafka Connect schemas from JsonConverter and their Arrow types
// (formats/connect/connect_schema.h): each row of the mapping table.
#include "sluice/formats/connect/connect_schema.h"

#include <arrow/type.h>
#include <gtest/gtest.h>

#include <string>

#include "sluice/formats/connect/json_value_writer.h"

namespace sluice::formats::connect {
namespace {

std::shared_ptr<arrow::DataType> TypeOf(const std::string& json, ConnectArrowOptions opts = {}) {
  auto schema = ParseConnectSchema(json);
  EXPECT_TRUE(schema.ok()) << schema.status() << " for " << json;
  if (!schema.ok()) return nullptr;
  auto type = ArrowTypeFor(**schema, opts);
  EXPECT_TRUE(type.ok()) << type.status();
  return type.ok() ? *type : nullptr;
}

std::string Logical(const std::string& type, const std::string& name,
                    const std::string& params = "") {
  std::string s = R"({"type":")" + type + R"(","name":")" + name + R"(")";
  if (!params.empty()) s += R"(,"parameters":)" + params;
  return s + "}";
}

TEST(ConnectSchema, PrimitiveTypes) {
  EXPECT_TRUE(TypeOf(R"({"type":"int8"})")->Equals(arrow::int8()));
  EXPECT_TRUE(TypeOf(R"({"type":"int16"})")->Equals(arrow::int16()));
  EXPECT_TRUE(TypeOf(R"({"type":"int32"})")->Equals(arrow::int32()));
  EXPECT_TRUE(TypeOf(R"({"type":"int64"})")->Equals(arrow::int64()));
  EXPECT_TRUE(TypeOf(R"({"type":"float"})")->Equals(arrow::float32()));
  EXPECT_TRUE(TypeOf(R"({"type":"double"})")->Equals(arrow::float64()));
  EXPECT_TRUE(TypeOf(R"({"type":"boolean"})")->Equals(arrow::boolean()));
  EXPECT_TRUE(TypeOf(R"({"type":"string"})")->Equals(arrow::utf8()));
  EXPECT_TRUE(TypeOf(R"({"type":"bytes"})")->Equals(arrow::binary()));
}

TEST(ConnectSchema, StructFieldsKeepOrderAndOptionality) {
  auto schema = ParseConnectSchema(R"({"type":"struct","name":"db.inv.customers.Value",
      "optional":true,"fields":[{"type":"int32","optional":false,"field":"id"},
      {"type":"string","optional":true,"field":"email"}]})");
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_TRUE((*schema)->optional);
  EXPECT_EQ((*schema)->name, "db.inv.customers.Value");
  auto type = ArrowTypeFor(**schema, {});
  ASSERT_TRUE(type.ok());
  EXPECT_TRUE((*type)->Equals(arrow::struct_(
      {arrow::field("id", arrow::int32(), false), arrow::field("email", arrow::utf8(), true)})))
      << (*type)->ToString();
}

TEST(ConnectSchema, ArraysAndMaps) {
  EXPECT_TRUE(TypeOf(R"({"type":"array","items":{"type":"string","optional":true}})")
                  ->Equals(arrow::list(arrow::field("element", arrow::utf8(), true))));
  auto map = TypeOf(R"({"type":"map","keys":{"type":"string"},"values":{"type":"int64"}})");
  ASSERT_EQ(map->id(), arrow::Type::MAP);
  EXPECT_TRUE(static_cast<const arrow::MapType&>(*map).item_type()->Equals(arrow::int64()));
}

TEST(ConnectSchema, Decimals) {
  const std::string dec = "org.apache.kafka.connect.data.Decimal";
  EXPECT_TRUE(TypeOf(Logical("bytes", dec, R"({"scale":"2","connect.decimal.precision":"10"})"))
                  ->Equals(arrow::decimal128(10, 2)));
  // No precision: the widest decimal128.
  EXPECT_TRUE(TypeOf(Logical("bytes", dec, R"({"scale":"3"})"))->Equals(arrow::decimal128(38, 3)));
  // Above 38 digits: exact text by default, or decimal(38, s) when asked.
  const auto wide = Logical("bytes", dec, R"({"scale":"4","connect.decimal.precision":"50"})");
  EXPECT_TRUE(TypeOf(wide)->Equals(arrow::utf8()));
  ConnectArrowOptions opts;
  opts.decimal_overflow = DecimalOverflow::kDecimal38;
  EXPECT_TRUE(TypeOf(wide, opts)->Equals(arrow::decimal128(38, 4)));
  // Debezium's variable-scale decimal is exact text.
  EXPECT_TRUE(TypeOf(R"({"type":"struct","name":"io.debezium.data.VariableScaleDecimal",
      "fields":[{"type":"int32","field":"scale"},{"type":"bytes","field":"value"}]})")
                  ->Equals(arrow::utf8()));
}

TEST(ConnectSchema, TimeTypes) {
  const auto us_utc = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  const auto us = arrow::timestamp(arrow::TimeUnit::MICRO);
  EXPECT_TRUE(
      TypeOf(Logical("int32", "org.apache.kafka.connect.data.Date"))->Equals(arrow::date32()));
  EXPECT_TRUE(TypeOf(Logical("int32", "io.debezium.time.Date"))->Equals(arrow::date32()));
  EXPECT_TRUE(TypeOf(Logical("int32", "org.apache.kafka.connect.data.Time"))
                  ->Equals(arrow::time64(arrow::TimeUnit::MICRO)));
  EXPECT_TRUE(TypeOf(Logical("int32", "io.debezium.time.Time"))
                  ->Equals(arrow::time64(arrow::TimeUnit::MICRO)));
  EXPECT_TRUE(TypeOf(Logical("int64", "io.debezium.time.MicroTime"))
                  ->Equals(arrow::time64(arrow::TimeUnit::MICRO)));
  EXPECT_TRUE(TypeOf(Logical("int64", "io.debezium.time.NanoTime"))
                  ->Equals(arrow::time64(arrow::TimeUnit::NANO)));
  EXPECT_TRUE(TypeOf(Logical("int64", "org.apache.kafka.connect.data.Timestamp"))->Equals(us_utc));
  EXPECT_TRUE(TypeOf(Logical("int64", "io.debezium.time.Timestamp"))->Equals(us));
  EXPECT_TRUE(TypeOf(Logical("int64", "io.debezium.time.MicroTimestamp"))->Equals(us));
  EXPECT_TRUE(TypeOf(Logical("int64", "io.debezium.time.NanoTimestamp"))
                  ->Equals(arrow::timestamp(arrow::TimeUnit::NANO)));
  EXPECT_TRUE(TypeOf(Logical("string", "io.debezium.time.ZonedTimestamp"))->Equals(us_utc));
  // Names that are text or numbers in Arrow keep their underlying type.
  EXPECT_TRUE(TypeOf(Logical("string", "io.debezium.time.ZonedTime"))->Equals(arrow::utf8()));
  EXPECT_TRUE(TypeOf(Logical("string", "io.debezium.time.Interval"))->Equals(arrow::utf8()));
  EXPECT_TRUE(TypeOf(Logical("int64", "io.debezium.time.MicroDuration"))->Equals(arrow::int64()));
  EXPECT_TRUE(TypeOf(Logical("string", "io.debezium.data.Json"))->Equals(arrow::utf8()));
  EXPECT_TRUE(TypeOf(Logical("string", "io.debezium.data.Uuid"))->Equals(arrow::utf8()));
  EXPECT_TRUE(TypeOf(Logical("bytes", "io.debezium.data.Bits", R"({"length":"3"})"))
                  ->Equals(arrow::binary()));
}

TEST(ConnectSchema, AKnownNameOnAnotherTypeIsReadAsItsType) {
  EXPECT_TRUE(TypeOf(Logical("string", "io.debezium.time.MicroTimestamp"))->Equals(arrow::utf8()));
}

TEST(ConnectSchema, BadSchemasAreErrors) {
  for (
      const char* bad : {
          "not json",
          "[]",
          R"({"optional":true})",
          R"({"type":"int128"})",
          R"({"type":"struct"})",
          R"({"type":"struct","fields":[{"type":"int32"}]})",
          R"({"type":"struct","fields":[{"type":"int32","field":"a"},{"type":"int8","field":"a"}]})",
          R"({"type":"array"})",
          R"({"type":"map","keys":{"type":"string"}})",
          R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"})",
          R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"x"}})",
          R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"5","connect.decimal.precision":"3"}})",
      }) {
    auto schema = ParseConnectSchema(bad);
    EXPECT_FALSE(schema.ok()) << bad;
    if (!schema.ok()) {
      EXPECT_TRUE(schema.status().IsInvalid()) << schema.status();
    }
  }
  // Nesting is bounded.
  std::string deep = R"({"type":"string"})";
  for (int i = 0; i < kMaxDepth + 2; ++i) deep = R"({"type":"array","items":)" + deep + "}";
  EXPECT_FALSE(ParseConnectSchema(deep).ok());
}

TEST(ConnectJson, Base64) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("AAH+", &out));
  EXPECT_EQ(out, std::string("\x00\x01\xfe", 3));
  EXPECT_TRUE(DecodeBase64("MDk=", &out));
  EXPECT_EQ(out, "09");
  EXPECT_TRUE(DecodeBase64("MDk", &out));  // padding optional
  EXPECT_TRUE(DecodeBase64("", &out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(DecodeBase64("M", &out));
  EXPECT_FALSE(DecodeBase64("MD!=", &out));
  EXPECT_FALSE(DecodeBase64("MDl=", &out));  // non-zero padding bits
}

TEST(ConnectJson, DecimalTextIsExactAtAnyLength) {
  EXPECT_EQ(DecimalText(std::string("\x30\x39"), 2), "123.45");
  EXPECT_EQ(DecimalText(std::string("\xfb\x1e"), 2), "-12.50");
  EXPECT_EQ(DecimalText(std::string("\xff\xff\xfb\x1e"), 2), "-12.50");
  EXPECT_EQ(DecimalText(std::string("\x05"), 3), "0.005");
  EXPECT_EQ(DecimalText(std::string("\x00", 1), 0), "0");
  EXPECT_EQ(DecimalText("", 2), "0.00");
  EXPECT_EQ(DecimalText(std::string("\x80"), 0), "-128");
  // 10^40 + 5: beyond 128 bits.
  std::string b;
  ASSERT_TRUE(DecodeBase64("HWMp8cNcpL+rufVhAAAAAAU=", &b));
  EXPECT_EQ(DecimalText(b, 4), "1000000000000000000000000000000000000.0005");
  ASSERT_TRUE(DecodeBase64("AKtUqYzrHwrS", &b));
  EXPECT_EQ(DecimalText(b, 0), "12345678901234567890");
}

}  // namespace
}  // namespace sluice::formats::connect
