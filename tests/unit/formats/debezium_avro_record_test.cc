// Confluent-framed Avro (AvroConverter) messages into Arrow
// (formats/debezium/avro_record_reader.h): the same batches as the JSON
// reader for the same real Debezium events, the Connect type mapping read
// from Avro schemas, framing and registry outcomes, and bad messages that
// never spoil their neighbours.
#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sluice/formats/connect/avro_connect_schema.h"
#include "sluice/formats/debezium/avro_record_reader.h"
#include "sluice/formats/debezium/json_record_reader.h"

#ifndef ASSERT_OK_AND_ASSIGN
#define SLUICE_CONCAT_(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).ValueOrDie();
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(SLUICE_CONCAT(_res_, __LINE__), lhs, expr)
#endif

namespace sluice::formats::debezium {
namespace {

using confluent::SchemaRef;
using Messages = std::vector<std::optional<std::string_view>>;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const std::string kJsonDir = std::string(SLUICE_TEST_DATA_DIR) + "/debezium/postgres_json/";
const std::string kAvroDir = std::string(SLUICE_TEST_DATA_DIR) + "/debezium/postgres_avro/";
const char* kEvents[] = {"0-r", "1-c", "2-u", "3-d"};

// A resolver over a fixed map of ids; counts its calls.
struct FakeRegistry {
  std::map<uint32_t, std::string> schemas;
  int calls = 0;
  bool down = false;

  SchemaResolver Resolver() {
    return [this](const SchemaRef& ref) -> Result<std::string> {
      ++calls;
      if (down) return Status::IOError("registry unreachable");
      auto it = schemas.find(ref.id());
      if (ref.is_guid() || it == schemas.end()) {
        return Status::KeyError("schema ", ref.ToString(), " not found (40403)");
      }
      return it->second;
    };
  }
};

// Every schema generate.py registered (schemas/<id>.avsc).
FakeRegistry RealRegistry() {
  FakeRegistry r;
  for (const auto& entry : std::filesystem::directory_iterator(kAvroDir + "schemas")) {
    const auto id = static_cast<uint32_t>(std::stoul(entry.path().stem().string()));
    r.schemas[id] = ReadFile(entry.path().string());
  }
  return r;
}

// Avro binary encoding, for hand-made payloads.
std::string Long(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  std::string out;
  while (z >= 0x80) {
    out.push_back(static_cast<char>((z & 0x7F) | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<char>(z));
  return out;
}
std::string Str(std::string_view s) {
  return Long(static_cast<int64_t>(s.size())) + std::string(s);
}
std::string Framed(uint32_t id, const std::string& payload) {
  return SchemaRef::FromId(id).Prefix() + payload;
}

void ExpectSameRecords(const DecodedRecords& json, const DecodedRecords& avro) {
  ASSERT_EQ(json.runs.size(), avro.runs.size());
  for (size_t r = 0; r < json.runs.size(); ++r) {
    const auto& j = json.runs[r];
    const auto& a = avro.runs[r];
    EXPECT_EQ(j.messages, a.messages);
    ASSERT_TRUE(a.batch->ValidateFull().ok());
    EXPECT_TRUE(j.batch->schema()->Equals(*a.batch->schema(), /*check_metadata=*/true))
        << "json:\n"
        << j.batch->schema()->ToString() << "\navro:\n"
        << a.batch->schema()->ToString();
    EXPECT_TRUE(j.batch->Equals(*a.batch)) << "json:\n"
                                           << j.batch->ToString() << "\navro:\n"
                                           << a.batch->ToString();
    EXPECT_EQ(j.schema->name, a.schema->name);
    EXPECT_EQ(j.schema->version, a.schema->version);
  }
  EXPECT_EQ(json.tombstones, avro.tombstones);
  EXPECT_EQ(json.bad.size(), avro.bad.size());
}

// The real events of tests/data/debezium/postgres_json (snapshot, insert,
// update, delete) give the same batches through both readers: same columns,
// nullability, Arrow types (decimal128(10,2), timestamp(us) without zone,
// timestamp(us, UTC), date32, time64, the VariableScaleDecimal text) and
// values.
TEST(DebeziumAvroRecordTest, RealEventsGiveTheJsonReadersBatches) {
  for (const char* side : {"value", "key"}) {
    std::vector<std::string> json, avro;
    for (const char* e : kEvents) {
      json.push_back(ReadFile(kJsonDir + e + "." + side + ".json"));
      avro.push_back(ReadFile(kAvroDir + e + "." + side + ".bin"));
    }
    Messages json_in(json.begin(), json.end()), avro_in(avro.begin(), avro.end());
    // A delete's tombstone follows it, in both forms.
    json_in.push_back(std::nullopt);
    avro_in.push_back(std::nullopt);
    JsonRecordReader json_reader;
    ASSERT_OK_AND_ASSIGN(auto from_json, json_reader.Decode(json_in));
    auto registry = RealRegistry();
    AvroRecordReader avro_reader(registry.Resolver());
    ASSERT_OK_AND_ASSIGN(auto from_avro, avro_reader.Decode(avro_in));
    ASSERT_TRUE(from_json.bad.empty()) << from_json.bad[0].reason;
    ASSERT_TRUE(from_avro.bad.empty()) << from_avro.bad[0].reason;
    ASSERT_EQ(from_avro.runs.size(), 1u) << side;
    EXPECT_EQ(from_avro.runs[0].batch->num_rows(), 4);
    EXPECT_EQ(from_avro.tombstones, std::vector<int64_t>{4});
    ExpectSameRecords(from_json, from_avro);
    EXPECT_EQ(registry.calls, 1) << "one schema, resolved once";
  }
}

// Real events of a table of many PostgreSQL types (smallint, bigint, real,
// double, boolean, numeric(50,5) above decimal128, numeric(5,2), numeric
// without scale, date, time, timestamp(3), timestamptz, interval, jsonb,
// uuid, bytea, int[] and text[] with nulls, bit(4), point, an enum, char),
// with a column added between the second and third (a new schema: a second
// run), an update and a delete: both readers agree, under both decimal
// overflow settings.
TEST(DebeziumAvroRecordTest, RealEventsOfManyTypesGiveTheJsonReadersBatches) {
  const std::string json_dir = std::string(SLUICE_TEST_DATA_DIR) + "/debezium/postgres_types_json/";
  const char* events[] = {"0-c", "1-c", "2-c", "3-u", "4-d"};
  for (auto overflow : {connect::DecimalOverflow::kString, connect::DecimalOverflow::kDecimal38}) {
    for (const char* side : {"value", "key"}) {
      std::vector<std::string> json, avro;
      for (const char* e : events) {
        json.push_back(ReadFile(json_dir + e + "." + side + ".json"));
        avro.push_back(ReadFile(kAvroDir + "types/" + e + "." + side + ".bin"));
      }
      JsonRecordOptions json_opts;
      json_opts.types.decimal_overflow = overflow;
      AvroRecordOptions avro_opts;
      avro_opts.types.decimal_overflow = overflow;
      JsonRecordReader json_reader(json_opts);
      ASSERT_OK_AND_ASSIGN(auto from_json, json_reader.Decode(Messages(json.begin(), json.end())));
      auto registry = RealRegistry();
      AvroRecordReader avro_reader(registry.Resolver(), avro_opts);
      ASSERT_OK_AND_ASSIGN(auto from_avro, avro_reader.Decode(Messages(avro.begin(), avro.end())));
      // numeric(50,5) as decimal(38, 5): row 1's 45-digit value does not
      // fit, so its insert and update are bad messages in both readers.
      const bool narrow =
          overflow == connect::DecimalOverflow::kDecimal38 && std::string(side) == "value";
      ASSERT_EQ(from_json.bad.size(), narrow ? 2u : 0u);
      ASSERT_EQ(from_avro.bad.size(), from_json.bad.size());
      for (size_t i = 0; i < from_avro.bad.size(); ++i) {
        EXPECT_EQ(from_avro.bad[i].index, from_json.bad[i].index);
        EXPECT_EQ(from_avro.bad[i].index, i == 0 ? 0 : 3);
        EXPECT_NE(from_avro.bad[i].reason.find("after.wide: decimal beyond 128 bits"),
                  std::string::npos)
            << from_avro.bad[i].reason;
      }
      ASSERT_EQ(from_avro.runs.size(), std::string(side) == "value" ? 2u : 1u) << side;
      ExpectSameRecords(from_json, from_avro);
      if (std::string(side) != "value" || narrow) continue;
      const auto& after = *from_avro.runs[0].batch->GetColumnByName("after");
      auto type_of = [&](const char* name) {
        return static_cast<const arrow::StructType&>(*after.type())
            .GetFieldByName(name)
            ->type()
            ->ToString();
      };
      EXPECT_EQ(type_of("s"), "int16");
      EXPECT_EQ(type_of("small"), "decimal128(5, 2)");
      EXPECT_EQ(type_of("wide"),
                overflow == connect::DecimalOverflow::kString ? "string" : "decimal128(38, 5)");
      EXPECT_EQ(type_of("ts"), "timestamp[us]");
      EXPECT_EQ(type_of("tstz"), "timestamp[us, tz=UTC]");
      EXPECT_EQ(type_of("nums"), "list<element: int32>");
      auto row0 = after.GetScalar(0).ValueOrDie();
      const auto& st = static_cast<const arrow::StructScalar&>(*row0);
      auto field = [&](const char* name) { return st.field(name).ValueOrDie()->ToString(); };
      EXPECT_EQ(field("free"), "-0.000123");
      EXPECT_EQ(field("small"), "-999.99");
      EXPECT_EQ(field("wide"), "123456789012345678901234567890123456789012345.12345");
      EXPECT_EQ(field("ts"), "2024-02-29 12:34:56.789000");
    }
  }
}

TEST(DebeziumAvroRecordTest, RealEnvelopeSchemaIsTheConnectSchema) {
  auto text = ReadFile(kAvroDir + "schemas/2.avsc");
  ASSERT_OK_AND_ASSIGN(auto converted, connect::AvroToConnectSchema(text));
  EXPECT_TRUE(IsEnvelope(*converted.schema));
  EXPECT_EQ(converted.schema->name, "dbserver1.inv.customers.Envelope");
  const auto* after = converted.schema->Field("after");
  ASSERT_NE(after, nullptr);
  EXPECT_TRUE(after->schema->optional);
  EXPECT_EQ(after->schema->name, "dbserver1.inv.customers.Value");
  const auto* price = after->schema->Field("price");
  ASSERT_NE(price, nullptr);
  EXPECT_EQ(price->schema->logical, connect::LogicalType::kDecimal);
  EXPECT_EQ(price->schema->precision, 10);
  EXPECT_EQ(price->schema->scale, 2);
  const auto* snapshot = converted.schema->Field("source")->schema->Field("snapshot");
  // Optional with a non-null default: AvroConverter writes [T, "null"].
  EXPECT_TRUE(snapshot->schema->optional);
  EXPECT_EQ(snapshot->schema->name, "io.debezium.data.Enum");
  EXPECT_EQ(snapshot->schema->parameters.at("allowed").substr(0, 10), "true,first");
  EXPECT_EQ(converted.layout->children[4]->null_branch, -1);  // op: not a union
}

// AvroConverter's forms of the Connect types the real events do not carry.
const char* kTypes =
    R"({"type":"record","name":"Value","namespace":"t","connect.name":"t.Value","fields":[
 {"name":"i8","type":{"type":"int","connect.type":"int8"}},
 {"name":"i16","type":{"type":"int","connect.type":"int16"}},
 {"name":"d","type":{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}},
 {"name":"t","type":{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}},
 {"name":"ts","type":{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}},
 {"name":"dts","type":{"type":"long","connect.version":1,"connect.name":"io.debezium.time.Timestamp"}},
 {"name":"nts","type":{"type":"long","connect.version":1,"connect.name":"io.debezium.time.NanoTimestamp"}},
 {"name":"nt","type":{"type":"long","connect.version":1,"connect.name":"io.debezium.time.NanoTime"}},
 {"name":"wide","type":["null",{"type":"bytes","scale":3,"precision":50,"connect.version":1,
   "connect.parameters":{"scale":"3","connect.decimal.precision":"50"},
   "connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],"default":null},
 {"name":"plain","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":1}},
 {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
 {"name":"fx","type":{"type":"fixed","name":"Four","size":4}},
 {"name":"m","type":{"type":"map","values":["null","long"]}},
 {"name":"me","type":{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro",
   "fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}},
 {"name":"f","type":"float"},
 {"name":"g","type":"double"},
 {"name":"b","type":"boolean"},
 {"name":"opt","type":["string","null"],"default":"x"},
 {"name":"geo","type":{"type":"record","name":"Geometry","namespace":"io.debezium.data.geometry",
   "connect.name":"io.debezium.data.geometry.Geometry","fields":[
   {"name":"wkb","type":"bytes"},{"name":"srid","type":["null","int"],"default":null}]}}]})";

// The same values as JsonConverter writes them.
const char* kTypesJson = R"({"i8":-5,"i16":300,"d":19000,"t":3723004,"ts":1700000000123,
  "dts":1700000000123,"nts":1700000000123456789,"nt":3723004005006,"wide":"B1vNFQ==",
  "plain":"BNI=","e":"GREEN","fx":"YWJjZA==","m":{"k":7,"n":null},"me":[[1,"one"]],
  "f":1.5,"g":-2.25,"b":true,"opt":null,"geo":{"wkb":"AQ==","srid":4326}})";

std::string Float(float f) { return std::string(reinterpret_cast<const char*>(&f), 4); }
std::string Double(double d) { return std::string(reinterpret_cast<const char*>(&d), 8); }

// kTypes's record in Avro binary; `opt` is the encoding of the last
// string-or-null field.
std::string TypesPayload(const std::string& opt = Long(1), int64_t i8 = -5) {
  return Long(i8) + Long(300) + Long(19000) + Long(3723004) + Long(1700000000123) +
         Long(1700000000123) + Long(1700000000123456789) + Long(3723004005006) + Long(1) +
         Str("\x07\x5B\xCD\x15") + Str("\x04\xD2") + Long(1) + "abcd" + Long(2) + Str("k") +
         Long(1) + Long(7) + Str("n") + Long(0) + Long(0) + Long(1) + Long(1) + Str("one") +
         Long(0) + Float(1.5f) + Double(-2.25) + "\x01" + opt + Str("\x01") + Long(1) + Long(4326);
}

TEST(DebeziumAvroRecordTest, ConnectTypesFromAvroSchemas) {
  FakeRegistry registry;
  registry.schemas[10] = kTypes;
  AvroRecordReader reader(registry.Resolver());
  auto msg = Framed(10, TypesPayload());
  ASSERT_OK_AND_ASSIGN(auto out, reader.Decode({msg}));
  ASSERT_TRUE(out.bad.empty()) << out.bad[0].reason;
  ASSERT_EQ(out.runs.size(), 1u);
  const auto& batch = *out.runs[0].batch;
  ASSERT_TRUE(batch.ValidateFull().ok());
  auto type = [&](const char* name) { return batch.schema()->GetFieldByName(name)->type(); };
  EXPECT_TRUE(type("i8")->Equals(arrow::int8()));
  EXPECT_TRUE(type("i16")->Equals(arrow::int16()));
  EXPECT_TRUE(type("d")->Equals(arrow::date32()));
  EXPECT_TRUE(type("t")->Equals(arrow::time64(arrow::TimeUnit::MICRO)));
  EXPECT_TRUE(type("ts")->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  EXPECT_TRUE(type("dts")->Equals(arrow::timestamp(arrow::TimeUnit::MICRO)));
  EXPECT_TRUE(type("nts")->Equals(arrow::timestamp(arrow::TimeUnit::NANO)));
  EXPECT_TRUE(type("nt")->Equals(arrow::time64(arrow::TimeUnit::NANO)));
  EXPECT_TRUE(type("wide")->Equals(arrow::utf8())) << "precision 50: exact text by default";
  EXPECT_TRUE(type("plain")->Equals(arrow::decimal128(5, 1)));
  EXPECT_TRUE(type("e")->Equals(arrow::utf8()));
  EXPECT_TRUE(type("fx")->Equals(arrow::binary()));
  EXPECT_EQ(type("m")->ToString(), "map<string, int64>");
  EXPECT_EQ(type("me")->ToString(), "map<int32, string>");
  EXPECT_TRUE(type("f")->Equals(arrow::float32()));
  EXPECT_TRUE(type("opt")->Equals(arrow::utf8()));
  EXPECT_TRUE(batch.schema()->GetFieldByName("opt")->nullable());
  EXPECT_FALSE(batch.schema()->GetFieldByName("i8")->nullable());
  EXPECT_EQ(type("geo")->ToString(), "struct<wkb: binary not null, srid: int32>");
  auto cell = [&](const char* name) {
    return batch.GetColumnByName(name)->GetScalar(0).ValueOrDie()->ToString();
  };
  EXPECT_EQ(cell("t"), "01:02:03.004000");
  EXPECT_EQ(cell("wide"), "123456.789");
  EXPECT_EQ(cell("plain"), "123.4");
  EXPECT_EQ(cell("e"), "GREEN");
  EXPECT_EQ(cell("opt"), "null");

  // The JSON reader, given the same Connect schema and the values as
  // JsonConverter writes them, builds the same row.
  ASSERT_OK_AND_ASSIGN(auto converted, connect::AvroToConnectSchema(kTypes));
  std::string json = R"({"schema":)" + converted.connect_json + R"(,"payload":)" + kTypesJson + "}";
  JsonRecordReader json_reader;
  ASSERT_OK_AND_ASSIGN(auto from_json, json_reader.Decode({json}));
  ASSERT_TRUE(from_json.bad.empty()) << from_json.bad[0].reason;
  ExpectSameRecords(from_json, out);

  // Decimals above 38 digits as decimal(38, s) when so configured.
  AvroRecordOptions d38;
  d38.types.decimal_overflow = connect::DecimalOverflow::kDecimal38;
  AvroRecordReader narrow(registry.Resolver(), d38);
  ASSERT_OK_AND_ASSIGN(auto out38, narrow.Decode({msg}));
  ASSERT_EQ(out38.runs.size(), 1u);
  auto wide = out38.runs[0].batch->GetColumnByName("wide");
  EXPECT_TRUE(wide->type()->Equals(arrow::decimal128(38, 3)));
  EXPECT_EQ(wide->GetScalar(0).ValueOrDie()->ToString(), "123456.789");
}

TEST(DebeziumAvroRecordTest, BadMessagesAreReportedAndTheRestDecodes) {
  FakeRegistry registry;
  registry.schemas[10] = kTypes;
  registry.schemas[11] =
      R"({"type":"record","name":"R","fields":[{"name":"u","type":["int","string"]}]})";
  registry.schemas[12] = R"("string")";
  const std::string good = Framed(10, TypesPayload());
  std::string truncated = good.substr(0, good.size() - 1);
  std::vector<std::string> in = {
      good,                                                 // 0 row
      "\x05" + good.substr(1),                              // 1 wrong magic
      Framed(99, TypesPayload()),                           // 2 unknown id
      truncated,                                            // 3 truncated Avro
      good + std::string(1, '\0'),                          // 4 trailing bytes
      "",                                                   // 5 (a tombstone, below)
      good,                                                 // 6 row, same run
      Framed(11, Long(0) + Long(1)),                        // 7 a union Connect does not write
      Framed(10, TypesPayload(Long(0) + Str("\xff\xfe"))),  // 8 not UTF-8
      Framed(10, TypesPayload(Long(5))),                    // 9 union branch out of range
      Framed(10, TypesPayload(Long(1), 200)),               // 10 int8 out of range
      Framed(12, Str("x")),                                 // 11 not a record
      "",                                                   // 12 empty message
  };
  Messages messages(in.begin(), in.end());
  messages[5] = std::nullopt;
  ASSERT_OK_AND_ASSIGN(auto out, AvroRecordReader(registry.Resolver()).Decode(messages));
  ASSERT_EQ(out.runs.size(), 1u);
  EXPECT_EQ(out.runs[0].messages, (std::vector<int64_t>{0, 6}));
  EXPECT_EQ(out.tombstones, std::vector<int64_t>{5});
  std::map<int64_t, std::string> bad;
  for (const auto& b : out.bad) bad[b.index] = b.reason;
  ASSERT_EQ(bad.size(), 10u);
  EXPECT_NE(bad[1].find("magic"), std::string::npos) << bad[1];
  EXPECT_NE(bad[2].find("schema id 99"), std::string::npos) << bad[2];
  EXPECT_NE(bad[3].find("truncated"), std::string::npos) << bad[3];
  EXPECT_NE(bad[4].find("1 bytes after the Avro record"), std::string::npos) << bad[4];
  EXPECT_NE(bad[7].find("union of 2 types"), std::string::npos) << bad[7];
  EXPECT_NE(bad[8].find("opt: byte offset"), std::string::npos) << bad[8];
  EXPECT_NE(bad[8].find("UTF-8"), std::string::npos) << bad[8];
  EXPECT_NE(bad[9].find("union branch 5"), std::string::npos) << bad[9];
  EXPECT_NE(bad[10].find("i8: value 200 out of range"), std::string::npos) << bad[10];
  EXPECT_NE(bad[11].find("not a record"), std::string::npos) << bad[11];
  EXPECT_FALSE(bad[12].empty());
}

TEST(DebeziumAvroRecordTest, RegistryDownFailsTheDecode) {
  FakeRegistry registry;
  registry.schemas[10] = kTypes;
  registry.down = true;
  AvroRecordReader reader(registry.Resolver());
  auto msg = Framed(10, TypesPayload());
  auto out = reader.Decode({msg});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.status().IsIOError()) << out.status().ToString();
  // Back up: the retried unit decodes.
  registry.down = false;
  ASSERT_OK_AND_ASSIGN(auto again, reader.Decode({msg}));
  EXPECT_EQ(again.runs.size(), 1u);
}

TEST(DebeziumAvroRecordTest, HeadersGuidsRunsAndTheSchemaCache) {
  FakeRegistry registry;
  registry.schemas[10] = kTypes;
  registry.schemas[13] = kTypes;  // the same text under another id
  registry.schemas[14] =
      R"({"type":"record","name":"V","fields":[{"name":"id","type":"int"}],"connect.name":"V"})";
  const std::string payload = TypesPayload();
  const std::string header = SchemaRef::FromId(10).Prefix();
  std::vector<std::string> in = {Framed(10, payload), payload,
                                 Framed(13, payload), Framed(14, Long(7)),
                                 Framed(10, payload), Framed(10, Long(0))};
  Messages messages(in.begin(), in.end());
  std::vector<std::vector<std::string_view>> headers(in.size());
  headers[1] = {header};  // the payload alone, the id in __value_schema_id
  AvroRecordReader reader(registry.Resolver());
  ASSERT_OK_AND_ASSIGN(auto out, reader.Decode(messages, headers));
  ASSERT_EQ(out.runs.size(), 3u);
  EXPECT_EQ(out.runs[0].messages, (std::vector<int64_t>{0, 1, 2})) << "ids 10 and 13: one text";
  EXPECT_EQ(out.runs[1].messages, (std::vector<int64_t>{3}));
  EXPECT_EQ(out.runs[1].batch->column(0)->GetScalar(0).ValueOrDie()->ToString(), "7");
  EXPECT_EQ(out.runs[2].messages, (std::vector<int64_t>{4}));
  ASSERT_EQ(out.bad.size(), 1u);
  EXPECT_EQ(out.bad[0].index, 5);
  EXPECT_EQ(reader.cached_schemas(), 2u);
  EXPECT_EQ(registry.calls, 3);
  ASSERT_OK_AND_ASSIGN(auto again, reader.Decode(messages, headers));
  EXPECT_EQ(registry.calls, 3) << "resolved once per id";
  // A GUID the registry does not know: a bad message naming it.
  auto guid = SchemaRef::FromGuid(SchemaRef::Guid{1, 2, 3}).Prefix() + payload;
  const int before = registry.calls;
  ASSERT_OK_AND_ASSIGN(auto unknown, reader.Decode({guid, guid, guid}));
  ASSERT_EQ(unknown.bad.size(), 3u);
  EXPECT_EQ(registry.calls, before + 1) << "an unknown id is asked once per Decode";
  ASSERT_OK_AND_ASSIGN(auto later, reader.Decode({guid}));
  EXPECT_EQ(registry.calls, before + 2) << "and again in the next (it may be registered since)";
  EXPECT_NE(unknown.bad[0].reason.find("schema guid 01020300-"), std::string::npos)
      << unknown.bad[0].reason;
  // Headers must match the values.
  EXPECT_FALSE(reader.Decode(messages, {{}}).ok());
}

// A registry schema with references: the referenced schemas' named types
// are defined first (the source resolves the references).
TEST(DebeziumAvroRecordTest, SchemaReferencesDefineNamedTypes) {
  const std::string money = R"({"type":"record","name":"Money","namespace":"io.x",
    "fields":[{"name":"cents","type":"long"},{"name":"currency","type":"string"}]})";
  const std::string order = R"({"type":"record","name":"Order","namespace":"io.x",
    "fields":[{"name":"total","type":"Money"},{"name":"tip","type":["null","io.x.Money"]}]})";
  int calls = 0;
  AvroRecordReader reader([&](const SchemaRef& ref) -> Result<WriterSchema> {
    ++calls;
    if (ref.id() == 1) return WriterSchema{order, {money}};
    return WriterSchema{order, {}};  // the reference missing
  });
  std::vector<std::string> in = {Framed(1, Long(250) + Str("EUR") + Long(0)),
                                 Framed(2, Long(250) + Str("EUR") + Long(0))};
  ASSERT_OK_AND_ASSIGN(auto out, reader.Decode(Messages(in.begin(), in.end())));
  ASSERT_EQ(out.runs.size(), 1u);
  EXPECT_EQ(out.runs[0].batch->schema()->ToString(),
            "total: struct<cents: int64 not null, currency: string not null> not null\n"
            "tip: struct<cents: int64 not null, currency: string not null>");
  ASSERT_EQ(out.bad.size(), 1u);
  EXPECT_NE(out.bad[0].reason.find("unknown type 'Money'"), std::string::npos) << out.bad[0].reason;
}

TEST(DebeziumAvroRecordTest, RootUnionNullIsATombstone) {
  FakeRegistry registry;
  registry.schemas[15] =
      R"(["null",{"type":"record","name":"V","fields":[{"name":"id","type":"int"}]}])";
  AvroRecordReader reader(registry.Resolver());
  std::vector<std::string> in = {Framed(15, Long(0)), Framed(15, Long(1) + Long(3)),
                                 Framed(15, Long(0) + Long(3))};
  ASSERT_OK_AND_ASSIGN(auto out, reader.Decode(Messages(in.begin(), in.end())));
  EXPECT_EQ(out.tombstones, std::vector<int64_t>{0});
  ASSERT_EQ(out.runs.size(), 1u);
  EXPECT_EQ(out.runs[0].messages, std::vector<int64_t>{1});
  ASSERT_EQ(out.bad.size(), 1u) << "a null record followed by bytes";
}

TEST(DebeziumAvroRecordTest, SchemasAvroConverterNeverWritesAreRefused) {
  for (
      const char* text : {
          R"({"type":"record","name":"R","fields":[{"name":"r","type":["null","R"]}]})",
          R"({"type":"record","name":"R","fields":[{"name":"x","type":"Nope"}]})",
          R"("null")",
          R"({"type":"record","name":"R","fields":[{"name":"x","type":["null","null"]}]})",
          R"({"type":"record","name":"R","fields":[{"name":"x","type":"int"},{"name":"x","type":"int"}]})",
          R"({"type":"record","name":"R","fields":[{"name":"n","type":{"type":"record",
              "name":"VariableScaleDecimal","namespace":"io.debezium.data",
              "connect.name":"io.debezium.data.VariableScaleDecimal",
              "fields":[{"name":"scale","type":"string"},{"name":"value","type":"bytes"}]}}]})",
          "not json",
      }) {
    FakeRegistry registry;
    registry.schemas[1] = text;
    AvroRecordReader reader(registry.Resolver());
    auto msg = Framed(1, Long(0));
    ASSERT_OK_AND_ASSIGN(auto out, reader.Decode({msg}));
    ASSERT_EQ(out.bad.size(), 1u) << text;
    EXPECT_NE(out.bad[0].reason.find("not usable"), std::string::npos) << out.bad[0].reason;
  }
}

}  // namespace
}  // namespace sluice::formats::debezium
