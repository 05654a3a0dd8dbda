// Debezium JSON (Kafka Connect JsonConverter) messages into Arrow
// (formats/debezium/json_record_reader.h): envelopes with and without
// schemas, the Connect type mapping of each value, tombstones, schema
// changes, and bad messages that never spoil their neighbours.
#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "sluice/formats/debezium/json_record_reader.h"

namespace sluice::formats::debezium {
namespace {

using Messages = std::vector<std::optional<std::string_view>>;

// The value schema Debezium's PostgreSQL connector writes for a table
// (id serial, email text, price numeric(10,2), created timestamp,
// updated timestamptz, born date, wake time, doc json, uid uuid, blob bytea,
// tags text[], n numeric), trimmed to what the tests read.
const char* kRow = R"({"type":"struct","optional":true,"name":"db.inv.t.Value","fields":[
  {"type":"int32","optional":false,"field":"id"},
  {"type":"string","optional":true,"field":"email"},
  {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,
   "parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"price"},
  {"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"created"},
  {"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"updated"},
  {"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"born"},
  {"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"wake"},
  {"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"doc"},
  {"type":"string","optional":true,"name":"io.debezium.data.Uuid","version":1,"field":"uid"},
  {"type":"bytes","optional":true,"field":"blob"},
  {"type":"array","optional":true,"items":{"type":"string","optional":true},"field":"tags"},
  {"type":"struct","optional":true,"name":"io.debezium.data.VariableScaleDecimal","version":1,
   "fields":[{"type":"int32","optional":false,"field":"scale"},
             {"type":"bytes","optional":false,"field":"value"}],"field":"n"}]})";

std::string EnvelopeSchema(const std::string& row = kRow) {
  return R"({"type":"struct","optional":false,"name":"db.inv.t.Envelope","version":2,"fields":[)"
         R"(  )" +
         std::string(row).insert(1, R"("field":"before",)") + "," +
         std::string(row).insert(1, R"("field":"after",)") +
         R"(,{"type":"struct","optional":false,"name":"io.debezium.connector.postgresql.Source",
           "field":"source","fields":[
           {"type":"string","optional":false,"field":"connector"},
           {"type":"int64","optional":false,"field":"ts_ms"},
           {"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,
            "parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
            "default":"false","field":"snapshot"},
           {"type":"string","optional":false,"field":"schema"},
           {"type":"string","optional":false,"field":"table"},
           {"type":"string","optional":true,"field":"sequence"},
           {"type":"int64","optional":true,"field":"txId"},
           {"type":"int64","optional":true,"field":"lsn"}]},
         {"type":"string","optional":false,"field":"op"},
         {"type":"int64","optional":true,"field":"ts_ms"},
         {"type":"int64","optional":true,"field":"ts_us"},
         {"type":"int64","optional":true,"field":"ts_ns"}]})";
}

const char* kAfter = R"({"id":1,"email":"a@example.com","price":"MDk=","created":1700000000123456,
  "updated":"2023-11-14T22:13:20.5+01:00","born":19000,"wake":25200000000,
  "doc":"{\"k\": [1, 2]}","uid":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","blob":"AAH+",
  "tags":["x",null],"n":{"scale":3,"value":"+x4="}})";

const char* kSource = R"({"connector":"postgresql","ts_ms":1700000000000,"snapshot":"false",
  "schema":"inv","table":"t","sequence":"[\"24023128\",\"24023184\"]","txId":555,"lsn":24023184})";

std::string Event(const std::string& op, const std::string& before, const std::string& after,
                  const std::string& schema = EnvelopeSchema()) {
  return R"({"schema":)" + schema + R"(,"payload":{"before":)" + before + R"(,"after":)" + after +
         R"(,"source":)" + kSource + R"(,"op":")" + op +
         R"(","ts_ms":1700000000456,"ts_us":1700000000456789,"ts_ns":1700000000456789012}})";
}

std::string Cell(const arrow::RecordBatch& batch, const std::string& path, int64_t row) {
  // "after.price" -> the struct column's child.
  auto dot = path.find('.');
  std::shared_ptr<arrow::Array> column = batch.GetColumnByName(path.substr(0, dot));
  EXPECT_NE(column, nullptr) << path;
  if (!column) return "?";
  if (dot != std::string::npos) {
    const auto& s = static_cast<const arrow::StructArray&>(*column);
    if (s.IsNull(row)) return "null";
    column = s.GetFieldByName(path.substr(dot + 1));
    EXPECT_NE(column, nullptr) << path;
    if (!column) return "?";
  }
  auto scalar = column->GetScalar(row);
  EXPECT_TRUE(scalar.ok());
  return (*scalar)->is_valid ? (*scalar)->ToString() : "null";
}

DecodedRecords Decode(const std::vector<std::string>& in) {
  Messages messages;
  for (const auto& m : in) messages.emplace_back(m);
  JsonRecordReader reader;
  auto out = reader.Decode(messages);
  EXPECT_TRUE(out.ok()) << out.status();
  if (!out.ok()) return {};
  for (const auto& run : out->runs) {
    auto st = run.batch->ValidateFull();
    EXPECT_TRUE(st.ok()) << st;
  }
  return std::move(*out);
}

std::string BadReasons(const DecodedRecords& d) {
  std::string s;
  for (const auto& b : d.bad) s += std::to_string(b.index) + ": " + b.reason + "\n";
  return s;
}

TEST(DebeziumJson, EnvelopeWithSchemaMapsEveryConnectType) {
  auto d = Decode({Event("c", "null", kAfter)});
  ASSERT_TRUE(d.bad.empty()) << BadReasons(d);
  ASSERT_EQ(d.runs.size(), 1u);
  const auto& run = d.runs[0];
  EXPECT_TRUE(IsEnvelope(*run.schema));
  EXPECT_FALSE(run.inferred);
  EXPECT_EQ(run.messages, std::vector<int64_t>{0});
  const auto& b = *run.batch;
  EXPECT_EQ(b.schema()->field_names(), (std::vector<std::string>{"before", "after", "source", "op",
                                                                 "ts_ms", "ts_us", "ts_ns"}));
  EXPECT_EQ(Cell(b, "op", 0), "c");
  EXPECT_EQ(Cell(b, "ts_ns", 0), "1700000000456789012");
  EXPECT_EQ(Cell(b, "before", 0), "null");
  EXPECT_EQ(Cell(b, "after.id", 0), "1");
  EXPECT_EQ(Cell(b, "after.email", 0), "a@example.com");
  EXPECT_EQ(Cell(b, "after.price", 0), "123.45");
  EXPECT_EQ(Cell(b, "after.created", 0), "2023-11-14 22:13:20.123456");
  EXPECT_EQ(Cell(b, "after.updated", 0), "2023-11-14 21:13:20.500000Z");
  EXPECT_EQ(Cell(b, "after.born", 0), "2022-01-08");
  EXPECT_EQ(Cell(b, "after.wake", 0), "07:00:00.000000");
  EXPECT_EQ(Cell(b, "after.doc", 0), R"({"k": [1, 2]})");
  EXPECT_EQ(Cell(b, "after.uid", 0), "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
  EXPECT_EQ(Cell(b, "after.blob", 0), std::string("\x00\x01\xfe", 3));
  EXPECT_EQ(Cell(b, "after.tags", 0), "list<element: string>[x, null]");
  EXPECT_EQ(Cell(b, "after.n", 0), "-1.250");
  EXPECT_EQ(Cell(b, "source.sequence", 0), R"(["24023128","24023184"])");
  EXPECT_EQ(Cell(b, "source.lsn", 0), "24023184");
  const auto after_type = b.schema()->GetFieldByName("after")->type();
  EXPECT_TRUE(after_type->field(2)->type()->Equals(arrow::decimal128(10, 2)));
  EXPECT_TRUE(
      after_type->field(4)->type()->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  EXPECT_FALSE(after_type->field(0)->nullable());
}

TEST(DebeziumJson, UpdateDeleteAndTombstones) {
  const std::string row1 = R"({"id":1,"email":"old@example.com"})";
  const std::string row2 = R"({"id":1,"email":"new@example.com"})";
  const std::string update = Event("u", row1, row2);
  const std::string del = Event("d", row2, "null");
  std::vector<std::optional<std::string_view>> messages = {update, std::nullopt, del};
  const std::string null_payload = R"({"schema":null,"payload":null})";
  messages.emplace_back(null_payload);
  JsonRecordReader reader;
  auto d = reader.Decode(messages);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(d->bad.empty()) << BadReasons(*d);
  EXPECT_EQ(d->tombstones, (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(d->runs.size(), 1u);
  const auto& b = *d->runs[0].batch;
  EXPECT_EQ(d->runs[0].messages, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(Cell(b, "op", 0), "u");
  EXPECT_EQ(Cell(b, "before.email", 0), "old@example.com");
  EXPECT_EQ(Cell(b, "after.email", 0), "new@example.com");
  EXPECT_EQ(Cell(b, "op", 1), "d");
  EXPECT_EQ(Cell(b, "after", 1), "null");
  EXPECT_EQ(Cell(b, "before.id", 1), "1");
  // Absent optional fields are null.
  EXPECT_EQ(Cell(b, "after.price", 0), "null");
  EXPECT_EQ(reader.cached_schemas(), 1u);
}

TEST(DebeziumJson, ASchemaChangeStartsANewRun) {
  std::string row2 = kRow;
  row2.insert(row2.rfind(']'), R"(,{"type":"int16","optional":true,"field":"added"})");
  const std::string a = Event("c", "null", R"({"id":1})");
  const std::string b = Event("c", "null", R"({"id":2,"added":7})", EnvelopeSchema(row2));
  const std::string c = Event("c", "null", R"({"id":3})");
  auto d = Decode({a, a, b, c});
  ASSERT_TRUE(d.bad.empty()) << BadReasons(d);
  ASSERT_EQ(d.runs.size(), 3u);
  EXPECT_EQ(d.runs[0].messages, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(d.runs[1].messages, (std::vector<int64_t>{2}));
  EXPECT_EQ(d.runs[2].messages, (std::vector<int64_t>{3}));
  EXPECT_EQ(Cell(*d.runs[1].batch, "after.added", 0), "7");
  EXPECT_EQ(Cell(*d.runs[2].batch, "after.id", 0), "3");
}

TEST(DebeziumJson, DecimalForms) {
  const std::string dec = R"({"type":"struct","fields":[{"type":"bytes","optional":true,
      "name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2",
      "connect.decimal.precision":"PREC"},"field":"v"}]})";
  auto with_precision = [&](const std::string& p) {
    std::string s = dec;
    s.replace(s.find("PREC"), 4, p);
    return s;
  };
  auto msg = [](const std::string& schema, const std::string& v) {
    return R"({"schema":)" + schema + R"(,"payload":{"v":)" + v + "}}";
  };
  const std::string p10 = with_precision("10");
  auto d =
      Decode({msg(p10, R"("+x4=")"), msg(p10, R"("///7Hg==")"), msg(p10, "12.5"), msg(p10, "-0.01"),
              msg(p10, R"("AKtUqYzrHwrS")"), msg(p10, "1.234"), msg(p10, R"("not base64!")")});
  ASSERT_EQ(d.runs.size(), 1u);
  const auto& b = *d.runs[0].batch;
  EXPECT_EQ(d.runs[0].messages, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(Cell(b, "v", 0), "-12.50");
  EXPECT_EQ(Cell(b, "v", 1), "-12.50");
  EXPECT_EQ(Cell(b, "v", 2), "12.50");
  EXPECT_EQ(Cell(b, "v", 3), "-0.01");
  // Too many digits for precision 10, a number that needs rounding, and
  // text that is no decimal: bad, with the reason; never rounded.
  ASSERT_EQ(d.bad.size(), 3u) << BadReasons(d);
  EXPECT_NE(d.bad[0].reason.find("exceeds precision 10"), std::string::npos) << d.bad[0].reason;
  EXPECT_NE(d.bad[0].reason.find("value.v"), std::string::npos) << d.bad[0].reason;
  EXPECT_EQ(d.bad[1].index, 5);
  EXPECT_EQ(d.bad[2].index, 6);
  // Above 38 digits: exact text.
  const std::string p50 = with_precision("50");
  d = Decode({msg(p50, R"("HWMp8cNcpL+rufVhAAAAAAU=")"),
              msg(p50, "12345678901234567890123456789012345678901234.5")});
  ASSERT_TRUE(d.bad.empty()) << BadReasons(d);
  EXPECT_EQ(Cell(*d.runs[0].batch, "v", 0), "100000000000000000000000000000000000000.05");
  EXPECT_EQ(Cell(*d.runs[0].batch, "v", 1), "12345678901234567890123456789012345678901234.5");
}

TEST(DebeziumJson, TimesAndTimestampsInTheirUnits) {
  const std::string schema = R"({"type":"struct","fields":[
    {"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","field":"a"},
    {"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","field":"b"},
    {"type":"int32","optional":true,"name":"io.debezium.time.Time","field":"c"},
    {"type":"int64","optional":true,"name":"io.debezium.time.NanoTime","field":"d"},
    {"type":"int64","optional":true,"name":"io.debezium.time.NanoTimestamp","field":"e"},
    {"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","field":"f"}]})";
  auto msg = [&](const std::string& payload) {
    return R"({"schema":)" + schema + R"(,"payload":)" + payload + "}";
  };
  auto d = Decode({msg(R"({"a":1700000000123,"b":-1,"c":3723004,"d":1000,"e":5,"f":-1})"),
                   msg(R"({"c":86400000})"), msg(R"({"a":9223372036854775807})"),
                   msg(R"({"d":"noon"})")});
  ASSERT_EQ(d.runs.size(), 1u);
  const auto& b = *d.runs[0].batch;
  EXPECT_EQ(Cell(b, "a", 0), "2023-11-14 22:13:20.123000Z");
  EXPECT_EQ(Cell(b, "b", 0), "1969-12-31 23:59:59.999000");
  EXPECT_EQ(Cell(b, "c", 0), "01:02:03.004000");
  EXPECT_EQ(Cell(b, "d", 0), "00:00:00.000001000");
  EXPECT_EQ(Cell(b, "e", 0), "1970-01-01 00:00:00.000000005");
  EXPECT_EQ(Cell(b, "f", 0), "1969-12-31");
  // A time of 24:00, a timestamp that overflows in microseconds, text for a
  // number.
  ASSERT_EQ(d.bad.size(), 3u) << BadReasons(d);
  EXPECT_NE(d.bad[0].reason.find("out of range"), std::string::npos);
  EXPECT_NE(d.bad[1].reason.find("overflows"), std::string::npos);
  EXPECT_NE(d.bad[2].reason.find("value.d"), std::string::npos);
}

TEST(DebeziumJson, MapsWithStringAndOtherKeys) {
  const std::string schema = R"({"type":"struct","fields":[
    {"type":"map","optional":true,"keys":{"type":"string"},"values":{"type":"int32"},"field":"m"},
    {"type":"map","optional":true,"keys":{"type":"int32"},"values":{"type":"string"},"field":"n"}]})";
  auto d = Decode({R"({"schema":)" + schema + R"(,"payload":{"m":{"a":1,"b":2},"n":[[7,"x"]]}})"});
  ASSERT_TRUE(d.bad.empty()) << BadReasons(d);
  EXPECT_EQ(Cell(*d.runs[0].batch, "m", 0),
            "map<string, int32>[{key:string = a, value:int32 = 1}, "
            "{key:string = b, value:int32 = 2}]");
  EXPECT_EQ(Cell(*d.runs[0].batch, "n", 0),
            "map<int32, string>[{key:int32 = 7, value:string = x}]");
  // A non-string key map written as an object, a pair that is not a pair,
  // and a null key are bad.
  d = Decode({R"({"schema":)" + schema + R"(,"payload":{"n":{"7":"x"}}})",
              R"({"schema":)" + schema + R"(,"payload":{"n":[[7,"x",1]]}})",
              R"({"schema":)" + schema + R"(,"payload":{"n":[[null,"x"]]}})"});
  EXPECT_EQ(d.bad.size(), 3u) << BadReasons(d);
}

TEST(DebeziumJson, BadMessagesAreReportedAndTheOthersDecode) {
  const std::string good = Event("c", "null", R"({"id":1})");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "syntax"},
      {"", "syntax"},
      {"   ", "syntax"},
      {"[1,2]", "not a JSON object"},
      {good + "x", "syntax"},
      {Event("c", "null", R"({"email":"no id"})"), "required field 'id' is missing"},
      {Event("c", "null", R"({"id":null})"), "null for a required value"},
      {Event("c", "null", R"({"id":1,"extra":2})"), "'extra' is not in the schema"},
      {Event("c", "null", R"({"id":1,"id":2})"), "appears twice"},
      {Event("c", "null", R"({"id":"one"})"), "value.after.id"},
      {Event("c", "null", R"({"id":4294967296})"), "value.after.id"},
      {R"({"schema":{"type":"int32"},"payload":1})", "not a struct"},
      {R"({"schema":{"type":"nosuch"},"payload":{}})", "bad schema"},
      {R"({"schema":7,"payload":{}})", "neither an object nor null"},
      // Syntax errors deep in a payload that has a schema: the payload is
      // checked by its conversion, wherever the error is.
      {Event("c", "null", R"({"id":1,"email":nul})"), "syntax"},
      {Event("c", "null", R"({"id":1,"email":"a\qb"})"), "syntax"},
      {Event("c", "null", R"({"id":1,"tags":["x",tru]})"), "syntax"},
      {Event("c", "null", R"({"id":1,"n":{"scale":3,"value":"+x4=","z":fals}})"), "syntax"},
      {Event("c", "null", R"({"id":1,"extra":{"a":[1,nul]}})"), "syntax"},
      {Event("c", "null", R"({"id":1,"price":-})"), "syntax"},
      {Event("c", "nul", R"({"id":1})"), "syntax"},
      {R"({"schema":)" + EnvelopeSchema() +
           R"(,"payload":{"before":null,"after":{"id":1},)"
           R"("source":)" +
           kSource + R"(,"op":"c","ts_ms":1,"ts_ns":1e})",
       "syntax"},
      // The payload before the schema, and a bad atom after both.
      {R"({"payload":{"id":1},"schema":{"type":"struct","fields":[{"type":"int32","field":"id"}]}})"
       R"(,"x")",
       "syntax"},
      {R"({"payload":{"id":nul},"schema":null})", "syntax"},
      {R"({"schema":null,"payload":{"id":1,"v":[nul]}})", "syntax"},
  };
  std::vector<std::string> in;
  for (const auto& c : cases) {
    in.push_back(good);
    in.push_back(c.first);
  }
  in.push_back(good);
  auto d = Decode(in);
  ASSERT_EQ(d.bad.size(), cases.size()) << BadReasons(d);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(d.bad[i].index, static_cast<int64_t>(2 * i + 1));
    EXPECT_NE(d.bad[i].reason.find(cases[i].second), std::string::npos)
        << cases[i].first << " -> " << d.bad[i].reason;
  }
  int64_t rows = 0;
  for (const auto& run : d.runs) rows += run.batch->num_rows();
  EXPECT_EQ(rows, static_cast<int64_t>(cases.size() + 1));
}

TEST(DebeziumJson, SchemalessMessagesAreInferred) {
  auto d = Decode({
      R"({"before":null,"after":{"id":1,"price":12.5,"name":"a","tags":["x"]},"op":"c","ts_ms":1})",
      R"({"before":null,"after":{"id":2,"price":3,"name":null,"odd":1},"op":"c","ts_ms":2})",
      R"({"before":{"id":2},"after":null,"op":"d","ts_ms":3,"after2":{"odd":"x"}})",
  });
  ASSERT_TRUE(d.bad.empty()) << BadReasons(d);
  ASSERT_EQ(d.runs.size(), 1u);
  const auto& run = d.runs[0];
  EXPECT_TRUE(run.inferred);
  EXPECT_TRUE(IsEnvelope(*run.schema));
  const auto& b = *run.batch;
  EXPECT_EQ(b.num_rows(), 3);
  const auto after = b.schema()->GetFieldByName("after")->type();
  EXPECT_TRUE(after->field(0)->type()->Equals(arrow::int64()));
  EXPECT_TRUE(after->field(1)->type()->Equals(arrow::float64()));
  EXPECT_EQ(Cell(b, "after.price", 1), "3");
  EXPECT_EQ(Cell(b, "op", 2), "d");
  EXPECT_EQ(Cell(b, "before.id", 2), "2");
  // Without a schema, `before` and `after` are inferred separately: `before`
  // saw only the id.
  EXPECT_EQ(b.schema()->GetFieldByName("before")->type()->num_fields(), 1);
}

TEST(DebeziumJson, SchemalessMixedKindsBecomeJsonText) {
  auto d = Decode({R"({"v":1})", R"({"v":"a"})", R"({"v":{"k":[1]}})", R"({"v":null})"});
  ASSERT_TRUE(d.bad.empty()) << BadReasons(d);
  const auto& b = *d.runs[0].batch;
  EXPECT_TRUE(b.schema()->field(0)->type()->Equals(arrow::utf8()));
  EXPECT_EQ(Cell(b, "v", 0), "1");
  EXPECT_EQ(Cell(b, "v", 1), "a");
  EXPECT_EQ(Cell(b, "v", 2), R"({"k":[1]})");
  EXPECT_EQ(Cell(b, "v", 3), "null");
  EXPECT_FALSE(IsEnvelope(*d.runs[0].schema));
}

TEST(DebeziumJson, FlattenedRecordsWithSchemaAreNotEnvelopes) {
  const std::string schema = R"({"type":"struct","fields":[{"type":"int32","field":"id"},
      {"type":"string","optional":true,"field":"__op"},
      {"type":"string","optional":true,"field":"__deleted"}]})";
  auto d =
      Decode({R"({"schema":)" + schema + R"(,"payload":{"id":1,"__op":"d","__deleted":"true"}})"});
  ASSERT_TRUE(d.bad.empty()) << BadReasons(d);
  EXPECT_FALSE(IsEnvelope(*d.runs[0].schema));
  EXPECT_EQ(Cell(*d.runs[0].batch, "__deleted", 0), "true");
}

}  // namespace
}  // namespace sluice::formats::debezium

namespace sluice::formats::debezium {
namespace {

std::string ReadFixture(const std::string& name) {
  const std::string path = std::string(SLUICE_TEST_DATA_DIR) + "/debezium/postgres_json/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Real events, taken from Debezium 3.6.1's PostgreSQL connector with the
// JSON converter (tests/kafka/test_debezium.py produces the same): a
// snapshot read, an insert, an update and a delete of table inv.customers,
// then the delete's Kafka tombstone.
TEST(DebeziumJson, RealPostgresEvents) {
  const std::vector<std::string> names = {"0-r", "1-c", "2-u", "3-d"};
  std::vector<std::string> values, keys;
  for (const auto& n : names) {
    values.push_back(ReadFixture(n + ".value.json"));
    keys.push_back(ReadFixture(n + ".key.json"));
  }
  Messages messages(values.begin(), values.end());
  messages.emplace_back(std::nullopt);
  JsonRecordReader reader;
  auto d = reader.Decode(messages);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(d->bad.empty()) << BadReasons(*d);
  EXPECT_EQ(d->tombstones, std::vector<int64_t>{4});
  ASSERT_EQ(d->runs.size(), 1u);
  EXPECT_TRUE(IsEnvelope(*d->runs[0].schema));
  const auto& b = *d->runs[0].batch;
  ASSERT_TRUE(b.ValidateFull().ok());
  EXPECT_EQ(b.schema()->field_names(),
            (std::vector<std::string>{"before", "after", "source", "transaction", "op", "ts_ms",
                                      "ts_us", "ts_ns"}));
  EXPECT_EQ(Cell(b, "op", 0), "r");
  EXPECT_EQ(Cell(b, "op", 1), "c");
  EXPECT_EQ(Cell(b, "op", 2), "u");
  EXPECT_EQ(Cell(b, "op", 3), "d");
  EXPECT_EQ(Cell(b, "source.snapshot", 0), "last");
  EXPECT_EQ(Cell(b, "source.snapshot", 1), "false");
  EXPECT_EQ(Cell(b, "source.sequence", 1), R"([null,"26378640"])");
  EXPECT_EQ(Cell(b, "source.lsn", 1), "26378640");
  EXPECT_EQ(Cell(b, "after.price", 0), "123.45");
  EXPECT_EQ(Cell(b, "after.n", 0), "-1.25");
  EXPECT_EQ(Cell(b, "after.created", 0), "2023-11-14 22:13:20.123456");
  EXPECT_EQ(Cell(b, "after.updated", 0), "2023-11-14 21:13:20.500000Z");
  EXPECT_EQ(Cell(b, "after.born", 0), "2022-01-08");
  EXPECT_EQ(Cell(b, "after.wake", 0), "07:00:00.000000");
  EXPECT_EQ(Cell(b, "after.blob", 0), std::string("\x00\x01\xfe", 3));
  EXPECT_EQ(Cell(b, "after.span", 0), "93600000000");  // MicroDuration: 1 day 2 hours in us
  EXPECT_EQ(Cell(b, "after.price", 1), "1.50");
  EXPECT_EQ(Cell(b, "after.email", 2), "c@example.com");
  EXPECT_EQ(Cell(b, "after", 3), "null");
  EXPECT_EQ(Cell(b, "before.id", 3), "2");
  // The keys are Connect records too.
  Messages key_messages(keys.begin(), keys.end());
  auto k = reader.Decode(key_messages);
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(k->bad.empty()) << BadReasons(*k);
  ASSERT_EQ(k->runs.size(), 1u);
  EXPECT_EQ(k->runs[0].batch->schema()->field_names(), std::vector<std::string>{"id"});
  EXPECT_EQ(Cell(*k->runs[0].batch, "id", 3), "2");
}

}  // namespace
}  // namespace sluice::formats::debezium
