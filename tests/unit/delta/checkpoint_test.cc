// Checkpoint Parquet round trips, and checkpoints written by Spark and
// delta-rs (tests/data/delta/checkpoints, see generate.py there) checked
// against facts replayed from their JSON commits.
#include "sluice/delta/checkpoint.h"

#include <arrow/builder.h>
#include <arrow/io/memory.h>
#include <arrow/table.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace sluice::delta {
namespace {

const std::string kDataDir = std::string(SLUICE_TEST_DATA_DIR) + "/delta/checkpoints/";

Protocol FullProtocol() {
  Protocol p;
  p.min_reader_version = 3;
  p.min_writer_version = 7;
  p.reader_features = std::vector<std::string>{"deletionVectors"};
  p.writer_features = std::vector<std::string>{"deletionVectors", "rowTracking", "domainMetadata"};
  return p;
}

Metadata FullMetadata() {
  Metadata m;
  m.id = "5fba94ed-9794-4965-ba6e-6ee3c0d22af9";
  m.name = "orders";
  m.description = "all the orders";
  m.format.provider = "parquet";
  m.format.options = {{"k", "v"}};
  m.schema_string =
      R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
      R"({"name":"region","type":"string","nullable":true,"metadata":{}}]})";
  m.partition_columns = {"region"};
  m.configuration = {{"delta.enableDeletionVectors", "true"}, {"delta.checkpointInterval", "10"}};
  m.created_time = 1700000000000;
  return m;
}

Metadata MinimalMetadata() {
  Metadata m;
  m.id = "id-0";
  m.schema_string = R"({"type":"struct","fields":[]})";
  return m;
}

DeletionVectorDescriptor Dv(char type, std::optional<int32_t> offset) {
  DeletionVectorDescriptor dv;
  dv.storage_type = type;
  dv.path_or_inline_dv =
      type == 'i' ? "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L" : "ab^-aqEH.-t@S}K{vb[*k^";
  dv.offset = offset;
  dv.size_in_bytes = 40;
  dv.cardinality = 6;
  return dv;
}

Add FullAdd() {
  Add a;
  a.path = "region=eu/part-00000-1.snappy.parquet";
  a.partition_values = {{"region", "eu"}, {"day", std::nullopt}};
  a.size = 1234;
  a.modification_time = 1700000000001;
  a.data_change = false;
  a.stats = R"({"numRecords":3,"minValues":{"id":1},"maxValues":{"id":3},"nullCount":{"id":0}})";
  a.tags = std::map<std::string, std::string>{{"INSERTION_TIME", "1700000000001"}, {"empty", ""}};
  a.deletion_vector = Dv('u', 1);
  a.base_row_id = 100;
  a.default_row_commit_version = 7;
  a.clustering_provider = "liquid";
  return a;
}

Add MinimalAdd() {
  Add a;
  a.path = "part-00001.parquet";
  a.size = 1;
  a.modification_time = 2;
  return a;
}

Remove FullRemove() {
  Remove r;
  r.path = "region=us/part-00000-2.snappy.parquet";
  r.deletion_timestamp = 1700000000002;
  r.data_change = true;
  r.extended_file_metadata = true;
  r.partition_values = PartitionValues{{"region", "us"}, {"day", std::nullopt}};
  r.size = 99;
  r.stats = R"({"numRecords":1})";
  r.tags = std::map<std::string, std::string>{{"a", "b"}};
  r.deletion_vector = Dv('i', std::nullopt);
  r.base_row_id = 5;
  r.default_row_commit_version = 6;
  return r;
}

Remove MinimalRemove() {
  Remove r;
  r.path = "part-00002.parquet";
  r.data_change = false;
  return r;
}

OtherAction DomainMetadata(const std::string& domain) {
  nlohmann::ordered_json j;
  j["domain"] = domain;
  j["configuration"] = R"({"rowIdHighWaterMark":41})";
  j["removed"] = false;
  return OtherAction{"domainMetadata", j.dump()};
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::vector<Action>> RoundTrip(const std::vector<Action>& actions) {
  ARROW_ASSIGN_OR_RAISE(auto parquet, WriteCheckpointParquet(actions));
  return ReadCheckpointParquet(parquet, "test.checkpoint.parquet");
}

void ExpectRoundTrip(const std::vector<Action>& actions) {
  auto back = RoundTrip(actions);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), actions.size());
  for (size_t i = 0; i < actions.size(); ++i) {
    EXPECT_EQ(back->at(i).index(), actions[i].index()) << "row " << i;
    EXPECT_TRUE(back->at(i) == actions[i]) << "row " << i;
  }
}

TEST(CheckpointTest, RoundTripsEveryFieldSet) {
  ExpectRoundTrip({FullProtocol(), FullMetadata(), DomainMetadata("delta.rowTracking"),
                   Txn{"app-1", 42, 1700000000003}, FullAdd(), FullRemove()});
}

TEST(CheckpointTest, RoundTripsEveryOptionalUnset) {
  Protocol p;  // 1/2, no feature lists
  ExpectRoundTrip(
      {p, MinimalMetadata(), Txn{"app-2", 0, std::nullopt}, MinimalAdd(), MinimalRemove()});
}

TEST(CheckpointTest, RoundTripsMixedOptionals) {
  Protocol p;
  p.min_reader_version = 3;
  p.min_writer_version = 7;
  p.reader_features = std::vector<std::string>{};  // empty is not null
  p.writer_features = std::vector<std::string>{"appendOnly"};
  Metadata m = MinimalMetadata();
  m.name = "";
  m.format.options = {};
  m.partition_columns = {"a", "b"};
  Add a1 = MinimalAdd();
  a1.partition_values = {{"a", std::nullopt}, {"b", ""}};  // null vs empty string
  a1.tags = std::map<std::string, std::string>{};          // empty map is not null
  Add a2 = FullAdd();
  a2.path = "other";
  a2.deletion_vector = Dv('p', std::nullopt);
  a2.stats.reset();
  a2.clustering_provider.reset();
  Add a3 = FullAdd();
  a3.path = "no-dv";
  a3.deletion_vector.reset();
  a3.base_row_id.reset();
  Remove r1 = MinimalRemove();
  r1.partition_values = PartitionValues{};
  r1.deletion_vector = Dv('u', std::nullopt);
  Remove r2 = FullRemove();
  r2.deletion_vector.reset();
  r2.tags.reset();
  r2.extended_file_metadata = false;
  ExpectRoundTrip({p, m, Txn{"a", 1, 2}, Txn{"b", 3, std::nullopt}, a1, a2, a3, r1, r2});
}

TEST(CheckpointTest, OrdersRowsProtocolMetadataFirst) {
  std::vector<Action> in = {FullRemove(),  FullAdd(),      Txn{"t", 1, std::nullopt},
                            MinimalAdd(),  FullMetadata(), DomainMetadata("d"),
                            FullProtocol()};
  auto back = RoundTrip(in);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 7u);
  EXPECT_TRUE(std::holds_alternative<Protocol>((*back)[0]));
  EXPECT_TRUE(std::holds_alternative<Metadata>((*back)[1]));
  EXPECT_TRUE(std::holds_alternative<OtherAction>((*back)[2]));
  EXPECT_TRUE(std::holds_alternative<Txn>((*back)[3]));
  EXPECT_TRUE((*back)[4] == Action(FullAdd()));  // stable within a kind
  EXPECT_TRUE((*back)[5] == Action(MinimalAdd()));
  EXPECT_TRUE(std::holds_alternative<Remove>((*back)[6]));
}

TEST(CheckpointTest, ManyRowsRoundTrip) {
  std::vector<Action> in = {FullProtocol(), FullMetadata()};
  for (int i = 0; i < 5000; ++i) {
    Add a = FullAdd();
    a.path = "f" + std::to_string(i);
    if (i % 3 == 0) a.deletion_vector.reset();
    in.push_back(a);
  }
  ExpectRoundTrip(in);
}

TEST(CheckpointTest, RejectsWhatCheckpointsMustNotHold) {
  auto commit_info = WriteCheckpointParquet({FullProtocol(), FullMetadata(), CommitInfo{"{}"}});
  EXPECT_TRUE(commit_info.status().IsInvalid()) << commit_info.status().ToString();
  auto cdc = WriteCheckpointParquet({FullProtocol(), FullMetadata(), OtherAction{"cdc", "{}"}});
  EXPECT_TRUE(cdc.status().IsInvalid());
  auto v2 = WriteCheckpointParquet({FullProtocol(), FullMetadata(), OtherAction{"sidecar", "{}"}});
  EXPECT_TRUE(v2.status().IsNotImplemented());
  EXPECT_TRUE(WriteCheckpointParquet({FullMetadata(), MinimalAdd()}).status().IsInvalid());
  EXPECT_TRUE(WriteCheckpointParquet({FullProtocol()}).status().IsInvalid());
  EXPECT_TRUE(WriteCheckpointParquet({FullProtocol(), FullMetadata(), FullMetadata()})
                  .status()
                  .IsInvalid());
  auto bad_domain = WriteCheckpointParquet(
      {FullProtocol(), FullMetadata(), OtherAction{"domainMetadata", "[1]"}});
  EXPECT_TRUE(bad_domain.status().IsInvalid());
}

TEST(CheckpointTest, ReadErrorsNameTheFile) {
  auto garbage = ReadCheckpointParquet(arrow::Buffer::FromString("not parquet at all"),
                                       "00000000000000000010.checkpoint.parquet");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("00000000000000000010.checkpoint.parquet"),
            std::string::npos)
      << garbage.status().ToString();
}

// Writes a Parquet file from hand-built columns, for shapes Sluice never
// writes itself.
std::shared_ptr<arrow::Buffer> WriteParquet(const std::shared_ptr<arrow::Table>& table) {
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  EXPECT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink).ok());
  return sink->Finish().ValueOrDie();
}

std::shared_ptr<arrow::Array> MarkerColumn(const std::shared_ptr<arrow::DataType>& type,
                                           const std::vector<std::optional<int64_t>>& ints) {
  // A struct<version: long> column with the given nulls: enough to mark rows.
  arrow::StructBuilder b(type, arrow::default_memory_pool(),
                         {std::make_shared<arrow::Int64Builder>()});
  auto* v = static_cast<arrow::Int64Builder*>(b.field_builder(0));
  for (const auto& i : ints) {
    if (i) {
      EXPECT_TRUE(b.Append().ok());
      EXPECT_TRUE(v->Append(*i).ok());
    } else {
      EXPECT_TRUE(b.AppendNull().ok());
    }
  }
  return b.Finish().ValueOrDie();
}

TEST(CheckpointTest, V2CheckpointIsNotImplemented) {
  auto protocol_type = arrow::struct_({arrow::field("minReaderVersion", arrow::int64())});
  auto cm_type = arrow::struct_({arrow::field("version", arrow::int64())});
  auto table = arrow::Table::Make(
      arrow::schema(
          {arrow::field("protocol", protocol_type), arrow::field("checkpointMetadata", cm_type)}),
      {MarkerColumn(protocol_type, {1, std::nullopt}), MarkerColumn(cm_type, {std::nullopt, 10})});
  auto r = ReadCheckpointParquet(WriteParquet(table), "10.checkpoint.parquet");
  ASSERT_TRUE(r.status().IsNotImplemented()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("v2Checkpoint"), std::string::npos);
  EXPECT_NE(r.status().message().find("10.checkpoint.parquet"), std::string::npos);
}

TEST(CheckpointTest, UnknownColumnsAndRowsAreIgnoredAndMissingFieldsNamed) {
  // A "protocol" lacking minWriterVersion, plus an unknown commitInfo column.
  auto protocol_type = arrow::struct_({arrow::field("minReaderVersion", arrow::int64())});
  auto ci_type = arrow::struct_({arrow::field("timestamp", arrow::int64())});
  auto table = arrow::Table::Make(
      arrow::schema({arrow::field("commitInfo", ci_type), arrow::field("protocol", protocol_type)}),
      {MarkerColumn(ci_type, {5, std::nullopt}), MarkerColumn(protocol_type, {std::nullopt, 1})});
  auto r = ReadCheckpointParquet(WriteParquet(table), "x.parquet");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("x.parquet: row 1: protocol.minWriterVersion is null"),
            std::string::npos)
      << r.status().ToString();

  // Only unknown columns: not a checkpoint.
  auto only_ci = arrow::Table::Make(arrow::schema({arrow::field("commitInfo", ci_type)}),
                                    {MarkerColumn(ci_type, {5})});
  EXPECT_TRUE(ReadCheckpointParquet(WriteParquet(only_ci), "y.parquet").status().IsInvalid());
}

TEST(CheckpointTest, LastCheckpointJson) {
  LastCheckpoint full{10, 123, 3, 4567, 100};
  EXPECT_EQ(LastCheckpointToJson(full),
            R"({"version":10,"size":123,"parts":3,"sizeInBytes":4567,"numOfAddFiles":100})");
  EXPECT_EQ(*LastCheckpointFromJson(LastCheckpointToJson(full)), full);
  LastCheckpoint minimal{7, 2, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(LastCheckpointToJson(minimal), R"({"version":7,"size":2})");
  EXPECT_EQ(*LastCheckpointFromJson(LastCheckpointToJson(minimal)), minimal);

  auto extra = LastCheckpointFromJson(
      R"({"version":4,"size":7,"checksum":"ab","v2Checkpoint":{"path":"x"},"checkpointSchema":{"type":"struct"},"tags":{}})");
  ASSERT_TRUE(extra.ok()) << extra.status().ToString();
  EXPECT_EQ(extra->version, 4);

  EXPECT_FALSE(LastCheckpointFromJson("").ok());
  EXPECT_FALSE(LastCheckpointFromJson("[]").ok());
  EXPECT_FALSE(LastCheckpointFromJson(R"({"size":1})").ok());
  EXPECT_FALSE(LastCheckpointFromJson(R"({"version":"1","size":1})").ok());
  EXPECT_FALSE(LastCheckpointFromJson(R"({"version":1.5,"size":1})").ok());
  EXPECT_FALSE(LastCheckpointFromJson(R"({"version":-1,"size":1})").ok());
  EXPECT_FALSE(LastCheckpointFromJson(R"({"version":18446744073709551615,"size":1})").ok());
}

// --- checkpoints written by other engines ---------------------------------

std::optional<DeletionVectorDescriptor> DvFromJson(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  DeletionVectorDescriptor dv;
  dv.storage_type = j.at("storageType").get<std::string>().at(0);
  dv.path_or_inline_dv = j.at("pathOrInlineDv").get<std::string>();
  if (j.contains("offset")) dv.offset = j.at("offset").get<int32_t>();
  dv.size_in_bytes = j.at("sizeInBytes").get<int32_t>();
  dv.cardinality = j.at("cardinality").get<int64_t>();
  return dv;
}

std::optional<int64_t> OptInt(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<int64_t>();
}

class ForeignCheckpointTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ForeignCheckpointTest, MatchesReplayedCommits) {
  const std::string name = GetParam();
  auto all = nlohmann::json::parse(ReadFileOrDie(kDataDir + "expected.json"));
  const auto& facts = all.at(name);

  std::vector<Action> actions;
  int64_t total_bytes = 0;
  for (const auto& file : facts.at("files")) {
    std::string bytes = ReadFileOrDie(kDataDir + file.get<std::string>());
    total_bytes += static_cast<int64_t>(bytes.size());
    auto part =
        ReadCheckpointParquet(arrow::Buffer::FromString(std::move(bytes)), file.get<std::string>());
    ASSERT_TRUE(part.ok()) << part.status().ToString();
    actions.insert(actions.end(), part->begin(), part->end());
  }

  // _last_checkpoint, as the engine wrote it, agrees with the files.
  auto last = LastCheckpointFromJson(ReadFileOrDie(kDataDir + name + "._last_checkpoint"));
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  const auto& lf = facts.at("lastCheckpoint");
  EXPECT_EQ(last->version, facts.at("version").get<int64_t>());
  EXPECT_EQ(last->size, lf.at("size").get<int64_t>());
  EXPECT_EQ(last->parts, OptInt(lf, "parts"));
  EXPECT_EQ(last->num_of_add_files, OptInt(lf, "numOfAddFiles"));
  EXPECT_EQ(last->size_in_bytes, total_bytes);
  EXPECT_EQ(static_cast<int64_t>(actions.size()), last->size);

  std::vector<Protocol> protocols;
  std::vector<Metadata> metadatas;
  std::map<std::string, int64_t> txns;
  std::map<std::pair<std::string, std::string>, Add> adds;  // by (path, dv id)
  std::map<std::pair<std::string, std::string>, Remove> removes;
  std::set<std::string> domains;
  for (const auto& a : actions) {
    if (auto* p = std::get_if<Protocol>(&a)) protocols.push_back(*p);
    if (auto* m = std::get_if<Metadata>(&a)) metadatas.push_back(*m);
    if (auto* t = std::get_if<Txn>(&a)) txns[t->app_id] = t->version;
    if (auto* f = std::get_if<Add>(&a)) {
      adds[{f->path, f->deletion_vector ? f->deletion_vector->UniqueId() : ""}] = *f;
    }
    if (auto* f = std::get_if<Remove>(&a)) {
      removes[{f->path, f->deletion_vector ? f->deletion_vector->UniqueId() : ""}] = *f;
    }
    if (auto* o = std::get_if<OtherAction>(&a)) {
      ASSERT_EQ(o->kind, "domainMetadata");
      domains.insert(nlohmann::json::parse(o->json).at("domain").get<std::string>());
    }
    EXPECT_FALSE(std::holds_alternative<CommitInfo>(a));
  }

  ASSERT_EQ(protocols.size(), 1u);
  const auto& pf = facts.at("protocol");
  EXPECT_EQ(protocols[0].min_reader_version, pf.at("minReaderVersion").get<int32_t>());
  EXPECT_EQ(protocols[0].min_writer_version, pf.at("minWriterVersion").get<int32_t>());
  if (pf.contains("readerFeatures")) {
    ASSERT_TRUE(protocols[0].reader_features.has_value());
    EXPECT_EQ(*protocols[0].reader_features,
              pf.at("readerFeatures").get<std::vector<std::string>>());
  } else {
    EXPECT_FALSE(protocols[0].reader_features.has_value());
  }
  if (pf.contains("writerFeatures")) {
    ASSERT_TRUE(protocols[0].writer_features.has_value());
    EXPECT_EQ(*protocols[0].writer_features,
              pf.at("writerFeatures").get<std::vector<std::string>>());
  } else {
    EXPECT_FALSE(protocols[0].writer_features.has_value());
  }

  ASSERT_EQ(metadatas.size(), 1u);
  const auto& mf = facts.at("metaData");
  EXPECT_EQ(metadatas[0].id, mf.at("id").get<std::string>());
  EXPECT_EQ(metadatas[0].schema_string, mf.at("schemaString").get<std::string>());
  EXPECT_EQ(metadatas[0].partition_columns,
            mf.at("partitionColumns").get<std::vector<std::string>>());
  EXPECT_EQ(metadatas[0].configuration,
            (mf.at("configuration").get<std::map<std::string, std::string>>()));
  EXPECT_EQ(metadatas[0].format.provider, "parquet");

  std::map<std::string, int64_t> expected_txns;
  for (const auto& t : facts.at("txns")) {
    expected_txns[t.at("appId").get<std::string>()] = t.at("version").get<int64_t>();
  }
  EXPECT_EQ(txns, expected_txns);

  ASSERT_EQ(adds.size(), facts.at("adds").size());
  for (const auto& f : facts.at("adds")) {
    auto dv = DvFromJson(f.at("deletionVector"));
    auto it = adds.find({f.at("path").get<std::string>(), dv ? dv->UniqueId() : ""});
    ASSERT_NE(it, adds.end()) << f.dump();
    const Add& a = it->second;
    EXPECT_EQ(a.size, f.at("size").get<int64_t>());
    EXPECT_EQ(a.deletion_vector, dv);
    PartitionValues pv;
    for (const auto& [k, v] : f.at("partitionValues").items()) {
      pv[k] = v.is_null() ? std::nullopt : std::optional<std::string>(v.get<std::string>());
    }
    EXPECT_EQ(a.partition_values, pv) << a.path;
    EXPECT_EQ(a.stats.has_value(), f.at("hasStats").get<bool>()) << a.path;
    EXPECT_EQ(a.base_row_id, OptInt(f, "baseRowId"));
    EXPECT_EQ(a.default_row_commit_version, OptInt(f, "defaultRowCommitVersion"));
    EXPECT_GT(a.modification_time, 0);
  }

  ASSERT_EQ(removes.size(), facts.at("removes").size());
  for (const auto& f : facts.at("removes")) {
    auto dv = DvFromJson(f.at("deletionVector"));
    auto it = removes.find({f.at("path").get<std::string>(), dv ? dv->UniqueId() : ""});
    ASSERT_NE(it, removes.end()) << f.dump();
    const Remove& r = it->second;
    EXPECT_EQ(r.size, OptInt(f, "size"));
    EXPECT_EQ(r.deletion_timestamp, OptInt(f, "deletionTimestamp"));
    EXPECT_EQ(r.deletion_vector, dv);
    EXPECT_EQ(r.base_row_id, OptInt(f, "baseRowId"));
    EXPECT_EQ(r.default_row_commit_version, OptInt(f, "defaultRowCommitVersion"));
  }

  EXPECT_EQ(domains, (facts.at("domains").get<std::set<std::string>>()));
}

INSTANTIATE_TEST_SUITE_P(Engines, ForeignCheckpointTest,
                         ::testing::Values("deltars_partitioned", "spark_partitioned", "spark_dv",
                                           "spark_multipart"));

// What Sluice writes keeps the layout foreign readers rely on: the column
// names, the map/list group names and the compression.
TEST(CheckpointTest, WrittenSchemaHasTheProtocolColumns) {
  auto parquet = WriteCheckpointParquet({FullProtocol(), FullMetadata(), FullAdd()}).ValueOrDie();
  auto reader = parquet::arrow::OpenFile(std::make_shared<arrow::io::BufferReader>(parquet),
                                         arrow::default_memory_pool())
                    .ValueOrDie();
  std::shared_ptr<arrow::Schema> schema;
  ASSERT_TRUE(reader->GetSchema(&schema).ok());
  for (const char* col : {"txn", "add", "remove", "metaData", "protocol"}) {
    EXPECT_NE(schema->GetFieldByName(col), nullptr) << col;
  }
  const auto& descr = *reader->parquet_reader()->metadata()->schema();
  std::set<std::string> paths;
  for (int i = 0; i < descr.num_columns(); ++i)
    paths.insert(descr.Column(i)->path()->ToDotString());
  EXPECT_TRUE(paths.count("add.partitionValues.key_value.key"));
  EXPECT_TRUE(paths.count("add.partitionValues.key_value.value"));
  EXPECT_TRUE(paths.count("metaData.partitionColumns.list.element"));
  EXPECT_TRUE(paths.count("add.deletionVector.pathOrInlineDv"));
  EXPECT_EQ(reader->parquet_reader()->metadata()->RowGroup(0)->ColumnChunk(0)->compression(),
            parquet::Compression::SNAPPY);
}

}  // namespace
}  // namespace sluice::delta
