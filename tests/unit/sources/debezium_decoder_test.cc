// The Debezium decoder (sources/debezium/debezium_decoder.h): real events of
// Debezium's PostgreSQL connector (tests/data/debezium/), JSON and Avro, and
// hand-built messages for every rule of the normalization: ops, images,
// keys, ordering, unavailable values, truncates, flattened records, routing
// and bad input.
#include "sluice/sources/debezium/debezium_decoder.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "assert_result.h"
#include "sluice/core/change_schema.h"
#include "sluice/sources/debezium/debezium_changes.h"
#include "sluice/sources/debezium/debezium_sequence.h"
#include "sluice/sources/sequence_key.h"

#define ASSERT_OK(expr)                      \
  do {                                       \
    auto _st = (expr);                       \
    ASSERT_TRUE(_st.ok()) << _st.ToString(); \
  } while (false)
namespace sluice::sources::debezium {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const std::string kDataDir = std::string(SLUICE_TEST_DATA_DIR) + "/debezium/";
const char* kEvents[] = {"0-r", "1-c", "2-u", "3-d"};
const char* kTopic = "dbserver1.inv.customers";

KafkaMessage Message(std::string topic, int64_t offset, std::optional<std::string> key,
                     std::optional<std::string> value, int32_t partition = 0) {
  KafkaMessage m;
  m.topic = std::move(topic);
  m.partition = partition;
  m.offset = offset;
  m.key = std::move(key);
  m.value = std::move(value);
  return m;
}

SourceOptions Options(std::map<std::string, std::string> settings = {},
                      std::string format = "json") {
  SourceOptions o;
  o.kind = "debezium";
  o.format = std::move(format);
  o.settings = std::move(settings);
  return o;
}

Result<DecodedUnit> Decode(const SourceOptions& options, const std::vector<KafkaMessage>& msgs,
                           std::shared_ptr<SchemaRegistryClient> registry = nullptr) {
  ARROW_ASSIGN_OR_RAISE(auto decoder, MakeDebeziumDecoder(options, std::move(registry)));
  DecodeContext ctx;
  ctx.ingested_at_us = 42;
  return decoder->Decode(msgs, ctx);
}

std::shared_ptr<arrow::Array> Col(const arrow::RecordBatch& b, const std::string& name) {
  auto a = b.GetColumnByName(name);
  EXPECT_NE(a, nullptr) << "no column " << name << " in " << b.schema()->ToString();
  return a;
}

std::vector<std::string> Ops(const arrow::RecordBatch& b) {
  auto dict = std::static_pointer_cast<arrow::DictionaryArray>(Col(b, std::string(kOpColumn)));
  auto idx = std::static_pointer_cast<arrow::Int32Array>(dict->indices());
  std::vector<std::string> out;
  for (int64_t i = 0; i < idx->length(); ++i) {
    out.emplace_back(CdcOpName(static_cast<CdcOp>(idx->Value(i))));
  }
  return out;
}

std::vector<std::string> Seqs(const arrow::RecordBatch& b) {
  auto a = std::static_pointer_cast<arrow::BinaryArray>(Col(b, std::string(kSeqColumn)));
  std::vector<std::string> out;
  for (int64_t i = 0; i < a->length(); ++i) out.emplace_back(a->GetView(i));
  return out;
}

std::string Text(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return "<null>";
  auto s = a.GetScalar(i);
  return s.ok() ? (*s)->ToString() : "?";
}

std::string SourceField(const arrow::RecordBatch& b, const std::string& field, int64_t i) {
  auto s = std::static_pointer_cast<arrow::StructArray>(Col(b, std::string(kSourceColumn)));
  return Text(*s->GetFieldByName(field), i);
}

// A schemaless PostgreSQL envelope (JsonConverter schemas.enable=false).
std::string Pg(const std::string& op, const std::string& before, const std::string& after,
               const std::string& source_extra = R"("sequence":"[\"100\",\"120\"]","lsn":120)",
               const std::string& snapshot = "false") {
  return R"({"before":)" + before + R"(,"after":)" + after +
         R"(,"source":{"connector":"postgresql","db":"inventory","schema":"inv","table":"t",)"
         R"("snapshot":")" +
         snapshot + R"(","ts_ms":1700000000000,)" + source_extra + R"(},"op":")" + op +
         R"(","ts_ms":1700000000999})";
}

// ---------------------------------------------------------------------------
// Real events.

// The saved events kEvents of `dir` (<event>.key<ext>, <event>.value<ext>)
// as messages of `topic` from offset `first`.
std::vector<KafkaMessage> SavedEvents(const std::string& dir, const std::string& topic,
                                      int64_t first, const std::string& ext = ".json") {
  std::vector<KafkaMessage> msgs;
  int64_t offset = first;
  for (const char* e : kEvents) {
    const std::string base = kDataDir + dir + "/" + e;
    msgs.push_back(
        Message(topic, offset++, ReadFile(base + ".key" + ext), ReadFile(base + ".value" + ext)));
  }
  return msgs;
}

std::vector<KafkaMessage> RealMessages(const std::string& format) {
  auto msgs = SavedEvents("postgres_" + format, kTopic, 100, format == "json" ? ".json" : ".bin");
  // Debezium follows a delete with a tombstone of the same key.
  msgs.push_back(Message(kTopic, msgs.back().offset + 1, msgs.back().key, std::nullopt));
  return msgs;
}

void ExpectRealRows(const DecodedUnit& unit) {
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  const TableChanges& t = unit.tables[0];
  EXPECT_EQ(t.table, (SourceTable{"inv", "customers"}));
  EXPECT_EQ(t.primary_keys, std::vector<std::string>{"id"});
  ASSERT_TRUE(t.bad.empty()) << t.bad[0].reason;
  ASSERT_EQ(t.batches.size(), 1u);
  const arrow::RecordBatch& b = *t.batches[0];
  ASSERT_OK(b.ValidateFull());
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"snapshot", "insert", "update", "delete"}));
  // The table's columns, then the canonical ones; no partial images here.
  std::vector<std::string> expected = {"id",      "email", "price", "n",   "created",
                                       "updated", "born",  "wake",  "doc", "uid",
                                       "blob",    "tags",  "span"};
  for (const auto& f : CanonicalFields(DebeziumSourceType())) expected.push_back(f->name());
  EXPECT_EQ(b.schema()->field_names(), expected);
  EXPECT_EQ(b.schema()->GetFieldByName("price")->type()->ToString(), "decimal128(10, 2)");
  // Rows: the snapshot's and the update's image of id 1; the delete's
  // before image (the key only, REPLICA IDENTITY DEFAULT).
  auto id = std::static_pointer_cast<arrow::Int32Array>(Col(b, "id"));
  EXPECT_EQ(id->Value(0), 1);
  EXPECT_EQ(id->Value(1), 2);
  EXPECT_EQ(id->Value(3), 2);
  auto email = Col(b, "email");
  EXPECT_EQ(Text(*email, 2), "c@example.com");
  EXPECT_TRUE(email->IsNull(3));
  // Order: the snapshot row first, then the stream in LSN order; the first
  // events after the connector started carry no commit LSN.
  auto seqs = Seqs(b);
  EXPECT_EQ(seqs[0], PostgresSequenceKey(true, 26378488, 26378488, 0, 100));
  EXPECT_EQ(seqs[1], PostgresSequenceKey(false, 26378640, 26378640, 0, 101));
  for (size_t i = 1; i < seqs.size(); ++i) {
    EXPECT_LT(CompareSequenceKeys(seqs[i - 1], seqs[i]), 0) << i;
  }
  // _cdc_ts: source.ts_us (the commit), not the envelope's ts_ms.
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(Col(b, std::string(kTsColumn)));
  EXPECT_EQ(ts->Value(0), 1796337079028342);
  EXPECT_EQ(ts->Value(1), 1796337079593521);
  auto ing =
      std::static_pointer_cast<arrow::TimestampArray>(Col(b, std::string(kIngestedAtColumn)));
  EXPECT_EQ(ing->Value(3), 42);
  EXPECT_EQ(Text(*Col(b, std::string(kOriginColumn)), 3), "dbserver1.inv.customers/0@103");
  EXPECT_EQ(SourceField(b, "connector", 0), "postgresql");
  EXPECT_EQ(SourceField(b, "snapshot", 0), "last");
  EXPECT_EQ(SourceField(b, "lsn", 2), "26378792");
  EXPECT_EQ(SourceField(b, "commit_lsn", 2), "<null>");
  EXPECT_EQ(SourceField(b, "tx_id", 2), "729");
  EXPECT_EQ(SourceField(b, "op", 3), "d");
  EXPECT_EQ(SourceField(b, "offset", 3), "103");
  EXPECT_EQ(SourceField(b, "topic", 3), kTopic);
}

TEST(DebeziumDecoderTest, RealJsonEventsBecomeSnapshotInsertUpdateDelete) {
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), RealMessages("json")));
  ExpectRealRows(unit);
}

// A registry answering from the test data's schemas (ids 1 and 2).
class FileRegistryHttp : public io::HttpClient {
 public:
  Result<io::HttpResponse> Get(const std::string& url, const io::HttpHeaders&) override {
    for (int id : {1, 2, 3, 4, 5}) {
      if (url.size() >= 14 && url.substr(url.size() - 14) == "/schemas/ids/" + std::to_string(id)) {
        std::string text =
            ReadFile(kDataDir + "postgres_avro/schemas/" + std::to_string(id) + ".avsc");
        std::string escaped;
        for (char c : text) {
          if (c == '"' || c == '\\') escaped.push_back('\\');
          if (c == '\n') {
            escaped += "\\n";
            continue;
          }
          escaped.push_back(c);
        }
        return io::HttpResponse{200, R"({"schema":")" + escaped + R"("})"};
      }
    }
    return io::HttpResponse{404, R"({"error_code":40403,"message":"Schema not found"})"};
  }
};

std::shared_ptr<SchemaRegistryClient> FileRegistry() {
  SchemaRegistryOptions opts;
  opts.url = "http://registry:8081";
  opts.max_attempts = 1;
  opts.sleep = [](std::chrono::milliseconds) {};
  return std::make_shared<SchemaRegistryClient>(opts, std::make_shared<FileRegistryHttp>());
}

TEST(DebeziumDecoderTest, RealAvroEventsGiveTheSameRows) {
  ASSERT_OK_AND_ASSIGN(auto unit,
                       Decode(Options({}, "avro"), RealMessages("avro"), FileRegistry()));
  ExpectRealRows(unit);
  ASSERT_OK_AND_ASSIGN(auto json, Decode(Options(), RealMessages("json")));
  ASSERT_EQ(unit.tables.size(), 1u);
  EXPECT_TRUE(unit.tables[0].batches[0]->Equals(*json.tables[0].batches[0]))
      << unit.tables[0].batches[0]->ToString() << "\njson:\n"
      << json.tables[0].batches[0]->ToString();
}

// Real events of many PostgreSQL types, with a column added mid-stream
// (tests/data/debezium/postgres_types_json and postgres_avro/types).
std::vector<KafkaMessage> TypesMessages(const std::string& format) {
  std::vector<KafkaMessage> msgs;
  int64_t offset = 0;
  for (const char* e : {"0-c", "1-c", "2-c", "3-u", "4-d"}) {
    const std::string base = format == "json" ? kDataDir + "postgres_types_json/" + e
                                              : kDataDir + "postgres_avro/types/" + e;
    const std::string ext = format == "json" ? ".json" : ".bin";
    msgs.push_back(Message("dbserver1.inv.types", offset++, ReadFile(base + ".key" + ext),
                           ReadFile(base + ".value" + ext)));
  }
  return msgs;
}

TEST(DebeziumDecoderTest, RealEventsOfManyTypesWithAnAddedColumn) {
  ASSERT_OK_AND_ASSIGN(auto json, Decode(Options(), TypesMessages("json")));
  ASSERT_OK_AND_ASSIGN(auto avro,
                       Decode(Options({}, "avro"), TypesMessages("avro"), FileRegistry()));
  for (const auto* unit : {&json, &avro}) {
    ASSERT_TRUE(unit->bad.empty()) << unit->bad[0].reason;
    ASSERT_EQ(unit->tables.size(), 1u);
    const auto& t = unit->tables[0];
    ASSERT_TRUE(t.bad.empty()) << t.bad[0].reason;
    EXPECT_EQ(t.table, (SourceTable{"inv", "types"}));
    // ALTER TABLE ... ADD COLUMN extra between the second and third insert.
    ASSERT_EQ(t.batches.size(), 2u);
    EXPECT_EQ(Ops(*t.batches[0]), (std::vector<std::string>{"insert", "insert"}));
    EXPECT_EQ(Ops(*t.batches[1]), (std::vector<std::string>{"insert", "update", "delete"}));
    EXPECT_FALSE(t.batches[0]->schema()->GetFieldByName("extra"));
    EXPECT_EQ(Text(*Col(*t.batches[1], "extra"), 0), "new");
    EXPECT_EQ(Text(*Col(*t.batches[1], "id"), 2), "2");
    for (const auto& b : t.batches) ASSERT_OK(b->ValidateFull());
  }
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(json.tables[0].batches[i]->Equals(*avro.tables[0].batches[i]))
        << json.tables[0].batches[i]->ToString() << "\navro:\n"
        << avro.tables[0].batches[i]->ToString();
  }
}

TEST(DebeziumDecoderTest, ParallelDecodesOfOneDecoderAgree) {
  auto decoder = MakeDebeziumDecoder(Options(), nullptr).ValueOrDie();
  auto msgs = TypesMessages("json");
  DecodeContext ctx{7};
  auto expected = decoder->Decode(msgs, ctx).ValueOrDie();
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        auto got = decoder->Decode(msgs, ctx);
        if (!got.ok() || got->tables.size() != 1 ||
            got->tables[0].batches.size() != expected.tables[0].batches.size() ||
            !got->tables[0].batches[1]->Equals(*expected.tables[0].batches[1])) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(DebeziumDecoderTest, AvroNeedsARegistryAndUnknownSchemasAreDeadLetters) {
  EXPECT_FALSE(MakeDebeziumDecoder(Options({}, "avro"), nullptr).ok());
  auto msgs = RealMessages("avro");
  // Schema id 9 is not registered: that message alone is bad.
  msgs[1].value = formats::confluent::SchemaRef::FromId(9).Prefix() + msgs[1].value->substr(5);
  msgs[2].value = std::string("{\"not\":\"avro\"}");
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options({}, "avro"), msgs, FileRegistry()));
  ASSERT_EQ(unit.bad.size(), 2u);
  EXPECT_EQ(unit.bad[0].where, "dbserver1.inv.customers/0@101");
  EXPECT_EQ(unit.bad[0].offset, 101);
  EXPECT_EQ(unit.bad[0].raw, *msgs[1].value);
  EXPECT_NE(unit.bad[0].reason.find("9"), std::string::npos) << unit.bad[0].reason;
  EXPECT_EQ(unit.bad[1].offset, 102);
  ASSERT_EQ(unit.tables.size(), 1u);
  size_t rows = 0;
  for (const auto& b : unit.tables[0].batches) rows += static_cast<size_t>(b->num_rows());
  EXPECT_EQ(rows, 2u);
}

// A registry answering fixed bodies by URL suffix.
class MapHttp : public io::HttpClient {
 public:
  std::map<std::string, std::string> bodies;
  Result<io::HttpResponse> Get(const std::string& url, const io::HttpHeaders&) override {
    for (const auto& [suffix, body] : bodies) {
      if (url.size() >= suffix.size() && url.substr(url.size() - suffix.size()) == suffix) {
        return io::HttpResponse{200, body};
      }
    }
    return io::HttpResponse{404, R"({"error_code":40403,"message":"Schema not found"})"};
  }
};

std::string Zigzag(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  std::string out;
  while (z >= 0x80) {
    out.push_back(static_cast<char>((z & 0x7F) | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<char>(z));
  return out;
}

TEST(DebeziumDecoderTest, AvroSchemaReferencesAreResolvedThroughTheRegistry) {
  auto http = std::make_shared<MapHttp>();
  // The envelope names the row type `Row`, registered under subject "row".
  http->bodies["/schemas/ids/5"] =
      R"({"schema":"{\"type\":\"record\",\"name\":\"Env\",\"fields\":[)"
      R"({\"name\":\"before\",\"type\":[\"null\",\"Row\"]},{\"name\":\"after\",\"type\":[\"null\",\"Row\"]},)"
      R"({\"name\":\"source\",\"type\":{\"type\":\"record\",\"name\":\"Src\",\"fields\":[)"
      R"({\"name\":\"connector\",\"type\":\"string\"},{\"name\":\"lsn\",\"type\":\"long\"}]}},)"
      R"({\"name\":\"op\",\"type\":\"string\"}]}",)"
      R"("references":[{"name":"Row","subject":"row","version":1}]})";
  http->bodies["/subjects/row/versions/1"] =
      R"({"subject":"row","version":1,"id":7,"schema":"{\"type\":\"record\",\"name\":\"Row\",)"
      R"(\"fields\":[{\"name\":\"id\",\"type\":\"int\"}]}"})";
  http->bodies["/schemas/ids/6"] =
      R"({"schema":"{\"type\":\"record\",\"name\":\"Key\",\"fields\":[{\"name\":\"id\",\"type\":\"int\"}]}"})";
  SchemaRegistryOptions opts;
  opts.url = "http://registry:8081";
  opts.max_attempts = 1;
  auto registry = std::make_shared<SchemaRegistryClient>(opts, http);
  using formats::confluent::SchemaRef;
  std::string value = SchemaRef::FromId(5).Prefix() + Zigzag(0) + Zigzag(1) + Zigzag(21) +
                      Zigzag(10) + "postgresql" + Zigzag(77) + Zigzag(1) + "c";
  std::string key = SchemaRef::FromId(6).Prefix() + Zigzag(21);
  ASSERT_OK_AND_ASSIGN(auto unit,
                       Decode(Options({}, "avro"), {Message(kTopic, 0, key, value)}, registry));
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  ASSERT_TRUE(unit.tables[0].bad.empty()) << unit.tables[0].bad[0].reason;
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(Text(*Col(b, "id"), 0), "21");
  EXPECT_EQ(Ops(b), std::vector<std::string>{"insert"});
  EXPECT_EQ(Seqs(b)[0], PostgresSequenceKey(false, 77, 77, 0, 0));
  EXPECT_EQ(unit.tables[0].primary_keys, std::vector<std::string>{"id"});
}

TEST(DebeziumDecoderTest, DecodingIsDeterministic) {
  auto decoder = MakeDebeziumDecoder(Options(), nullptr).ValueOrDie();
  auto msgs = RealMessages("json");
  DecodeContext ctx{7};
  auto a = decoder->Decode(msgs, ctx).ValueOrDie();
  auto b = decoder->Decode(msgs, ctx).ValueOrDie();
  ASSERT_EQ(a.tables.size(), 1u);
  EXPECT_TRUE(a.tables[0].batches[0]->Equals(*b.tables[0].batches[0]));
}

// ---------------------------------------------------------------------------
// Ops and images.

TEST(DebeziumDecoderTest, SnapshotFlagMakesASnapshotRowAndSortsBeforeTheStream) {
  std::vector<KafkaMessage> msgs = {
      // A streamed update, then a snapshot read of the same key arriving
      // later (a re-snapshot): the update still wins.
      Message("p.inv.t", 0, R"({"id":1})", Pg("u", "null", R"({"id":1,"v":"new"})")),
      Message("p.inv.t", 1, R"({"id":1})",
              Pg("c", "null", R"({"id":1,"v":"old"})", R"("lsn":500)", "true")),
      Message("p.inv.t", 2, R"({"id":1})",
              Pg("r", "null", R"({"id":1,"v":"old"})", R"("lsn":500)", "incremental")),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  ASSERT_EQ(unit.tables.size(), 1u);
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"update", "snapshot", "snapshot"}));
  auto s = Seqs(b);
  EXPECT_LT(CompareSequenceKeys(s[1], s[0]), 0);
  EXPECT_LT(CompareSequenceKeys(s[2], s[0]), 0);
}

TEST(DebeziumDecoderTest, DeleteTakesKeyColumnsFromTheMessageKey) {
  std::vector<KafkaMessage> msgs = {
      // before null altogether, and a before without the key column.
      Message("p.inv.t", 0, R"({"id":7,"k2":"a"})", Pg("d", "null", "null")),
      Message("p.inv.t", 1, R"({"id":8,"k2":"b"})",
              Pg("d", R"({"id":null,"k2":"b","v":"x"})", "null")),
      Message("p.inv.t", 2, std::nullopt, std::nullopt),  // its tombstone
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  ASSERT_TRUE(unit.tables[0].bad.empty()) << unit.tables[0].bad[0].reason;
  EXPECT_EQ(unit.tables[0].primary_keys, (std::vector<std::string>{"id", "k2"}));
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"delete", "delete"}));
  EXPECT_EQ(Text(*Col(b, "id"), 0), "7");
  EXPECT_EQ(Text(*Col(b, "id"), 1), "8");
  EXPECT_EQ(Text(*Col(b, "v"), 1), "x");
}

TEST(DebeziumDecoderTest, TruncateIsARowOfNullsOrIgnored) {
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})", Pg("c", "null", R"({"id":1,"v":"a"})")),
      Message("p.inv.t", 1, std::nullopt, Pg("t", "null", "null", R"("lsn":900)")),
      Message("p.inv.t", 2, std::nullopt, Pg("m", "null", "null", R"("lsn":901)")),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  ASSERT_EQ(unit.tables.size(), 1u);
  ASSERT_TRUE(unit.tables[0].bad.empty()) << unit.tables[0].bad[0].reason;
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"insert", "truncate"}));
  EXPECT_TRUE(Col(b, "id")->IsNull(1));
  EXPECT_TRUE(Col(b, "v")->IsNull(1));
  EXPECT_EQ(Seqs(b)[1], PostgresSequenceKey(false, 900, 900, 0, 1));
  EXPECT_EQ(unit.tables[0].primary_keys, std::vector<std::string>{"id"});
  // A truncate alone has no message key: the unit says nothing of keys.
  ASSERT_OK_AND_ASSIGN(auto alone, Decode(Options(), {msgs[1]}));
  ASSERT_EQ(alone.tables.size(), 1u);
  EXPECT_EQ(Ops(*alone.tables[0].batches[0]), std::vector<std::string>{"truncate"});
  EXPECT_FALSE(alone.tables[0].primary_keys.has_value());
  // A truncate with a schema, then a keyed schemaless row: two runs of one
  // table; the unit knows the keys from the second.
  const std::string truncate_with_schema =
      R"({"schema":{"type":"struct","fields":[)"
      R"({"type":"struct","optional":true,"field":"before","fields":[{"type":"int32","field":"id"}]},)"
      R"({"type":"struct","optional":true,"field":"after","fields":[{"type":"int32","field":"id"}]},)"
      R"({"type":"struct","field":"source","fields":[{"type":"string","field":"connector"},)"
      R"({"type":"int64","optional":true,"field":"lsn"}]},{"type":"string","field":"op"}]},)"
      R"("payload":{"before":null,"after":null,"source":{"connector":"postgresql","lsn":900},"op":"t"}})";
  ASSERT_OK_AND_ASSIGN(
      auto then_keyed,
      Decode(Options(), {Message("p.inv.t", 0, std::nullopt, truncate_with_schema),
                         Message("p.inv.t", 1, R"({"id":1})",
                                 Pg("c", "null", R"({"id":1,"v":"a"})", R"("lsn":901)"))}));
  ASSERT_EQ(then_keyed.tables.size(), 1u);
  ASSERT_EQ(then_keyed.tables[0].batches.size(), 2u) << "two runs";
  EXPECT_EQ(then_keyed.tables[0].primary_keys, std::vector<std::string>{"id"});

  ASSERT_OK_AND_ASSIGN(auto ignored, Decode(Options({{"debezium.truncate", "ignore"}}), msgs));
  EXPECT_EQ(Ops(*ignored.tables[0].batches[0]), std::vector<std::string>{"insert"});
  // Only skipped messages: no table at all.
  ASSERT_OK_AND_ASSIGN(auto skipped,
                       Decode(Options({{"debezium.truncate", "ignore"}}), {msgs[1], msgs[2]}));
  EXPECT_TRUE(skipped.tables.empty());
  EXPECT_TRUE(skipped.bad.empty());
}

TEST(DebeziumDecoderTest, UnavailableValuesBecomeUnchangedColumns) {
  const std::string kBytes = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==";  // bytea, base64
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})",
              Pg("u", "null",
                 R"({"id":1,"doc":"__debezium_unavailable_value","blob":")" + kBytes +
                     R"(","tags":["__debezium_unavailable_value"],"v":"changed"})")),
      Message("p.inv.t", 1, R"({"id":2})",
              Pg("u", "null", R"({"id":2,"doc":"{}","blob":"AAE=","tags":["a"],"v":"w"})")),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  const auto& b = *unit.tables[0].batches[0];
  auto unchanged = std::static_pointer_cast<arrow::ListArray>(Col(b, "_cdc_unchanged"));
  ASSERT_NE(unchanged, nullptr);
  EXPECT_EQ(Text(*unchanged, 0), "list<item: string>[doc, blob, tags]");
  EXPECT_EQ(unchanged->value_length(1), 0);
  EXPECT_FALSE(unchanged->IsNull(1));
  EXPECT_TRUE(Col(b, "doc")->IsNull(0));
  EXPECT_TRUE(Col(b, "blob")->IsNull(0));
  EXPECT_TRUE(Col(b, "tags")->IsNull(0));
  EXPECT_EQ(Text(*Col(b, "v"), 0), "changed");
  EXPECT_EQ(Text(*Col(b, "doc"), 1), "{}");
}

TEST(DebeziumDecoderTest, UnavailableValueInBinaryColumnsAndConfiguredPlaceholder) {
  // With a schema, bytea is binary: the placeholder is its bytes.
  const std::string schema =
      R"({"type":"struct","fields":[)"
      R"({"type":"struct","optional":true,"field":"before","fields":[{"type":"int32","field":"id"},{"type":"bytes","optional":true,"field":"blob"}]},)"
      R"({"type":"struct","optional":true,"field":"after","fields":[{"type":"int32","field":"id"},{"type":"bytes","optional":true,"field":"blob"}]},)"
      R"({"type":"struct","field":"source","fields":[{"type":"string","field":"connector"},{"type":"int64","optional":true,"field":"lsn"}]},)"
      R"({"type":"string","field":"op"}]})";
  auto event = [&](const std::string& blob) {
    return R"({"schema":)" + schema + R"(,"payload":{"before":null,"after":{"id":1,"blob":")" +
           blob + R"("},"source":{"connector":"postgresql","lsn":5},"op":"u"}})";
  };
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})", event("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")),
      Message("p.inv.t", 1, R"({"id":1})", event("3q0=")),  // 0xDEAD
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(b.schema()->GetFieldByName("blob")->type()->id(), arrow::Type::BINARY);
  EXPECT_EQ(Text(*Col(b, "_cdc_unchanged"), 0), "list<item: string>[blob]");
  EXPECT_EQ(Text(*Col(b, "_cdc_unchanged"), 1), "list<item: string>[]");
  // unavailable.value.placeholder = hex:dead
  ASSERT_OK_AND_ASSIGN(auto hex,
                       Decode(Options({{"debezium.unavailable_value", "hex:dead"}}), msgs));
  const auto& h = *hex.tables[0].batches[0];
  EXPECT_EQ(Text(*Col(h, "_cdc_unchanged"), 0), "list<item: string>[]");
  EXPECT_EQ(Text(*Col(h, "_cdc_unchanged"), 1), "list<item: string>[blob]");
}

// ---------------------------------------------------------------------------
// Ordering.

TEST(DebeziumDecoderTest, PostgresOrderIsCommitLsnThenLsn) {
  std::vector<KafkaMessage> msgs = {
      // Transaction A (first after start: no commit LSN), then B, which
      // began earlier (smaller change LSN) but committed later.
      Message("p.inv.t", 0, R"({"id":1})",
              Pg("c", "null", R"({"id":1})", R"("sequence":"[null,\"300\"]","lsn":300)")),
      Message("p.inv.t", 1, R"({"id":1})",
              Pg("u", "null", R"({"id":1})", R"("sequence":"[\"400\",\"250\"]","lsn":250)")),
      // No sequence: source.lsn.
      Message("p.inv.t", 2, R"({"id":1})", Pg("u", "null", R"({"id":1})", R"("lsn":700)")),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  auto s = Seqs(*unit.tables[0].batches[0]);
  EXPECT_EQ(s[0], PostgresSequenceKey(false, 300, 300, 0, 0));
  EXPECT_EQ(s[1], PostgresSequenceKey(false, 400, 250, 0, 1));
  EXPECT_EQ(s[2], PostgresSequenceKey(false, 700, 700, 0, 2));
  EXPECT_LT(CompareSequenceKeys(s[0], s[1]), 0);
  EXPECT_LT(CompareSequenceKeys(s[1], s[2]), 0);
  EXPECT_EQ(SourceField(*unit.tables[0].batches[0], "commit_lsn", 1), "400");
}

std::string MySql(const std::string& op, const std::string& after, const std::string& file,
                  int64_t pos, int64_t row, const std::string& snapshot = "false") {
  return R"({"before":null,"after":)" + after +
         R"(,"source":{"connector":"mysql","db":"shop","table":"orders","snapshot":")" + snapshot +
         R"(","ts_ms":1700000000000,"file":")" + file + R"(","pos":)" + std::to_string(pos) +
         R"(,"row":)" + std::to_string(row) +
         R"(,"gtid":"3e11fa47-71ca-11e1-9e33-c80aa9429562:23"},"op":")" + op +
         R"(","ts_ms":1700000000999})";
}

TEST(DebeziumDecoderTest, MySqlOrderIsBinlogFileNumberPosRow) {
  std::vector<KafkaMessage> msgs = {
      Message("m.shop.orders", 0, R"({"id":1})",
              MySql("r", R"({"id":1})", "mysql-bin.000009", 900, 0, "true")),
      Message("m.shop.orders", 1, R"({"id":1})",
              MySql("u", R"({"id":1})", "mysql-bin.000009", 1200, 0)),
      Message("m.shop.orders", 2, R"({"id":1})",
              MySql("u", R"({"id":1})", "mysql-bin.000009", 1200, 1)),
      // The file number rolls past 999999: a number, not text.
      Message("m.shop.orders", 3, R"({"id":1})",
              MySql("u", R"({"id":1})", "mysql-bin.1000000", 4, 0)),
      Message("m.shop.orders", 4, R"({"id":1})", MySql("u", R"({"id":1})", "mysql-bin", 4, 0)),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options({{"debezium.route_by", "source"}}), msgs));
  ASSERT_EQ(unit.tables.size(), 1u);
  EXPECT_EQ(unit.tables[0].table, (SourceTable{"shop", "orders"}));
  const auto& b = *unit.tables[0].batches[0];
  auto s = Seqs(b);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0], BinlogSequenceKey(true, 9, 900, 0, 0, 0));
  EXPECT_EQ(s[3], BinlogSequenceKey(false, 1000000, 4, 0, 0, 3));
  for (size_t i = 1; i < s.size(); ++i) EXPECT_LT(CompareSequenceKeys(s[i - 1], s[i]), 0) << i;
  EXPECT_EQ(SourceField(b, "file", 1), "mysql-bin.000009");
  EXPECT_EQ(SourceField(b, "pos", 1), "1200");
  EXPECT_EQ(SourceField(b, "row", 2), "1");
  EXPECT_EQ(SourceField(b, "gtid", 2), "3e11fa47-71ca-11e1-9e33-c80aa9429562:23");
  ASSERT_EQ(unit.tables[0].bad.size(), 1u);
  EXPECT_EQ(unit.tables[0].bad[0].offset, 4);
  EXPECT_NE(unit.tables[0].bad[0].reason.find("mysql-bin"), std::string::npos);
}

TEST(DebeziumDecoderTest, RealMariaDbEventsOrderByBinlogPosition) {
  // Debezium's MySQL connector on MariaDB (tests/data/debezium/mariadb_json).
  ASSERT_OK_AND_ASSIGN(
      auto unit, Decode(Options(), SavedEvents("mariadb_json", "mariadb1.inventory.customers", 0)));
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  ASSERT_TRUE(unit.tables[0].bad.empty()) << unit.tables[0].bad[0].reason;
  EXPECT_EQ(unit.tables[0].table, (SourceTable{"inventory", "customers"}));
  EXPECT_EQ(unit.tables[0].primary_keys, std::vector<std::string>{"id"});
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"snapshot", "insert", "update", "delete"}));
  auto s = Seqs(b);
  EXPECT_EQ(s[0], BinlogSequenceKey(true, 1, 1649, 0, 0, 0));
  EXPECT_EQ(s[1], BinlogSequenceKey(false, 1, 1993, 0, 0, 1));
  for (size_t i = 1; i < s.size(); ++i) EXPECT_LT(CompareSequenceKeys(s[i - 1], s[i]), 0) << i;
  // binlog_row_image=FULL: the delete carries the whole row.
  EXPECT_EQ(Text(*Col(b, "email"), 3), "c@example.com");
  EXPECT_EQ(SourceField(b, "file", 3), "binlog.000001");
  EXPECT_EQ(SourceField(b, "connector", 3), "mysql");
  EXPECT_EQ(SourceField(b, "commit_lsn", 3), "<null>");
}

TEST(DebeziumDecoderTest, RealMariaDbConnectorEventsOrderLikeTheMySqlConnectors) {
  // Debezium's MariaDB connector on the same server
  // (tests/data/debezium/mariadb_connector_json): "mariadb" orders like
  // "mysql", and MariaDB's gtid (domain-server-sequence) is kept as text.
  ASSERT_OK_AND_ASSIGN(
      auto unit,
      Decode(Options(), SavedEvents("mariadb_connector_json", "mariadb1.inventory.customers", 0)));
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  ASSERT_TRUE(unit.tables[0].bad.empty()) << unit.tables[0].bad[0].reason;
  EXPECT_EQ(unit.tables[0].table, (SourceTable{"inventory", "customers"}));
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"snapshot", "insert", "update", "delete"}));
  auto s = Seqs(b);
  EXPECT_EQ(s[0], BinlogSequenceKey(true, 1, 1649, 0, 0, 0));
  EXPECT_EQ(s[1], BinlogSequenceKey(false, 1, 1993, 0, 0, 1));
  for (size_t i = 1; i < s.size(); ++i) EXPECT_LT(CompareSequenceKeys(s[i - 1], s[i]), 0) << i;
  EXPECT_EQ(Text(*Col(b, "email"), 3), "c@example.com");
  EXPECT_EQ(SourceField(b, "connector", 3), "mariadb");
  EXPECT_EQ(SourceField(b, "gtid", 1), "0-223344-7");
  EXPECT_EQ(SourceField(b, "gtid", 0), "<null>");
}

TEST(DebeziumDecoderTest, OtherConnectorsOrderByPartitionAndOffset) {
  std::string v = R"({"before":null,"after":{"id":1},"source":{"connector":"sqlserver",)"
                  R"("ts_ms":5,"schema":"dbo","table":"t"},"op":"c"})";
  std::vector<KafkaMessage> msgs = {Message("s.db.dbo.t", 17, R"({"id":1})", v, 3)};
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  ASSERT_EQ(unit.tables.size(), 1u);
  EXPECT_EQ(unit.tables[0].table, (SourceTable{"dbo", "t"}));
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(Seqs(b)[0], KafkaSequenceKey(false, 3, 17));
  EXPECT_EQ(Text(*Col(b, std::string(kOriginColumn)), 0), "s.db.dbo.t/3@17");
  // ts_ms alone: milliseconds.
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(Col(b, std::string(kTsColumn)));
  EXPECT_EQ(ts->Value(0), 5000);
}

TEST(DebeziumDecoderTest, TimestampPrefersMicrosThenNanosThenMillis) {
  auto event = [](const std::string& ts) {
    return R"({"before":null,"after":{"id":1},"source":{"connector":"x",)" + ts + R"(},"op":"c"})";
  };
  std::vector<KafkaMessage> msgs = {
      Message("a.b.c", 0, R"({"id":1})", event(R"("ts_ms":1,"ts_us":1234,"ts_ns":1234567)")),
      Message("a.b.c", 1, R"({"id":1})", event(R"("ts_ms":1,"ts_ns":1234567)")),
      Message("a.b.c", 2, R"({"id":1})", event(R"("ts_ms":null)")),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(
      Col(*unit.tables[0].batches[0], std::string(kTsColumn)));
  EXPECT_EQ(ts->Value(0), 1234);
  EXPECT_EQ(ts->Value(1), 1234);
  EXPECT_TRUE(ts->IsNull(2));
}

// ---------------------------------------------------------------------------
// Flattened records.

TEST(DebeziumDecoderTest, FlattenedRecordsGiveTheSameRows) {
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})",
              R"({"id":1,"v":"a","__op":"r","__source_ts_ms":1000,"__lsn":100,)"
              R"("__table":"t","__schema":"inv","__deleted":"false"})"),
      Message("p.inv.t", 1, R"({"id":1})",
              R"({"id":1,"v":"b","__op":"u","__source_ts_ms":2000,"__lsn":200,)"
              R"("__table":"t","__schema":"inv","__deleted":"false"})"),
      // delete.tombstone.handling.mode=rewrite: the before image, __deleted.
      Message("p.inv.t", 2, R"({"id":1})",
              R"({"id":1,"v":"b","__op":"d","__source_ts_ms":3000,"__lsn":300,)"
              R"("__table":"t","__schema":"inv","__deleted":"true"})"),
      Message("p.inv.t", 3, R"({"id":1})", std::nullopt),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(b.schema()->field_names()[0], "id");
  EXPECT_EQ(b.schema()->field_names()[1], "v");
  EXPECT_EQ(b.schema()->field_names()[2], std::string(kOpColumn)) << "added fields are dropped";
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"snapshot", "update", "delete"}));
  auto s = Seqs(b);
  EXPECT_EQ(s[1], PostgresSequenceKey(false, 200, 200, 0, 1));
  EXPECT_LT(CompareSequenceKeys(s[0], s[1]), 0);
  EXPECT_LT(CompareSequenceKeys(s[1], s[2]), 0);
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(Col(b, std::string(kTsColumn)));
  EXPECT_EQ(ts->Value(2), 3'000'000);
  EXPECT_EQ(Text(*Col(b, "id"), 2), "1");

  // Routed by the record: __schema and __table.
  ASSERT_OK_AND_ASSIGN(auto routed, Decode(Options({{"debezium.route_by", "source"}}), msgs));
  EXPECT_EQ(routed.tables[0].table, (SourceTable{"inv", "t"}));
}

TEST(DebeziumDecoderTest, TombstonesDeleteTheirKeyWhenConfigured) {
  // delete.tombstone.handling.mode=tombstone: a delete is only a tombstone.
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 7, R"({"id":1})",
              R"({"id":1,"v":"a","__op":"c","__source_ts_ms":1000,"__lsn":900})", 1),
      Message("p.inv.t", 8, R"({"id":1})", std::nullopt, 1),
      Message("p.inv.t", 9, R"({"id":1})",
              R"({"id":1,"v":"b","__op":"c","__source_ts_ms":3000,"__lsn":100})", 1),
      Message("p.inv.t", 10, std::nullopt, std::nullopt, 1),
  };
  msgs[1].timestamp_ms = 2000;
  const std::map<std::string, std::string> on = {{"debezium.envelope", "flattened"},
                                                 {"debezium.tombstone_deletes", "true"}};
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(on), msgs));
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  const TableChanges& t = unit.tables[0];
  EXPECT_EQ(t.primary_keys, std::vector<std::string>{"id"});
  // The keyless tombstone deletes nothing: a dead letter that says so.
  ASSERT_EQ(t.bad.size(), 1u);
  EXPECT_EQ(t.bad[0].offset, 10);
  EXPECT_NE(t.bad[0].reason.find("without a key"), std::string::npos) << t.bad[0].reason;
  // The records (a run each side of the tombstone), then the deletes.
  ASSERT_EQ(t.batches.size(), 3u);
  const auto& deletes = *t.batches[2];
  ASSERT_OK(deletes.ValidateFull());
  EXPECT_EQ(Ops(deletes), std::vector<std::string>{"delete"});
  EXPECT_EQ(deletes.schema()->field_names()[0], "id");
  EXPECT_EQ(Text(*Col(deletes, "id"), 0), "1");
  EXPECT_EQ(Text(*Col(deletes, std::string(kOriginColumn)), 0), "p.inv.t/1@8");
  EXPECT_EQ(SourceField(deletes, "offset", 0), "8");
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(Col(deletes, std::string(kTsColumn)));
  EXPECT_EQ(ts->Value(0), 2'000'000);
  // Every event orders by its Kafka position (the LSNs here say otherwise):
  // the insert, the tombstone, the insert again.
  const std::string first = Seqs(*t.batches[0])[0];
  const std::string again = Seqs(*t.batches[1])[0];
  const std::string del = Seqs(deletes)[0];
  EXPECT_EQ(first, KafkaSequenceKey(false, 1, 7));
  EXPECT_EQ(del, KafkaSequenceKey(false, 1, 8));
  EXPECT_LT(CompareSequenceKeys(first, del), 0);
  EXPECT_LT(CompareSequenceKeys(del, again), 0);

  // Off (the default), tombstones are skipped and the LSN orders.
  ASSERT_OK_AND_ASSIGN(auto off, Decode(Options({{"debezium.envelope", "flattened"}}), msgs));
  ASSERT_EQ(off.tables[0].batches.size(), 2u);
  for (const auto& b : off.tables[0].batches) {
    EXPECT_EQ(Ops(*b), std::vector<std::string>{"insert"});
  }
  EXPECT_EQ(Seqs(*off.tables[0].batches[1])[0], PostgresSequenceKey(false, 100, 100, 1, 9));
  EXPECT_TRUE(off.tables[0].bad.empty());

  // JsonConverter's tombstone with schemas enabled: "payload": null.
  ASSERT_OK_AND_ASSIGN(
      auto wrapped,
      Decode(Options(on), {Message("p.inv.t", 20, R"({"schema":null,"payload":{"id":2}})",
                                   R"({"schema":null,"payload":null})")}));
  ASSERT_EQ(wrapped.tables.size(), 1u);
  ASSERT_EQ(wrapped.tables[0].batches.size(), 1u);
  EXPECT_EQ(Ops(*wrapped.tables[0].batches[0]), std::vector<std::string>{"delete"});
  EXPECT_EQ(Text(*Col(*wrapped.tables[0].batches[0], "id"), 0), "2");

  // A configured key column the tombstone's key lacks is a dead letter.
  auto keyed = Options(on);
  keyed.tables["inv.t"].primary_keys = {"code"};
  ASSERT_OK_AND_ASSIGN(auto lacking, Decode(keyed, {msgs[1]}));
  ASSERT_EQ(lacking.tables[0].bad.size(), 1u);
  EXPECT_EQ(lacking.tables[0].bad[0].reason,
            "primary key column code is not in the tombstone's key");

  // Envelopes carry their deletes; a tombstone names no table.
  EXPECT_FALSE(
      MakeDebeziumDecoder(Options({{"debezium.tombstone_deletes", "true"}}), nullptr).ok());
  EXPECT_FALSE(MakeDebeziumDecoder(Options({{"debezium.envelope", "flattened"},
                                            {"debezium.route_by", "source"},
                                            {"debezium.tombstone_deletes", "true"}}),
                                   nullptr)
                   .ok());
  EXPECT_FALSE(MakeDebeziumDecoder(Options({{"debezium.tombstone_deletes", "yes"}}), nullptr).ok());
}

TEST(DebeziumDecoderTest, FlattenedPrefixAndFieldNamesAreConfigurable) {
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})", R"({"id":1,"v":"a","dbz_op":"c","dbz_when":5})"),
      Message("p.inv.t", 1, R"({"id":1})", R"({"id":1,"v":"a","dbz_gone":true})"),
      Message("p.inv.t", 2, R"({"id":1})", R"({"id":1,"v":"c"})"),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options({{"debezium.flattened_prefix", "dbz_"},
                                                  {"debezium.deleted_field", "dbz_gone"},
                                                  {"debezium.ts_field", "dbz_when"},
                                                  {"debezium.envelope", "flattened"}}),
                                         msgs));
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(b.schema()->field_names()[2], std::string(kOpColumn));
  // Without an op field: __deleted says delete, else an update (an upsert).
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"insert", "delete", "update"}));
  EXPECT_EQ(Seqs(b)[2], KafkaSequenceKey(false, 0, 2));
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(Col(b, std::string(kTsColumn)));
  EXPECT_EQ(ts->Value(0), 5000);
}

TEST(DebeziumDecoderTest, FlattenedBinlogPositionsAndSnapshotFlags) {
  // add.fields=op,file,pos,row,snapshot,db,table (MySQL); an older
  // connector's boolean snapshot flag.
  std::vector<KafkaMessage> msgs = {
      Message("m.shop.orders", 0, R"({"id":1})",
              R"({"id":1,"__op":"c","__file":"binlog.000002","__pos":40,"__row":0,)"
              R"("__snapshot":true,"__db":"shop","__table":"orders"})"),
      Message("m.shop.orders", 1, R"({"id":1})",
              R"({"id":1,"__op":"u","__file":"binlog.000002","__pos":90,"__row":1,)"
              R"("__snapshot":false,"__db":"shop","__table":"orders"})"),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options({{"debezium.route_by", "source"}}), msgs));
  ASSERT_TRUE(unit.bad.empty()) << unit.bad[0].reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  EXPECT_EQ(unit.tables[0].table, (SourceTable{"shop", "orders"}));
  const auto& b = *unit.tables[0].batches[0];
  EXPECT_EQ(Ops(b), (std::vector<std::string>{"snapshot", "update"}));
  EXPECT_EQ(Seqs(b)[0], BinlogSequenceKey(true, 2, 40, 0, 0, 0));
  EXPECT_EQ(Seqs(b)[1], BinlogSequenceKey(false, 2, 90, 1, 0, 1));
  EXPECT_EQ(b.schema()->field_names()[1], std::string(kOpColumn));
}

// ---------------------------------------------------------------------------
// Routing, keys and schemas.

TEST(DebeziumDecoderTest, RoutesByTopicOrByTheRecordsSource) {
  auto event = [](const std::string& schema, const std::string& table) {
    return R"({"before":null,"after":{"id":1},"source":{"connector":"postgresql","lsn":1,)"
           R"("db":"inventory","schema":")" +
           schema + R"(","table":")" + table + R"("},"op":"c"})";
  };
  // One topic carrying two tables (ByLogicalTableRouter).
  std::vector<KafkaMessage> msgs = {
      Message("all.tables", 0, R"({"id":1})", event("inv", "a")),
      Message("all.tables", 1, R"({"id":1})", event("inv", "b")),
      Message("all.tables", 2, R"({"id":2})", event("inv", "a")),
  };
  ASSERT_OK_AND_ASSIGN(auto by_source, Decode(Options({{"debezium.route_by", "source"}}), msgs));
  ASSERT_EQ(by_source.tables.size(), 2u);
  EXPECT_EQ(by_source.tables[0].table, (SourceTable{"inv", "a"}));
  EXPECT_EQ(by_source.tables[0].batches[0]->num_rows(), 2);
  EXPECT_EQ(by_source.tables[1].table, (SourceTable{"inv", "b"}));
  EXPECT_EQ(by_source.tables[1].batches[0]->num_rows(), 1);

  ASSERT_OK_AND_ASSIGN(auto by_topic, Decode(Options(), msgs));
  ASSERT_EQ(by_topic.tables.size(), 1u);
  EXPECT_EQ(by_topic.tables[0].table, (SourceTable{"all", "tables"}));
  // A topic that names no table cannot be routed by it.
  ASSERT_OK_AND_ASSIGN(auto plain,
                       Decode(Options(), {Message("plain", 5, R"({"id":1})", event("inv", "a"))}));
  ASSERT_EQ(plain.bad.size(), 1u);
  EXPECT_NE(plain.bad[0].reason.find("route_by"), std::string::npos) << plain.bad[0].reason;
  EXPECT_EQ(plain.bad[0].where, "plain/0@5");
}

TEST(DebeziumDecoderTest, ConfiguredPrimaryKeysOverrideTheMessageKey) {
  auto options = Options();
  options.tables["inv.t"].primary_keys = {"code"};
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})", Pg("c", "null", R"({"id":1,"code":"x"})")),
      // No key: fine when the keys are configured...
      Message("p.inv.t", 1, std::nullopt, Pg("c", "null", R"({"id":2,"code":"y"})")),
      // ...but a NULL key column is a dead letter.
      Message("p.inv.t", 2, std::nullopt, Pg("c", "null", R"({"id":3,"code":null})")),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(options, msgs));
  ASSERT_EQ(unit.tables.size(), 1u);
  EXPECT_EQ(unit.tables[0].primary_keys, std::vector<std::string>{"code"});
  EXPECT_EQ(unit.tables[0].batches[0]->num_rows(), 2);
  ASSERT_EQ(unit.tables[0].bad.size(), 1u);
  EXPECT_EQ(unit.tables[0].bad[0].offset, 2);
  EXPECT_EQ(unit.tables[0].bad[0].reason, "primary key column code is NULL");
  // Without configured keys, a keyless message is a dead letter.
  ASSERT_OK_AND_ASSIGN(auto keyless, Decode(Options(), msgs));
  ASSERT_EQ(keyless.tables[0].bad.size(), 2u);
  EXPECT_NE(keyless.tables[0].bad[0].reason.find("primary_keys"), std::string::npos);
}

TEST(DebeziumDecoderTest, ASchemaChangeStartsABatchWithTheWiderSchema) {
  auto event = [](const std::string& extra_field, const std::string& extra_value) {
    std::string row =
        R"({"type":"struct","optional":true,"fields":[{"type":"int32","field":"id"})" +
        extra_field + "]";
    return R"({"schema":{"type":"struct","fields":[)" + row + R"(,"field":"before"},)" + row +
           R"(,"field":"after"},)"
           R"({"type":"struct","field":"source","fields":[{"type":"string","field":"connector"},)"
           R"({"type":"int64","field":"lsn"}]},{"type":"string","field":"op"}]},)"
           R"("payload":{"before":null,"after":{"id":1)" +
           extra_value + R"(},"source":{"connector":"postgresql","lsn":1},"op":"c"}})";
  };
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})", event("", "")),
      Message("p.inv.t", 1, R"({"id":1})",
              event(R"(,{"type":"string","optional":true,"field":"added"})", R"(,"added":"x")")),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  ASSERT_EQ(unit.tables.size(), 1u);
  ASSERT_EQ(unit.tables[0].batches.size(), 2u);
  EXPECT_FALSE(unit.tables[0].batches[0]->schema()->GetFieldByName("added"));
  EXPECT_EQ(Text(*Col(*unit.tables[0].batches[1], "added"), 0), "x");
}

// ---------------------------------------------------------------------------
// Bad input: a dead letter each, the neighbours still decode.

TEST(DebeziumDecoderTest, BadMessagesAreDeadLettersNeverErrors) {
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})", "not json"),
      Message("p.inv.t", 1, R"({"id":1})", R"({"id":1,"name":"x"})"),  // neither shape
      Message("p.inv.t", 2, R"({"id":1})", Pg("c", "null", R"({"id":1})")),
      Message("p.inv.t", 3, R"({"id":1})", Pg("x", "null", R"({"id":1})")),
      Message("p.inv.t", 4, R"({"id":1})", Pg("c", "null", R"({"id":1})", R"("lsn":null)")),
      Message("p.inv.t", 5, R"({"id":1})",
              Pg("c", "null", R"({"id":1})", R"("sequence":"[1,2,3]","lsn":5)")),
      Message("p.inv.t", 6, R"({"id":1})", Pg("c", "null", "null")),
      Message("p.inv.t", 7, R"({"id":1})", R"({"schema":{"type":"struct"},"payload":{}})"),
      Message("p.inv.t", 8, R"({"id":1})", R"([1,2])"),
  };
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  std::map<int64_t, std::string> reasons;
  for (const auto& b : unit.bad) reasons[b.offset] = b.reason;
  ASSERT_EQ(unit.tables.size(), 1u);
  for (const auto& b : unit.tables[0].bad) reasons[b.offset] = b.reason;
  for (int64_t o : {0, 1, 3, 4, 5, 6, 7, 8}) {
    EXPECT_TRUE(reasons.count(o)) << "offset " << o << " should be a dead letter";
  }
  EXPECT_FALSE(reasons.count(2));
  // Schemaless records of one run are typed together: among envelopes, an
  // object without op reads as an envelope without one.
  EXPECT_EQ(reasons[1], "the envelope has no op");
  ASSERT_OK_AND_ASSIGN(auto alone, Decode(Options(), {msgs[1]}));
  ASSERT_EQ(alone.bad.size(), 1u);
  EXPECT_NE(alone.bad[0].reason.find("neither"), std::string::npos) << alone.bad[0].reason;
  EXPECT_NE(reasons[3].find("unknown op 'x'"), std::string::npos) << reasons[3];
  EXPECT_NE(reasons[4].find("LSN"), std::string::npos) << reasons[4];
  EXPECT_NE(reasons[5].find("source.sequence"), std::string::npos) << reasons[5];
  EXPECT_NE(reasons[6].find("after"), std::string::npos) << reasons[6];
  EXPECT_EQ(unit.tables[0].batches[0]->num_rows(), 1);
  for (const auto& b : unit.bad) {
    EXPECT_EQ(b.where, "p.inv.t/0@" + std::to_string(b.offset));
    EXPECT_EQ(b.raw, *msgs[static_cast<size_t>(b.offset)].value);
  }
}

TEST(DebeziumDecoderTest, StrictEnvelopeModeRefusesFlattenedRecords) {
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})", R"({"id":1,"__op":"c","__lsn":4})")};
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options({{"debezium.envelope", "envelope"}}), msgs));
  ASSERT_EQ(unit.bad.size(), 1u);
  EXPECT_NE(unit.bad[0].reason.find("not a Debezium envelope"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(auto missing_op,
                       Decode(Options(), {Message("p.inv.t", 0, R"({"id":1})",
                                                  R"({"before":null,"after":{"id":1},)"
                                                  R"("source":{"lsn":1},"op":null})")}));
  ASSERT_EQ(missing_op.tables.size(), 1u);
  ASSERT_EQ(missing_op.tables[0].bad.size(), 1u);
  EXPECT_EQ(missing_op.tables[0].bad[0].reason, "the envelope has no op");
}

TEST(DebeziumDecoderTest, UndecodableKeyIsADeadLetterUnlessKeysAreConfigured) {
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, "{broken", Pg("c", "null", R"({"id":1})"))};
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  ASSERT_EQ(unit.tables.size(), 1u);
  ASSERT_EQ(unit.tables[0].bad.size(), 1u);
  EXPECT_NE(unit.tables[0].bad[0].reason.find("key does not decode"), std::string::npos);
  auto options = Options();
  options.tables["inv.t"].primary_keys = {"id"};
  ASSERT_OK_AND_ASSIGN(auto configured, Decode(options, msgs));
  EXPECT_TRUE(configured.tables[0].bad.empty());
  EXPECT_EQ(configured.tables[0].batches[0]->num_rows(), 1);
}

TEST(DebeziumDecoderTest, ReservedColumnNamesAreDeadLetters) {
  std::vector<KafkaMessage> msgs = {
      Message("p.inv.t", 0, R"({"id":1})", Pg("c", "null", R"({"id":1,"_cdc_op":"x"})"))};
  ASSERT_OK_AND_ASSIGN(auto unit, Decode(Options(), msgs));
  ASSERT_EQ(unit.bad.size(), 1u);
  EXPECT_NE(unit.bad[0].reason.find("_cdc_op"), std::string::npos);
}

TEST(DebeziumDecoderTest, EmptyUnitAndTombstonesOnly) {
  ASSERT_OK_AND_ASSIGN(auto empty, Decode(Options(), {}));
  EXPECT_TRUE(empty.tables.empty());
  ASSERT_OK_AND_ASSIGN(auto tomb,
                       Decode(Options(), {Message("p.inv.t", 0, R"({"id":1})", std::nullopt),
                                          Message("p.inv.t", 1, R"({"id":1})",
                                                  R"({"schema":null,"payload":null})")}));
  EXPECT_TRUE(tomb.tables.empty());
  EXPECT_TRUE(tomb.bad.empty());
}

}  // namespace
}  // namespace sluice::sources::debezium
