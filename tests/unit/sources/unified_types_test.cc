// ToDeltaStorable on every Datastream Avro fixture (compared with what
// fastavro decodes, after the documented conversions: see
// tests/data/sources/gen_unified_types_expected.py) and on synthetic columns
// for each conversion, including nulls, negative offsets, sliced arrays and
// nesting.
#include "sluice/sources/datastream/unified_types.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "assert_result.h"
#include "sluice/delta/schema.h"
#include "sluice/formats/avro/ocf_reader.h"
#include "sluice/sources/datastream/change_batch_builder.h"

namespace sluice::sources::datastream {
namespace {

using nlohmann::json;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::shared_ptr<arrow::RecordBatch>> DecodeFixture(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(
      auto reader, formats::avro::OcfReader::Open(arrow::Buffer::FromString(ReadAll(path)), path));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (;;) {
    ARROW_ASSIGN_OR_RAISE(auto b, reader->Next());
    if (!b) break;
    batches.push_back(b);
  }
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(reader->schema(), batches));
  return table->CombineChunksToBatch();
}

// One value in the generator's notation (see its docstring).
json Render(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return nullptr;
  switch (a.type_id()) {
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(a).Value(i);
    case arrow::Type::INT8:
      return static_cast<const arrow::Int8Array&>(a).Value(i);
    case arrow::Type::INT16:
      return static_cast<const arrow::Int16Array&>(a).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(a).Value(i);
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(a).Value(i);
    case arrow::Type::FLOAT:
      return static_cast<double>(static_cast<const arrow::FloatArray&>(a).Value(i));
    case arrow::Type::DOUBLE:
      return static_cast<const arrow::DoubleArray&>(a).Value(i);
    case arrow::Type::DECIMAL128:
      return static_cast<const arrow::Decimal128Array&>(a).FormatValue(i);
    case arrow::Type::STRING:
      return std::string(static_cast<const arrow::StringArray&>(a).GetView(i));
    case arrow::Type::BINARY: {
      static const char* kHex = "0123456789abcdef";
      std::string out = "hex:";
      for (unsigned char c : static_cast<const arrow::BinaryArray&>(a).GetView(i)) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out;
    }
    case arrow::Type::TIMESTAMP:
      EXPECT_EQ(static_cast<const arrow::TimestampType&>(*a.type()).unit(), arrow::TimeUnit::MICRO);
      return static_cast<const arrow::TimestampArray&>(a).Value(i);
    case arrow::Type::DATE32:
      return static_cast<const arrow::Date32Array&>(a).Value(i);
    case arrow::Type::LIST: {
      const auto& l = static_cast<const arrow::ListArray&>(a);
      json out = json::array();
      for (int64_t j = l.value_offset(i); j < l.value_offset(i + 1); ++j)
        out.push_back(Render(*l.values(), j));
      return out;
    }
    case arrow::Type::STRUCT: {
      const auto& s = static_cast<const arrow::StructArray&>(a);
      json out = json::object();
      for (int k = 0; k < s.num_fields(); ++k)
        out[s.type()->field(k)->name()] = Render(*s.field(k), i);
      return out;
    }
    default:
      ADD_FAILURE() << "no rendering for " << a.type()->ToString();
      return "?";
  }
}

json RenderAll(const arrow::Array& a) {
  json out = json::array();
  for (int64_t i = 0; i < a.length(); ++i) out.push_back(Render(a, i));
  return out;
}

Result<StorableColumn> Convert(const std::shared_ptr<arrow::DataType>& type,
                               const std::string& values) {
  ARROW_ASSIGN_OR_RAISE(auto array, arrow::json::ArrayFromJSONString(type, values));
  ARROW_ASSIGN_OR_RAISE(auto out, ToDeltaStorable(arrow::field("c", type), array));
  // Rebuilt arrays (offsets, bitmaps) must be well-formed, not just readable.
  ARROW_RETURN_NOT_OK(out.values->ValidateFull());
  if (!out.values->type()->Equals(*out.field->type()))
    return Status::Invalid("field/array type mismatch");
  return out;
}

void ExpectStorable(const arrow::DataType& type) {
  auto delta = delta::DeltaTypeFromArrowType(type, "c");
  EXPECT_TRUE(delta.ok()) << delta.status().ToString();
}

auto Micros() { return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"); }

// --- the fixtures --------------------------------------------------------

TEST(UnifiedTypes, EveryAvroFixtureMatchesFastavroAfterConversion) {
  json expected = json::parse(
      ReadAll(std::string(SLUICE_TEST_DATA_DIR) + "/sources/unified_types_expected.json"));
  ASSERT_FALSE(expected.empty());
  const std::string dir = std::string(SLUICE_FIXTURES_DIR) + "/datastream/avro";
  int fixtures = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected.contains(name)) << "regenerate unified_types_expected.json";
    ASSERT_OK_AND_ASSIGN(auto events, DecodeFixture(entry.path().string()));
    ASSERT_OK_AND_ASSIGN(auto out, Normalize(*events, FileContext{name, 0, 0, 0}, {}));
    ASSERT_TRUE(out.rejected.empty()) << out.rejected[0].reason;
    ASSERT_TRUE(out.changes->ValidateFull().ok()) << out.changes->ValidateFull().ToString();
    // The whole change batch (payload, _cdc_row_id, canonical columns) is
    // storable, which is what `sluice run` needs.
    auto delta_schema = delta::SchemaToDeltaJson(*out.changes->schema());
    EXPECT_TRUE(delta_schema.ok()) << delta_schema.status().ToString();
    const json& rows = expected[name];
    ASSERT_EQ(static_cast<int64_t>(rows.size()), out.changes->num_rows());
    for (size_t r = 0; r < rows.size(); ++r) {
      for (const auto& [column, value] : rows[r].items()) {
        auto array = out.changes->GetColumnByName(column);
        ASSERT_NE(array, nullptr) << column;
        EXPECT_EQ(Render(*array, static_cast<int64_t>(r)), value) << column << " row " << r;
      }
    }
    ++fixtures;
  }
  EXPECT_EQ(fixtures, static_cast<int>(expected.size()));
}

TEST(UnifiedTypes, FixtureTypes) {
  const std::string dir = std::string(SLUICE_FIXTURES_DIR) + "/datastream/avro/";
  ASSERT_OK_AND_ASSIGN(auto people, DecodeFixture(dir + "mysql_people_test.avro"));
  ASSERT_OK_AND_ASSIGN(auto p, Normalize(*people, FileContext{"p", 0, 0, 0}, {}));
  EXPECT_EQ(p.changes->GetColumnByName("timestamp_with_tz")->type()->ToString(),
            "timestamp[us, tz=UTC]");
  ASSERT_OK_AND_ASSIGN(auto oracle, DecodeFixture(dir + "oracle_avro_file_ut.avro"));
  ASSERT_OK_AND_ASSIGN(auto o, Normalize(*oracle, FileContext{"o", 0, 0, 0}, {}));
  EXPECT_EQ(o.changes->GetColumnByName("CITY")->type()->id(), arrow::Type::STRING);
  EXPECT_FALSE(o.changes->schema()->GetFieldByName("CITY")->nullable());
  ASSERT_OK_AND_ASSIGN(auto pg, DecodeFixture(dir + "postgres_bytearray.avro"));
  ASSERT_OK_AND_ASSIGN(auto g, Normalize(*pg, FileContext{"g", 0, 0, 0}, {}));
  EXPECT_EQ(g.changes->GetColumnByName("integer_array_field")->type()->ToString(),
            "list<element: int32>");
  EXPECT_EQ(g.changes->GetColumnByName("json_column")->type()->ToString(), "list<element: string>");
}

// --- one conversion at a time ---------------------------------------------

TEST(UnifiedTypes, TimestampTzIsTheInstantWhateverTheOffset) {
  // 2024-01-01T23:30:00.000001Z: the offset (+02:00, -05:00, -09:30) would
  // move a local reading across midnight; the instant does not move.
  auto type =
      arrow::struct_({arrow::field("timestamp", Micros(), false),
                      arrow::field("offset", arrow::time64(arrow::TimeUnit::MICRO), false)});
  ASSERT_OK_AND_ASSIGN(auto out, Convert(type, R"([
    {"timestamp": 1704151800000001, "offset": 7200000000},
    null,
    {"timestamp": 1704151800000001, "offset": -18000000000},
    {"timestamp": -1, "offset": -34200000000},
    {"timestamp": 0, "offset": 0}])"));
  EXPECT_EQ(out.field->type()->ToString(), "timestamp[us, tz=UTC]");
  EXPECT_EQ(RenderAll(*out.values),
            json::parse("[1704151800000001, null, 1704151800000001, -1, 0]"));
  EXPECT_TRUE(out.unrepresentable.empty());
  ExpectStorable(*out.field->type());

  // Millisecond timestamps and int offsets (milliseconds) widen exactly.
  auto millis = arrow::struct_({arrow::field("timestamp", arrow::timestamp(arrow::TimeUnit::MILLI)),
                                arrow::field("offset", arrow::int32())});
  ASSERT_OK_AND_ASSIGN(auto ms,
                       Convert(millis, R"([{"timestamp": 1704151800123, "offset": -3600000}])"));
  EXPECT_EQ(ms.field->type()->ToString(), "timestamp[us, tz=UTC]");
  EXPECT_EQ(RenderAll(*ms.values), json::parse("[1704151800123000]"));
}

TEST(UnifiedTypes, SlicedStructsKeepTheirRows) {
  auto type = arrow::struct_(
      {arrow::field("value", arrow::utf8()), arrow::field("length", arrow::int32())});
  ASSERT_OK_AND_ASSIGN(auto all, arrow::json::ArrayFromJSONString(type, R"([
    {"value": "a", "length": 1}, null, {"value": "ccc", "length": 3}, {"value": null, "length": 0}])"));
  ASSERT_OK_AND_ASSIGN(auto out, ToDeltaStorable(arrow::field("c", type), all->Slice(1)));
  ASSERT_TRUE(out.values->ValidateFull().ok());
  EXPECT_EQ(out.field->type()->id(), arrow::Type::STRING);
  EXPECT_EQ(RenderAll(*out.values), json::parse(R"([null, "ccc", null])"));

  // A plain struct with a converted child, and a PostgreSQL array, sliced.
  auto plain = arrow::struct_({arrow::field("t", arrow::time64(arrow::TimeUnit::MICRO))});
  ASSERT_OK_AND_ASSIGN(
      auto p, arrow::json::ArrayFromJSONString(plain, R"([{"t": 1}, null, {"t": 2000000}])"));
  ASSERT_OK_AND_ASSIGN(auto po, ToDeltaStorable(arrow::field("c", plain), p->Slice(1)));
  ASSERT_TRUE(po.values->ValidateFull().ok());
  EXPECT_EQ(RenderAll(*po.values), json::parse(R"([null, {"t": "00:00:02"}])"));

  auto element = arrow::struct_({arrow::field("nestedArray", arrow::list(arrow::utf8())),
                                 arrow::field("elementValue", arrow::utf8())});
  auto arr = arrow::struct_({arrow::field("nestedArray", arrow::list(element)),
                             arrow::field("elementValue", arrow::utf8())});
  ASSERT_OK_AND_ASSIGN(auto a, arrow::json::ArrayFromJSONString(arr, R"([
    {"nestedArray": [{"nestedArray": null, "elementValue": "a"}], "elementValue": null},
    {"nestedArray": [{"nestedArray": ["{}"], "elementValue": null}], "elementValue": null},
    null,
    {"nestedArray": [{"nestedArray": null, "elementValue": "b"}, {"nestedArray": null, "elementValue": "c"}],
     "elementValue": null}])"));
  ASSERT_OK_AND_ASSIGN(auto ao, ToDeltaStorable(arrow::field("c", arr), a->Slice(1)));
  ASSERT_TRUE(ao.values->ValidateFull().ok()) << ao.values->ValidateFull().ToString();
  EXPECT_EQ(RenderAll(*ao.values).at(1), nullptr);
  EXPECT_EQ(RenderAll(*ao.values).at(2), json::parse(R"(["b", "c"])"));
  ASSERT_EQ(ao.unrepresentable.size(), 1u);
  EXPECT_EQ(ao.unrepresentable[0].row, 0);
}

TEST(UnifiedTypes, TimesBecomeText) {
  ASSERT_OK_AND_ASSIGN(
      auto us, Convert(arrow::time64(arrow::TimeUnit::MICRO),
                       "[0, 49530123456, 86399999999, null, -3019000000000, 3019000000000, 1000]"));
  EXPECT_EQ(us.field->type()->id(), arrow::Type::STRING);
  EXPECT_EQ(RenderAll(*us.values),
            json::parse(R"(["00:00:00", "13:45:30.123456", "23:59:59.999999", null, "-838:36:40",
                            "838:36:40", "00:00:00.001000"])"));
  ASSERT_OK_AND_ASSIGN(auto ms, Convert(arrow::time32(arrow::TimeUnit::MILLI), "[1234, 3600000]"));
  EXPECT_EQ(RenderAll(*ms.values), json::parse(R"(["00:00:01.234000", "01:00:00"])"));
  ASSERT_OK_AND_ASSIGN(auto s, Convert(arrow::time32(arrow::TimeUnit::SECOND), "[59]"));
  EXPECT_EQ(RenderAll(*s.values), json::parse(R"(["00:00:59"])"));
  ASSERT_OK_AND_ASSIGN(auto ns, Convert(arrow::time64(arrow::TimeUnit::NANO), "[1, 5000]"));
  EXPECT_EQ(RenderAll(*ns.values), json::parse(R"(["00:00:00.000000001", "00:00:00.000005"])"));
}

TEST(UnifiedTypes, TimeTzKeepsItsOffset) {
  auto type = arrow::struct_({arrow::field("time", arrow::time64(arrow::TimeUnit::MICRO)),
                              arrow::field("offset", arrow::time64(arrow::TimeUnit::MICRO))});
  ASSERT_OK_AND_ASSIGN(auto out, Convert(type, R"([
    {"time": 36000000000, "offset": 19800000000}, {"time": 1, "offset": -28800000000}, null])"));
  EXPECT_EQ(RenderAll(*out.values),
            json::parse(R"(["10:00:00+05:30", "00:00:00.000001-08:00", null])"));
}

TEST(UnifiedTypes, DatetimeRecordIsALocalTimestamp) {
  auto type = arrow::struct_({arrow::field("date", arrow::date32()),
                              arrow::field("time", arrow::time64(arrow::TimeUnit::MICRO))});
  ASSERT_OK_AND_ASSIGN(auto out, Convert(type, R"([
    {"date": 19723, "time": 84600000001}, {"date": -1, "time": 0}, null, {"date": 2147483647, "time": 0}])"));
  EXPECT_EQ(out.field->type()->ToString(), "timestamp[us]");
  EXPECT_EQ(RenderAll(*out.values), json::parse("[1704151800000001, -86400000000, null, null]"));
  ASSERT_EQ(out.unrepresentable.size(), 1u);
  EXPECT_EQ(out.unrepresentable[0].row, 3);
}

TEST(UnifiedTypes, PostgresArraysBecomeLists) {
  auto element = [](const std::shared_ptr<arrow::DataType>& t) {
    return arrow::struct_(
        {arrow::field("nestedArray", arrow::list(arrow::utf8())), arrow::field("elementValue", t)});
  };
  auto type = arrow::struct_({arrow::field("nestedArray", arrow::list(element(arrow::int32()))),
                              arrow::field("elementValue", arrow::int32())});
  ASSERT_OK_AND_ASSIGN(auto out, Convert(type, R"([
    {"nestedArray": [{"nestedArray": null, "elementValue": 1}, {"nestedArray": null, "elementValue": null},
                     {"nestedArray": null, "elementValue": 3}], "elementValue": null},
    null,
    {"nestedArray": [], "elementValue": null},
    {"nestedArray": [{"nestedArray": ["{\"elementValue\":1}"], "elementValue": null}], "elementValue": null},
    {"nestedArray": null, "elementValue": 7}])"));
  EXPECT_EQ(out.field->type()->ToString(), "list<element: int32>");
  EXPECT_EQ(RenderAll(*out.values).at(0), json::parse("[1, null, 3]"));
  EXPECT_EQ(RenderAll(*out.values).at(1), nullptr);
  EXPECT_EQ(RenderAll(*out.values).at(2), json::array());
  ASSERT_EQ(out.unrepresentable.size(), 2u);
  EXPECT_EQ(out.unrepresentable[0].row, 3);
  EXPECT_NE(out.unrepresentable[0].reason.find("two or more dimensions"), std::string::npos);
  EXPECT_EQ(out.unrepresentable[1].row, 4);
  ExpectStorable(*out.field->type());

  // Elements are converted too: an array of timestamptz.
  auto tz = arrow::struct_({arrow::field("timestamp", Micros()),
                            arrow::field("offset", arrow::time64(arrow::TimeUnit::MICRO))});
  auto tz_array = arrow::struct_(
      {arrow::field("nestedArray", arrow::list(element(tz))), arrow::field("elementValue", tz)});
  ASSERT_OK_AND_ASSIGN(auto tzs, Convert(tz_array, R"([
    {"nestedArray": [{"nestedArray": null, "elementValue": {"timestamp": 5, "offset": -3600000000}},
                     {"nestedArray": null, "elementValue": null}], "elementValue": null}])"));
  EXPECT_EQ(tzs.field->type()->ToString(), "list<element: timestamp[us, tz=UTC]>");
  EXPECT_EQ(RenderAll(*tzs.values), json::parse("[[5, null]]"));
}

TEST(UnifiedTypes, IntegersNullsBinariesDecimals) {
  ASSERT_OK_AND_ASSIGN(auto u8, Convert(arrow::uint8(), "[255, null]"));
  EXPECT_EQ(u8.field->type()->id(), arrow::Type::INT16);
  EXPECT_EQ(RenderAll(*u8.values), json::parse("[255, null]"));
  ASSERT_OK_AND_ASSIGN(auto u16, Convert(arrow::uint16(), "[65535]"));
  EXPECT_EQ(u16.field->type()->id(), arrow::Type::INT32);
  ASSERT_OK_AND_ASSIGN(auto u32, Convert(arrow::uint32(), "[4294967295]"));
  EXPECT_EQ(RenderAll(*u32.values), json::parse("[4294967295]"));
  ASSERT_OK_AND_ASSIGN(auto u64, Convert(arrow::uint64(), "[18446744073709551615, 0, null]"));
  EXPECT_EQ(u64.field->type()->ToString(), "decimal128(20, 0)");
  EXPECT_EQ(RenderAll(*u64.values), json::parse(R"(["18446744073709551615", "0", null])"));

  // A column of unknown type stays so: the pipeline adds it to the table
  // once a batch gives it a type.
  ASSERT_OK_AND_ASSIGN(auto nulls, Convert(arrow::null(), "[null, null]"));
  EXPECT_EQ(nulls.field->type()->id(), arrow::Type::NA);
  EXPECT_EQ(nulls.values->null_count(), 2);

  ASSERT_OK_AND_ASSIGN(auto fixed, Convert(arrow::fixed_size_binary(2), R"(["ab", null])"));
  EXPECT_EQ(fixed.field->type()->id(), arrow::Type::BINARY);
  EXPECT_EQ(RenderAll(*fixed.values), json::parse(R"(["hex:6162", null])"));

  ASSERT_OK_AND_ASSIGN(auto wide, Convert(arrow::decimal256(50, 2),
                                          R"(["123456789012345678901234567890123456789012.34"])"));
  EXPECT_EQ(RenderAll(*wide.values),
            json::parse(R"(["123456789012345678901234567890123456789012.34"])"));
  ASSERT_OK_AND_ASSIGN(auto narrow, Convert(arrow::decimal256(10, 2), R"(["-1.50"])"));
  EXPECT_EQ(narrow.field->type()->ToString(), "decimal128(10, 2)");
  EXPECT_EQ(RenderAll(*narrow.values), json::parse(R"(["-1.50"])"));
}

TEST(UnifiedTypes, DurationsAndIntervals) {
  ASSERT_OK_AND_ASSIGN(auto ms, Convert(arrow::duration(arrow::TimeUnit::MILLI), "[-1500, null]"));
  EXPECT_EQ(ms.field->type()->id(), arrow::Type::INT64);
  EXPECT_EQ(RenderAll(*ms.values), json::parse("[-1500000, null]"));
  ASSERT_OK_AND_ASSIGN(auto ns, Convert(arrow::duration(arrow::TimeUnit::NANO), "[1]"));
  EXPECT_EQ(RenderAll(*ns.values), json::parse("[1]"));
  EXPECT_FALSE(Convert(arrow::duration(arrow::TimeUnit::SECOND), "[9223372036854775807]").ok());
  ASSERT_OK_AND_ASSIGN(auto months, Convert(arrow::month_interval(), "[14, null]"));
  EXPECT_EQ(RenderAll(*months.values), json::parse("[14, null]"));
  ASSERT_OK_AND_ASSIGN(auto dt, Convert(arrow::day_time_interval(), "[[1, -1]]"));
  EXPECT_EQ(RenderAll(*dt.values), json::parse("[86399999000]"));
  ASSERT_OK_AND_ASSIGN(auto mdn, Convert(arrow::month_day_nano_interval(), "[[1, 2, 3], null]"));
  EXPECT_EQ(RenderAll(*mdn.values),
            json::parse(R"([{"months": 1, "days": 2, "nanoseconds": 3}, null])"));
  ExpectStorable(*mdn.field->type());
}

TEST(UnifiedTypes, NestedStructsListsAndMaps) {
  auto tz =
      arrow::struct_({arrow::field("timestamp", Micros()), arrow::field("offset", arrow::int32())});
  auto varchar = arrow::struct_(
      {arrow::field("value", arrow::utf8()), arrow::field("length", arrow::int32())});
  auto type = arrow::struct_({arrow::field("at", tz), arrow::field("names", arrow::list(varchar)),
                              arrow::field("t", arrow::time64(arrow::TimeUnit::MICRO)),
                              arrow::field("m", arrow::map(arrow::utf8(), arrow::uint8())),
                              arrow::field("plain", arrow::int64())});
  ASSERT_OK_AND_ASSIGN(auto out, Convert(type, R"([
    {"at": {"timestamp": 10, "offset": -3600000}, "names": [{"value": "x", "length": 9}, null],
     "t": 1000000, "m": [["k", 200]], "plain": 1},
    null,
    {"at": null, "names": null, "t": null, "m": null, "plain": null}])"));
  EXPECT_EQ(out.field->type()->ToString(),
            "struct<at: timestamp[us, tz=UTC], names: list<item: string>, t: string, "
            "m: map<string, int16>, plain: int64>");
  ExpectStorable(*out.field->type());
  const auto& s = static_cast<const arrow::StructArray&>(*out.values);
  EXPECT_TRUE(s.IsNull(1));
  EXPECT_EQ(Render(*s.field(0), 0), 10);
  EXPECT_EQ(Render(*s.field(1), 0), json::parse(R"(["x", null])"));
  EXPECT_EQ(Render(*s.field(2), 0), "00:00:01");
  const auto& m = static_cast<const arrow::MapArray&>(*s.field(3));
  EXPECT_EQ(Render(*m.items(), 0), 200);
  EXPECT_TRUE(s.field(0)->IsNull(2));
}

TEST(UnifiedTypes, StorableColumnsPassThrough) {
  for (const auto& type :
       {arrow::int64(), arrow::utf8(), Micros(), arrow::date32(), arrow::decimal128(10, 2),
        arrow::list(arrow::utf8()),
        std::static_pointer_cast<arrow::DataType>(arrow::struct_(
            {arrow::field("months", arrow::int32()), arrow::field("hours", arrow::int32()),
             arrow::field("micros", arrow::int64())}))}) {
    EXPECT_FALSE(NeedsDeltaConversion(*type)) << type->ToString();
    ASSERT_OK_AND_ASSIGN(auto array, arrow::MakeArrayOfNull(type, 2));
    ASSERT_OK_AND_ASSIGN(auto out, ToDeltaStorable(arrow::field("c", type), array));
    EXPECT_EQ(out.values.get(), array.get());
  }
}

// Normalize() dead-letters the row a list cannot hold and keeps the others.
TEST(UnifiedTypes, NormalizeRejectsMultiDimensionalArrays) {
  auto ts = Micros();
  auto element = arrow::struct_({arrow::field("nestedArray", arrow::list(arrow::utf8())),
                                 arrow::field("elementValue", arrow::int32())});
  auto arr = arrow::struct_({arrow::field("nestedArray", arrow::list(element)),
                             arrow::field("elementValue", arrow::int32())});
  auto meta = arrow::struct_(
      {arrow::field("lsn", arrow::utf8()), arrow::field("change_type", arrow::utf8())});
  auto payload = arrow::struct_({arrow::field("v", arrow::int32()), arrow::field("a", arr)});
  auto type = arrow::struct_(
      {arrow::field("source_timestamp", ts), arrow::field("read_method", arrow::utf8()),
       arrow::field("source_metadata", meta), arrow::field("payload", payload)});
  auto array = arrow::json::ArrayFromJSONString(type, R"([
    {"source_timestamp": 5, "read_method": "postgresql-cdc", "source_metadata": {"lsn": "1/0", "change_type": "INSERT"},
     "payload": {"v": 1, "a": {"nestedArray": [{"nestedArray": null, "elementValue": 4}], "elementValue": null}}},
    {"source_timestamp": 5, "read_method": "postgresql-cdc", "source_metadata": {"lsn": "1/1", "change_type": "INSERT"},
     "payload": {"v": 2, "a": {"nestedArray": [{"nestedArray": ["{}"], "elementValue": null}], "elementValue": null}}}
  ])")
                   .ValueOrDie();
  auto batch = arrow::RecordBatch::FromStructArray(array).ValueOrDie();
  ASSERT_OK_AND_ASSIGN(auto out, Normalize(*batch, FileContext{"f", 0, 0, 0}, {}));
  ASSERT_EQ(out.rejected.size(), 1u);
  EXPECT_EQ(out.rejected[0].row, 1);
  EXPECT_NE(out.rejected[0].reason.find("payload column 'a'"), std::string::npos);
  ASSERT_EQ(out.changes->num_rows(), 1);
  EXPECT_EQ(Render(*out.changes->GetColumnByName("a"), 0), json::parse("[4]"));
}

}  // namespace
}  // namespace sluice::sources::datastream
