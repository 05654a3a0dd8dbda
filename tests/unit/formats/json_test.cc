// DatastreamJsonReader against Python's json module (json_expected.py): the
// real fixtures as arrays, NDJSON and gzip; then the inference rules, pinned
// types and bad input, case by case.
#include <arrow/api.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "avro_test_util.h"
#include "sluice/formats/json/json_reader.h"

namespace sluice::formats::json {
namespace {

using testing::Diff;
using testing::Python;
using testing::ReadFile;
using testing::RunCommand;
using testing::ScriptDir;
using testing::TempDir;
using testing::ToBuffer;
using testing::ValueToJson;
namespace fs = std::filesystem;

std::string FixtureDir() { return std::string(SLUICE_FIXTURES_DIR) + "/datastream/json"; }

std::vector<std::string> Fixtures() {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(FixtureDir())) {
    if (e.is_regular_file() && e.path().extension() == ".json" &&
        e.path().filename() != "schema.json") {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Gzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

/// One event per line, re-serialized by Python (keeps number text).
std::string ToNdjson(const std::string& array_path) {
  TempDir tmp;
  const std::string out = (tmp.path / "x.jsonl").string();
  EXPECT_EQ(RunCommand(Python() +
                       " -c 'import json,sys,decimal; d=json.load(open(sys.argv[1]),"
                       " parse_float=decimal.Decimal); d=d if isinstance(d,list) else [d];"
                       " open(sys.argv[2],\"w\").write(\"\".join(json.dumps(e, "
                       "default=str)+\"\\n\" for e in d))' '" +
                       array_path + "' '" + out + "'"),
            0);
  return ReadFile(out);
}

struct Decoded {
  std::shared_ptr<arrow::Schema> schema;
  std::vector<nlohmann::json> rows;
  std::vector<BadRecord> bad;
};

Result<Decoded> Decode(std::vector<std::pair<std::string, std::string>> files,
                       JsonDecodeOptions opts = {}) {
  std::vector<JsonInput> inputs;
  for (auto& [bytes, where] : files) inputs.push_back({ToBuffer(bytes), where});
  ARROW_ASSIGN_OR_RAISE(auto reader, DatastreamJsonReader::Open(std::move(inputs), opts));
  Decoded d;
  d.schema = reader->schema();
  for (;;) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    ARROW_RETURN_NOT_OK(batch->ValidateFull());
    if (!batch->schema()->Equals(*d.schema)) return Status::Invalid("batch schema differs");
    for (int64_t r = 0; r < batch->num_rows(); ++r) {
      nlohmann::json row = nlohmann::json::object();
      for (int c = 0; c < batch->num_columns(); ++c) {
        row[d.schema->field(c)->name()] = ValueToJson(*batch->column(c), r);
      }
      d.rows.push_back(std::move(row));
    }
  }
  d.bad = reader->TakeBadRecords();
  return d;
}

Result<Decoded> DecodeOne(const std::string& bytes, JsonDecodeOptions opts = {}) {
  return Decode({{bytes, "test.json"}}, opts);
}

/// Decodes `files` (bytes, name) and compares with json_expected.py over
/// `paths` (the same events on disk): schema and every value.
void ExpectMatchesPython(const std::vector<std::pair<std::string, std::string>>& files,
                         const std::vector<std::string>& paths, int64_t batch_size = 65536) {
  TempDir tmp;
  const std::string expected = (tmp.path / "expected.jsonl").string();
  std::string cmd = Python() + " " + ScriptDir() + "/json_expected.py '" + expected + "'";
  for (const auto& p : paths) cmd += " '" + p + "'";
  ASSERT_EQ(RunCommand(cmd), 0);
  JsonDecodeOptions opts;
  opts.batch_size = batch_size;
  ASSERT_OK_AND_ASSIGN(Decoded got, Decode(files, opts));
  EXPECT_TRUE(got.bad.empty()) << got.bad[0].reason;
  std::ifstream in(expected);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto schema = nlohmann::json::parse(line)["schema"];
  ASSERT_EQ(static_cast<int>(schema.size()), got.schema->num_fields());
  const std::vector<std::string> order = {
      "uuid",        "read_timestamp", "source_timestamp", "object",          "read_method",
      "stream_name", "schema_key",     "sort_keys",        "source_metadata", "payload"};
  ASSERT_EQ(got.schema->field_names(), order);
  for (int i = 0; i < got.schema->num_fields(); ++i) {
    const auto& f = got.schema->field(i);
    ASSERT_TRUE(schema.contains(f->name())) << f->name();
    EXPECT_EQ(f->type()->ToString(), schema[f->name()].get<std::string>()) << f->name();
  }
  size_t n = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(n, got.rows.size()) << "fewer rows than Python";
    auto want = nlohmann::json::parse(line);
    for (const auto& [col, value] : want.items()) {
      ASSERT_EQ(Diff(value, got.rows[n][col], col), "") << "row " << n;
    }
    ++n;
  }
  EXPECT_EQ(n, got.rows.size()) << "more rows than Python";
}

TEST(JsonFixtures, ArraysDecodeExactlyAsPython) {
  auto files = Fixtures();
  ASSERT_EQ(files.size(), 5u);
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    ExpectMatchesPython({{ReadFile(f), f}}, {f});
    ExpectMatchesPython({{ReadFile(f), f}}, {f}, /*batch_size=*/1);
  }
}

TEST(JsonFixtures, NdjsonAndGzipDecodeLikeTheArrays) {
  TempDir tmp;
  for (const auto& f : Fixtures()) {
    SCOPED_TRACE(f);
    const std::string nd = ToNdjson(f);
    const std::string gz = Gzip(nd);
    const std::string gz_path = (tmp.path / "x.jsonl.gz").string();
    std::ofstream(gz_path, std::ios::binary) << gz;
    ExpectMatchesPython({{nd, f}}, {f});
    ExpectMatchesPython({{gz, gz_path}}, {gz_path}, 2);
    // Multi-member gzip (cat a.gz b.gz) holds both halves.
    ExpectMatchesPython({{gz + gz, "two"}}, {f, f});
  }
}

TEST(JsonFixtures, FilesDecodedTogetherShareOneSchema) {
  std::vector<std::pair<std::string, std::string>> files;
  auto paths = Fixtures();
  for (const auto& p : paths) files.push_back({ReadFile(p), p});
  ExpectMatchesPython(files, paths);
}

// An event line with the given payload (and optional extra envelope text).
std::string Event(const std::string& payload, const std::string& extra = "") {
  return R"({"uuid":"u","read_timestamp":"2021-12-25 05:42:04.408",)"
         R"("source_timestamp":"2021-12-25T05:42:04.408Z","object":"t",)" +
         extra + R"("payload":)" + payload + "}";
}

std::shared_ptr<arrow::DataType> PayloadType(const Decoded& d, const std::string& name) {
  auto payload = d.schema->GetFieldByName("payload")->type();
  auto f = static_cast<const arrow::StructType&>(*payload).GetFieldByName(name);
  return f ? f->type() : nullptr;
}

TEST(JsonEvents, BothTimestampFormsAndEpochMillis) {
  const std::string text =
      R"({"read_timestamp":"2021-12-25 05:42:04.408","source_timestamp":"2021-12-25T05:42:04.408Z"})"
      "\n"
      R"({"read_timestamp":1640410924408,"source_timestamp":"2021-12-25T06:42:04.408123+01:00"})"
      "\n"
      R"({"read_timestamp":null,"source_timestamp":"2021-12-25T05:42:04.4081239"})"
      "\n";
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
  ASSERT_TRUE(d.bad.empty()) << d.bad[0].reason;
  EXPECT_TRUE(d.schema->GetFieldByName("read_timestamp")
                  ->type()
                  ->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  const int64_t us = 1640410924408000;
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.rows[0]["read_timestamp"], us);
  EXPECT_EQ(d.rows[0]["source_timestamp"], us);
  EXPECT_EQ(d.rows[1]["read_timestamp"], us);
  EXPECT_EQ(d.rows[1]["source_timestamp"], us + 123);
  EXPECT_TRUE(d.rows[2]["read_timestamp"].is_null());
  EXPECT_EQ(d.rows[2]["source_timestamp"], us + 123);  // below a microsecond: truncated
}

TEST(JsonEvents, DecimalsComeFromTheTextExactly) {
  const std::string text = Event(R"({"price":12345.67,"n":1,"tiny":0.000001})") + "\n" +
                           Event(R"({"price":1.5,"n":-7,"tiny":1e-6})") + "\n" +
                           Event(R"({"price":-0.01,"n":9223372036854775807,"tiny":2E-6})") + "\n";
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
  ASSERT_TRUE(d.bad.empty()) << d.bad[0].reason;
  EXPECT_TRUE(PayloadType(d, "price")->Equals(arrow::decimal128(7, 2)));
  EXPECT_TRUE(PayloadType(d, "n")->Equals(arrow::int64()));
  EXPECT_TRUE(PayloadType(d, "tiny")->Equals(arrow::decimal128(6, 6)));
  EXPECT_EQ(d.rows[0]["payload"]["price"], "1234567");
  EXPECT_EQ(d.rows[1]["payload"]["price"], "150");
  EXPECT_EQ(d.rows[2]["payload"]["price"], "-1");
  EXPECT_EQ(d.rows[2]["payload"]["n"], INT64_MAX);
  EXPECT_EQ(d.rows[1]["payload"]["tiny"], "1");
  EXPECT_EQ(d.rows[2]["payload"]["tiny"], "2");
}

TEST(JsonEvents, NumberWideningRules) {
  const std::string text =
      Event(R"({"big":1,"wide":1.5,"huge":1})") + "\n" +
      Event(R"({"big":99999999999999999999,"wide":123456789012345678901234567890.123456789,)"
            R"("huge":1e300})") +
      "\n";
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
  ASSERT_TRUE(d.bad.empty()) << d.bad[0].reason;
  EXPECT_TRUE(PayloadType(d, "big")->Equals(arrow::decimal128(38, 0)));
  EXPECT_EQ(d.rows[1]["payload"]["big"], "99999999999999999999");
  EXPECT_TRUE(PayloadType(d, "wide")->Equals(arrow::float64()));  // p = 30 + 9 > 38
  EXPECT_EQ(d.rows[0]["payload"]["wide"], 1.5);
  EXPECT_TRUE(PayloadType(d, "huge")->Equals(arrow::float64()));
  EXPECT_EQ(d.rows[1]["payload"]["huge"], 1e300);
}

TEST(JsonEvents, InferenceDoesNotDependOnRowOrder) {
  const std::vector<std::string> lines = {
      Event(R"({"a":null,"b":1,"c":[1,2],"d":{"x":true},"e":null})"),
      Event(R"({"a":null,"b":2.25,"c":[],"d":{"y":"s"},"e":null})"),
      Event(R"({"a":null,"b":-3,"c":[3.5,null],"d":null})"),
  };
  std::shared_ptr<arrow::DataType> first;
  std::vector<int> order = {0, 1, 2};
  do {
    std::string text;
    for (int i : order) text += lines[i] + "\n";
    ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
    ASSERT_TRUE(d.bad.empty());
    EXPECT_TRUE(PayloadType(d, "a")->Equals(arrow::null()));  // null only: type unknown
    EXPECT_TRUE(PayloadType(d, "b")->Equals(arrow::decimal128(3, 2)));
    EXPECT_TRUE(PayloadType(d, "c")->Equals(arrow::list(arrow::decimal128(2, 1))));
    EXPECT_TRUE(PayloadType(d, "e")->Equals(arrow::null()));
    auto dt = PayloadType(d, "d");
    ASSERT_EQ(dt->id(), arrow::Type::STRUCT);
    auto& st = static_cast<const arrow::StructType&>(*dt);
    EXPECT_TRUE(st.GetFieldByName("x")->type()->Equals(arrow::boolean()));
    EXPECT_TRUE(st.GetFieldByName("y")->type()->Equals(arrow::utf8()));
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(JsonEvents, MixedColumnsHoldJsonText) {
  const std::string text = Event(R"({"v":5})") + "\n" + Event(R"({"v":"a\"b"})") + "\n" +
                           Event(R"({"v":{"x": [1, 2.50]}})") + "\n" + Event(R"({"v":null})") +
                           "\n" + Event(R"({"v":true})") + "\n";
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
  ASSERT_TRUE(d.bad.empty());
  EXPECT_TRUE(PayloadType(d, "v")->Equals(arrow::utf8()));
  EXPECT_EQ(d.rows[0]["payload"]["v"], "5");
  EXPECT_EQ(d.rows[1]["payload"]["v"], "\"a\\\"b\"");
  EXPECT_EQ(d.rows[2]["payload"]["v"], "{\"x\":[1,2.50]}");
  EXPECT_TRUE(d.rows[3]["payload"]["v"].is_null());
  EXPECT_EQ(d.rows[4]["payload"]["v"], "true");
}

TEST(JsonEvents, SortKeysKeepTheAvroShape) {
  const std::string text =
      Event("{}", R"("sort_keys":["2021-01-01 00:00:00", "", 0],)") + "\n" +
      Event("{}",
            R"("sort_keys":["2021-01-01 00:00:00", 0, 0, null, 1.5, 99999999999999999999],)") +
      "\n";
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
  ASSERT_TRUE(d.bad.empty()) << d.bad[0].reason;
  EXPECT_EQ(d.schema->GetFieldByName("sort_keys")->type()->ToString(),
            "list<item: struct<string: string, long: int64>>");
  using nlohmann::json;
  EXPECT_EQ(d.rows[0]["sort_keys"],
            json::parse(R"([{"string":"2021-01-01 00:00:00","long":null},)"
                        R"({"string":"","long":null},{"string":null,"long":0}])"));
  EXPECT_EQ(d.rows[1]["sort_keys"][3], nullptr);
  EXPECT_EQ(d.rows[1]["sort_keys"][4], json::parse(R"({"string":"1.5","long":null})"));
  EXPECT_EQ(d.rows[1]["sort_keys"][5]["string"], "99999999999999999999");
}

TEST(JsonEvents, UnknownEnvelopeKeysAreIgnoredAndOtherTypesKeptAsText) {
  const std::string text =
      R"({"uuid":7,"extra":{"deep":[1,2]},"payload":{"a":1},"read_method":null})"
      "\n";
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
  ASSERT_TRUE(d.bad.empty());
  EXPECT_EQ(d.schema->num_fields(), 10);
  EXPECT_EQ(d.rows[0]["uuid"], "7");
  EXPECT_TRUE(d.rows[0]["read_method"].is_null());
  EXPECT_TRUE(d.rows[0]["sort_keys"].is_null());
  EXPECT_TRUE(d.rows[0]["source_metadata"].is_null());  // absent
  EXPECT_EQ(d.rows[0]["payload"]["a"], 1);
}

TEST(JsonEvents, PinnedTypesConvertOrReject) {
  JsonDecodeOptions opts;
  opts.pinned_payload_types["amount"] = arrow::decimal128(7, 2);
  opts.pinned_payload_types["id"] = arrow::int32();
  opts.pinned_payload_types["at"] = arrow::timestamp(arrow::TimeUnit::MILLI, "UTC");
  opts.pinned_payload_types["never"] = arrow::boolean();
  const std::string text =
      Event(R"({"id":"12","amount":"12345.67","at":"2021-12-25 05:42:04.408"})") + "\n" +
      Event(R"({"id":13,"amount":12.3,"at":null})") + "\n" + Event(R"({"id":"x14","amount":1})") +
      "\n" + Event(R"({"id":15,"amount":1.234})") + "\n" + Event(R"({"id":16,"amount":123456.7})") +
      "\n";
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text, opts));
  EXPECT_TRUE(PayloadType(d, "amount")->Equals(arrow::decimal128(7, 2)));
  EXPECT_TRUE(PayloadType(d, "id")->Equals(arrow::int32()));
  EXPECT_TRUE(PayloadType(d, "never")->Equals(arrow::boolean()));
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0]["payload"]["id"], 12);
  EXPECT_EQ(d.rows[0]["payload"]["amount"], "1234567");
  EXPECT_EQ(d.rows[0]["payload"]["at"], 1640410924408);
  EXPECT_EQ(d.rows[1]["payload"]["amount"], "1230");
  EXPECT_TRUE(d.rows[1]["payload"]["never"].is_null());
  ASSERT_EQ(d.bad.size(), 3u);
  EXPECT_EQ(d.bad[0].line, 3);
  EXPECT_NE(d.bad[0].reason.find("payload.id: cannot convert \"x14\" to int32"), std::string::npos)
      << d.bad[0].reason;
  EXPECT_EQ(d.bad[0].raw, Event(R"({"id":"x14","amount":1})"));
  EXPECT_NE(d.bad[1].reason.find("1.234"), std::string::npos);     // would need rounding
  EXPECT_NE(d.bad[2].reason.find("123456.7"), std::string::npos);  // precision
  JsonDecodeOptions bad_opts;
  bad_opts.pinned_payload_types["m"] = arrow::map(arrow::utf8(), arrow::utf8());
  EXPECT_FALSE(DatastreamJsonReader::Open(ToBuffer("{}"), "x", bad_opts).ok());
}

TEST(JsonBadInput, SyntaxErrorOnOneLineKeepsTheOthers) {
  const std::string text = Event(R"({"v":1})") + "\n" + Event(R"({"v":"s", "w": tru})") + "\n" +
                           "\n" + "5\n" + Event(R"({"v":2})") + " x\n" +
                           Event(R"({"v":2, "v":3})") + "\n" + Event(R"({"v":3})");
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1]["payload"]["v"], 3);
  // The bad line's "s" did not turn v into a mixed column.
  EXPECT_TRUE(PayloadType(d, "v")->Equals(arrow::int64()));
  ASSERT_EQ(d.bad.size(), 4u);
  EXPECT_EQ(d.bad[0].line, 2);
  EXPECT_EQ(d.bad[0].raw, Event(R"({"v":"s", "w": tru})"));
  EXPECT_EQ(d.bad[0].offset, static_cast<int64_t>(Event(R"({"v":1})").size() + 1));
  EXPECT_NE(d.bad[0].reason.find("test.json:2: JSON syntax error"), std::string::npos)
      << d.bad[0].reason;
  EXPECT_EQ(d.bad[1].line, 4);
  EXPECT_NE(d.bad[1].reason.find("not a JSON object"), std::string::npos);
  EXPECT_EQ(d.bad[2].line, 5);
  EXPECT_NE(d.bad[3].reason.find("payload.v: duplicate key"), std::string::npos) << d.bad[3].reason;
}

TEST(JsonBadInput, BadEnvelopeValuesRejectTheEvent) {
  const std::string text = R"({"read_timestamp":"yesterday"})"
                           "\n"
                           R"({"read_timestamp":"2021-02-30 00:00:00"})"
                           "\n"
                           R"({"payload":[1]})"
                           "\n"
                           R"({"sort_keys":{}})"
                           "\n"
                           R"({"read_timestamp":true})"
                           "\n";
  ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
  EXPECT_TRUE(d.rows.empty());
  ASSERT_EQ(d.bad.size(), 5u);
  EXPECT_NE(d.bad[0].reason.find("read_timestamp: not a timestamp"), std::string::npos);
  EXPECT_NE(d.bad[2].reason.find("payload: not an object"), std::string::npos);
}

TEST(JsonBadInput, ArraySyntaxErrorRejectsTheWholeFile) {
  std::string text = ReadFile(FixtureDir() + "/events/records2.json");
  const size_t at = text.find("\"gender\"");
  text.insert(at, "]");
  ASSERT_OK_AND_ASSIGN(Decoded d, Decode({{text, "f.json"}, {Event("{}"), "g.json"}}));
  ASSERT_EQ(d.rows.size(), 1u);  // only g.json
  ASSERT_EQ(d.bad.size(), 1u);
  EXPECT_EQ(d.bad[0].where, "f.json");
  EXPECT_EQ(d.bad[0].raw, text);
  EXPECT_GE(d.bad[0].offset, static_cast<int64_t>(at) - 8);
  EXPECT_LE(d.bad[0].offset, static_cast<int64_t>(at) + 32);
  // A non-object element is only that element.
  ASSERT_OK_AND_ASSIGN(Decoded d2, DecodeOne("[" + Event("{}") + ", 5, " + Event("{}") + "]"));
  EXPECT_EQ(d2.rows.size(), 2u);
  EXPECT_EQ(d2.bad.size(), 1u);
}

TEST(JsonBadInput, TruncatedGzipKeepsTheCompleteLines) {
  const std::string nd = ToNdjson(FixtureDir() + "/events/records1.json");
  const std::string gz = Gzip(nd);
  ASSERT_OK_AND_ASSIGN(Decoded full, DecodeOne(nd));
  ASSERT_EQ(full.rows.size(), 6u);
  for (size_t cut : {gz.size() / 2, gz.size() - 4, size_t{12}, size_t{2}}) {
    SCOPED_TRACE(cut);
    ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(gz.substr(0, cut)));
    ASSERT_EQ(d.bad.size(), 1u);
    EXPECT_NE(d.bad[0].reason.find("gzip"), std::string::npos);
    ASSERT_LE(d.rows.size(), full.rows.size());
    for (size_t i = 0; i < d.rows.size(); ++i) EXPECT_EQ(d.rows[i], full.rows[i]);
    if (cut == gz.size() - 4) {
      EXPECT_GE(d.rows.size(), 5u);  // only the trailer is gone
    }
  }
  ASSERT_OK_AND_ASSIGN(Decoded garbage, DecodeOne(gz + "junk"));
  EXPECT_EQ(garbage.rows.size(), 6u);
  EXPECT_EQ(garbage.bad.size(), 1u);
}

TEST(JsonBadInput, EmptyInputs) {
  for (std::string text : {"", "\n\n", "[]", "\xEF\xBB\xBF[ ]"}) {
    ASSERT_OK_AND_ASSIGN(Decoded d, DecodeOne(text));
    EXPECT_TRUE(d.rows.empty());
    EXPECT_TRUE(d.bad.empty());
    EXPECT_EQ(d.schema->num_fields(), 10);
  }
}

}  // namespace
}  // namespace sluice::formats::json
