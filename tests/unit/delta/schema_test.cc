#include "sluice/delta/schema.h"

#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::delta {
namespace {

using nlohmann::json;

// Parses both sides so the comparison ignores whitespace but not key order
// within arrays (field order) or values.
void ExpectSameJson(const std::string& actual, const std::string& expected) {
  EXPECT_EQ(json::parse(actual), json::parse(expected)) << actual;
}

std::shared_ptr<arrow::Schema> FromDelta(const std::string& s) {
  auto r = SchemaFromDeltaJson(s);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : nullptr;
}

std::string ToDelta(const arrow::Schema& s) {
  auto r = SchemaToDeltaJson(s);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

std::string Field(const std::string& name, const std::string& type_json, bool nullable = true,
                  const std::string& metadata = "{}") {
  return R"({"name":")" + name + R"(","type":)" + type_json + R"(,"nullable":)" +
         (nullable ? "true" : "false") + R"(,"metadata":)" + metadata + "}";
}

std::string Struct(const std::vector<std::string>& fields) {
  std::string out = R"({"type":"struct","fields":[)";
  for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
  return out + "]}";
}

TEST(SchemaTest, PrimitiveTypesRoundTrip) {
  const std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> cases = {
      {"boolean", arrow::boolean()},
      {"byte", arrow::int8()},
      {"short", arrow::int16()},
      {"integer", arrow::int32()},
      {"long", arrow::int64()},
      {"float", arrow::float32()},
      {"double", arrow::float64()},
      {"decimal(10,2)", arrow::decimal128(10, 2)},
      {"decimal(38,0)", arrow::decimal128(38, 0)},
      {"string", arrow::utf8()},
      {"binary", arrow::binary()},
      {"date", arrow::date32()},
      {"timestamp", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      {"timestamp_ntz", arrow::timestamp(arrow::TimeUnit::MICRO)},
  };
  for (const auto& [delta, arrow_type] : cases) {
    SCOPED_TRACE(delta);
    std::string s = Struct({Field("c", "\"" + delta + "\"")});
    auto schema = FromDelta(s);
    ASSERT_NE(schema, nullptr);
    ASSERT_EQ(schema->num_fields(), 1);
    EXPECT_TRUE(schema->field(0)->type()->Equals(arrow_type))
        << schema->field(0)->type()->ToString();
    EXPECT_TRUE(schema->field(0)->nullable());
    EXPECT_EQ(ToDelta(*schema), s);  // exact text, Spark's key order
  }
}

TEST(SchemaTest, NullabilityKept) {
  std::string s = Struct({Field("a", "\"long\"", false), Field("b", "\"string\"", true)});
  auto schema = FromDelta(s);
  ASSERT_NE(schema, nullptr);
  EXPECT_FALSE(schema->field(0)->nullable());
  EXPECT_TRUE(schema->field(1)->nullable());
  EXPECT_EQ(ToDelta(*schema), s);
}

TEST(SchemaTest, NestedTypesRoundTrip) {
  std::string inner = Struct({Field("x", "\"integer\"", false), Field("y", "\"date\"")});
  std::string arr = R"({"type":"array","elementType":"string","containsNull":false})";
  std::string arr_of_struct =
      R"({"type":"array","elementType":)" + inner + R"(,"containsNull":true})";
  std::string map =
      R"({"type":"map","keyType":"string","valueType":{"type":"array","elementType":"long","containsNull":true},"valueContainsNull":false})";
  std::string s = Struct(
      {Field("s", inner), Field("a", arr, false), Field("as", arr_of_struct), Field("m", map)});
  auto schema = FromDelta(s);
  ASSERT_NE(schema, nullptr);
  auto expected_inner = arrow::struct_(
      {arrow::field("x", arrow::int32(), false), arrow::field("y", arrow::date32())});
  EXPECT_TRUE(schema->field(0)->type()->Equals(expected_inner));
  EXPECT_TRUE(
      schema->field(1)->type()->Equals(arrow::list(arrow::field("element", arrow::utf8(), false))));
  EXPECT_FALSE(schema->field(1)->nullable());
  EXPECT_TRUE(
      schema->field(2)->type()->Equals(arrow::list(arrow::field("element", expected_inner))));
  auto expected_map = std::make_shared<arrow::MapType>(
      arrow::field("key", arrow::utf8(), false),
      arrow::field("value", arrow::list(arrow::field("element", arrow::int64())), false));
  EXPECT_TRUE(schema->field(3)->type()->Equals(expected_map))
      << schema->field(3)->type()->ToString();
  EXPECT_EQ(ToDelta(*schema), s);
}

TEST(SchemaTest, MetadataRoundTripExact) {
  std::string md =
      R"({"comment":"the id","delta.columnMapping.id":5,"delta.columnMapping.physicalName":"col-1a2b","delta.identity.allowExplicitInsert":true,"x":null,"nested":{"a":[1,2.5,"s"]}})";
  std::string s = Struct({Field("id", "\"long\"", false, md)});
  auto schema = FromDelta(s);
  ASSERT_NE(schema, nullptr);
  auto meta = schema->field(0)->metadata();
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->Get("comment").ValueOr(""), "the id");
  EXPECT_EQ(meta->Get("sluice.json:delta.columnMapping.id").ValueOr(""), "5");
  EXPECT_EQ(meta->Get("delta.columnMapping.physicalName").ValueOr(""), "col-1a2b");
  EXPECT_EQ(meta->Get("sluice.json:delta.identity.allowExplicitInsert").ValueOr(""), "true");
  EXPECT_EQ(meta->Get("sluice.json:x").ValueOr(""), "null");
  EXPECT_EQ(ToDelta(*schema), s);
}

TEST(SchemaTest, ArrowMetadataToDelta) {
  auto schema = arrow::schema({arrow::field(
      "a", arrow::int32(), true,
      arrow::key_value_metadata({"comment", "sluice.json:delta.columnMapping.id"}, {"hi", "7"}))});
  ExpectSameJson(
      ToDelta(*schema),
      Struct({Field("a", "\"integer\"", true, R"({"comment":"hi","delta.columnMapping.id":7})")}));
  auto bad = arrow::schema({arrow::field(
      "a", arrow::int32(), true, arrow::key_value_metadata({"sluice.json:k"}, {"{not json"}))});
  EXPECT_TRUE(SchemaToDeltaJson(*bad).status().IsInvalid());
}

TEST(SchemaTest, ArrowOnlyTypesMapToDelta) {
  using arrow::field;
  auto schema = arrow::schema({
      field("i8", arrow::int8()),
      field("u8", arrow::uint8()),
      field("u16", arrow::uint16()),
      field("u32", arrow::uint32()),
      field("u64", arrow::uint64()),
      field("f16", arrow::float16()),
      field("d256", arrow::decimal256(20, 3)),
      field("ls", arrow::large_utf8()),
      field("sv", arrow::utf8_view()),
      field("lb", arrow::large_binary()),
      field("fsb", arrow::fixed_size_binary(16)),
      field("bv", arrow::binary_view()),
      field("d64", arrow::date64()),
      field("ts_s_tz", arrow::timestamp(arrow::TimeUnit::SECOND, "America/New_York")),
      field("ts_ns", arrow::timestamp(arrow::TimeUnit::NANO)),
      field("ll", arrow::large_list(arrow::int32())),
      field("fsl", arrow::fixed_size_list(field("item", arrow::int64(), false), 3)),
      field("dict", arrow::dictionary(arrow::int32(), arrow::utf8())),
  });
  ExpectSameJson(
      ToDelta(*schema),
      Struct({Field("i8", "\"byte\""), Field("u8", "\"short\""), Field("u16", "\"integer\""),
              Field("u32", "\"long\""), Field("u64", "\"decimal(20,0)\""),
              Field("f16", "\"float\""), Field("d256", "\"decimal(20,3)\""),
              Field("ls", "\"string\""), Field("sv", "\"string\""), Field("lb", "\"binary\""),
              Field("fsb", "\"binary\""), Field("bv", "\"binary\""), Field("d64", "\"date\""),
              Field("ts_s_tz", "\"timestamp\""), Field("ts_ns", "\"timestamp_ntz\""),
              Field("ll", R"({"type":"array","elementType":"integer","containsNull":true})"),
              Field("fsl", R"({"type":"array","elementType":"long","containsNull":false})"),
              Field("dict", "\"string\"")}));
}

TEST(SchemaTest, UnsupportedArrowTypesNameColumn) {
  auto check = [](std::shared_ptr<arrow::DataType> type, const std::string& type_text) {
    auto schema = arrow::schema({arrow::field(
        "outer", arrow::struct_({arrow::field("inner", arrow::list(std::move(type)))}))});
    auto r = SchemaToDeltaJson(*schema);
    ASSERT_TRUE(r.status().IsNotImplemented()) << r.status().ToString();
    EXPECT_NE(r.status().message().find("outer.inner.element"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(type_text), std::string::npos) << r.status().message();
  };
  check(arrow::time32(arrow::TimeUnit::MILLI), "time32");
  check(arrow::time64(arrow::TimeUnit::MICRO), "time64");
  check(arrow::duration(arrow::TimeUnit::SECOND), "duration");
  check(arrow::month_interval(), "month_interval");
  check(arrow::null(), "null");
  check(arrow::sparse_union({arrow::field("a", arrow::int32())}), "sparse_union");
  check(arrow::decimal256(40, 2), "decimal256(40, 2)");
}

TEST(SchemaTest, DeltaErrorsNameColumn) {
  auto r = SchemaFromDeltaJson(Struct({Field("s", Struct({Field("v", "\"variant\"")}))}));
  ASSERT_TRUE(r.status().IsNotImplemented());
  EXPECT_NE(r.status().message().find("s.v"), std::string::npos);
  EXPECT_NE(r.status().message().find("variant"), std::string::npos);

  r = SchemaFromDeltaJson(Struct({Field("weird", "\"interval\"")}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("weird"), std::string::npos);
  EXPECT_NE(r.status().message().find("interval"), std::string::npos);

  EXPECT_FALSE(SchemaFromDeltaJson(Struct({Field("d", "\"decimal(39,0)\"")})).ok());
  EXPECT_FALSE(SchemaFromDeltaJson(Struct({Field("d", "\"decimal(5,x)\"")})).ok());
  EXPECT_FALSE(SchemaFromDeltaJson("not json").ok());
  EXPECT_FALSE(SchemaFromDeltaJson(R"({"type":"array"})").ok());
  EXPECT_FALSE(SchemaFromDeltaJson(R"({"type":"struct","fields":[{"type":"long"}]})").ok());
}

// A schemaString as Spark writes it (PROTOCOL.md "Schema Serialization
// Format" example, plus column mapping metadata and decimal with a space).
TEST(SchemaTest, ParsesSparkSchemaString) {
  const char* spark =
      R"J({"type":"struct","fields":[)J"
      R"J({"name":"a","type":"integer","nullable":false,"metadata":{}},)J"
      R"J({"name":"b","type":{"type":"struct","fields":[)J"
      R"J({"name":"d","type":"integer","nullable":false,"metadata":{}}]},"nullable":true,"metadata":{}},)J"
      R"J({"name":"c","type":{"type":"array","elementType":"integer","containsNull":false},"nullable":true,"metadata":{}},)J"
      R"J({"name":"e","type":{"type":"array","elementType":{"type":"struct","fields":[)J"
      R"J({"name":"d","type":"integer","nullable":false,"metadata":{}}]},"containsNull":true},"nullable":true,"metadata":{}},)J"
      R"J({"name":"f","type":{"type":"map","keyType":"string","valueType":"string","valueContainsNull":true},"nullable":true,"metadata":{}},)J"
      R"J({"name":"amount","type":"decimal(12, 4)","nullable":true,"metadata":{"delta.columnMapping.id":7,"delta.columnMapping.physicalName":"col-5f422f40-de70-45b2-88ab-1d5c90e94db1"}},)J"
      R"J({"name":"ts","type":"timestamp","nullable":true,"metadata":{"comment":"event time"}}]})J";
  auto schema = FromDelta(spark);
  ASSERT_NE(schema, nullptr);
  ASSERT_EQ(schema->num_fields(), 7);
  EXPECT_FALSE(schema->field(0)->nullable());
  EXPECT_EQ(schema->field(1)->type()->id(), arrow::Type::STRUCT);
  EXPECT_EQ(schema->field(2)->type()->id(), arrow::Type::LIST);
  EXPECT_EQ(schema->field(4)->type()->id(), arrow::Type::MAP);
  EXPECT_TRUE(schema->field(5)->type()->Equals(arrow::decimal128(12, 4)));
  EXPECT_TRUE(schema->field(6)->type()->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  EXPECT_FALSE(SchemaUsesTimestampNtz(*schema));
  // Round trip: same JSON values (decimal is re-spelled without the space).
  auto back = json::parse(ToDelta(*schema));
  auto orig = json::parse(spark);
  orig["fields"][5]["type"] = "decimal(12,4)";
  EXPECT_EQ(back, orig);
}

TEST(SchemaTest, TimestampNtzDetection) {
  auto ntz = arrow::timestamp(arrow::TimeUnit::MICRO);
  EXPECT_TRUE(SchemaUsesTimestampNtz(*arrow::schema({arrow::field("t", ntz)})));
  EXPECT_TRUE(SchemaUsesTimestampNtz(
      *arrow::schema({arrow::field("s", arrow::struct_({arrow::field("l", arrow::list(ntz))}))})));
  EXPECT_TRUE(
      SchemaUsesTimestampNtz(*arrow::schema({arrow::field("m", arrow::map(arrow::utf8(), ntz))})));
  EXPECT_TRUE(SchemaUsesTimestampNtz(
      *arrow::schema({arrow::field("d", arrow::dictionary(arrow::int32(), ntz))})));
  EXPECT_FALSE(SchemaUsesTimestampNtz(
      *arrow::schema({arrow::field("t", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                      arrow::field("i", arrow::int64())})));
}

}  // namespace
}  // namespace sluice::delta
