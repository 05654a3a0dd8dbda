#include "sluice/pipeline/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "sluice/pipeline/source_options.h"
#include "sluice/sources/source_registry.h"

namespace sluice::pipeline {
namespace {

std::string WriteTemp(const std::string& text) {
  std::string path = ::testing::TempDir() + "sluice_config_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsMatchTheOriginalConnector) {
  auto c = LoadConfig("", {});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->log_tables);                               // GENERATE_LOG_TABLE=true
  EXPECT_EQ(c->format, "avro");                             // READ_FORMAT=avro
  EXPECT_EQ(c->max_files_per_batch, 2);                     // FILE_READ_CONCURRENCY=2
  EXPECT_EQ(c->merge_interval_ms, 60'000);                  // DELTA_MERGE_FREQUENCY_MINUTES=1
  EXPECT_EQ(c->schema_evolution, SchemaEvolution::kMerge);  // mergeSchema
  EXPECT_EQ(c->poll_interval_ms, 10'000);
  EXPECT_EQ(c->batch_interval_ms, 0);  // a batch as soon as input is there
}

TEST(ConfigTest, EnvironmentAloneIsEnough) {
  auto c = LoadConfig("", {{"SOURCE_PATH", "/data/stream"},
                           {"DELTA_TABLE_PATH", "/lake"},
                           {"READ_FORMAT", "json"},
                           {"FILE_READ_CONCURRENCY", "5"},
                           {"GENERATE_LOG_TABLE", "false"},
                           {"NAME", "orders-pipe"},
                           {"DELTA_TABLE_NAME_PREFIX", "raw_"},
                           {"DELTA_MERGE_FREQUENCY_MINUTES", "3"},
                           {"DELTA_SCHEMA_EVOLUTION_STRATEGY", "none"},
                           {"CHECKPOINT_DIR", "/state"},
                           {"DATASTREAM_TABLE_SOURCE_TYPE", "local-directory"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->source_path, "/data/stream");
  EXPECT_EQ(c->sink_path, "/lake");
  EXPECT_EQ(c->format, "json");
  EXPECT_EQ(c->max_files_per_batch, 5);
  EXPECT_FALSE(c->log_tables);
  EXPECT_EQ(c->name, "orders-pipe");
  EXPECT_EQ(c->table_prefix, "raw_");
  EXPECT_EQ(c->merge_interval_ms, 180'000);
  EXPECT_EQ(c->schema_evolution, SchemaEvolution::kNone);
  EXPECT_EQ(c->checkpoint_dir, "/state");
  EXPECT_EQ(c->table_source_type, "local-directory");
  EXPECT_TRUE(ValidateForRun(*c).ok());
}

TEST(ConfigTest, BucketMeansGcs) {
  auto c = LoadConfig(
      "", {{"BUCKET", "my-bucket"}, {"SOURCE_PATH", "stream/a"}, {"DELTA_TABLE_PATH", "/lake"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->source_path, "gs://my-bucket/stream/a");
  EXPECT_EQ(c->table_source_type, "discovery-bucket");
  EXPECT_TRUE(ValidateForRun(*c).ok()) << ValidateForRun(*c).ToString();
  // Buckets at both ends, on any store.
  auto s3 = LoadConfig("", {{"SOURCE_PATH", "s3://dms/out"}, {"DELTA_TABLE_PATH", "az://lake/x"}});
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->table_source_type, "local-directory");
  EXPECT_TRUE(ValidateForRun(*s3).ok());
  // discovery-bucket names a bucket: a local directory is a mistake to say.
  auto local = LoadConfig("", {{"SOURCE_PATH", "/data"},
                               {"DELTA_TABLE_PATH", "/lake"},
                               {"DATASTREAM_TABLE_SOURCE_TYPE", "discovery-bucket"}});
  ASSERT_TRUE(local.ok());
  auto st = ValidateForRun(*local);
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_NE(st.message().find("BUCKET"), std::string::npos) << st.message();
}

TEST(ConfigTest, StorageSectionSetsTheStandardVariablesUnlessTheEnvironmentDoes) {
  auto path = WriteTemp(R"(
[storage]
aws_endpoint_url = "http://127.0.0.1:9000"
aws_region = "eu-west-1"
azure_storage_connection_string = "AccountName=a;AccountKey=k;BlobEndpoint=http://h/a"
)");
  auto c = LoadConfig(path, {{"AWS_REGION", "us-east-2"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage, (std::map<std::string, std::string>{
                            {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"},
                            {"AZURE_STORAGE_CONNECTION_STRING",
                             "AccountName=a;AccountKey=k;BlobEndpoint=http://h/a"}}));
  ::unsetenv("AWS_ENDPOINT_URL");
  ASSERT_TRUE(ApplyStorageSettings(*c).ok());
  ASSERT_NE(std::getenv("AWS_ENDPOINT_URL"), nullptr);
  EXPECT_STREQ(std::getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:9000");
  ::unsetenv("AWS_ENDPOINT_URL");
  ::unsetenv("AZURE_STORAGE_CONNECTION_STRING");

  auto bad = LoadConfig(WriteTemp("[storage]\nendpoint = \"http://x\"\n"), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("storage.endpoint"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("aws_endpoint_url"), std::string::npos);
}

TEST(ConfigTest, FileThenConnectorVariablesThenSluiceVariables) {
  auto path = WriteTemp(R"(
[pipeline]
name = "from-file"
merge_interval = "30s"
batch_interval = "750ms"
schema_evolution = "overwrite"

[source]
kind = "datastream"
format = "json"
path = "/in"
max_files_per_batch = 4
poll_interval = "500ms"

[source.datastream]
number_type = "string"

[sink]
path = "/out"
history_tables = true
merge_mode = "copy_on_write"

[tables."inventory.customers"]
primary_keys = ["customer_id", "region"]
history = true
schema_evolution = "none"
)");
  auto c = LoadConfig(path, {{"NAME", "from-connector-var"}, {"SLUICE_SINK_PATH", "/override"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "from-connector-var");
  EXPECT_EQ(c->merge_interval_ms, 30'000);
  EXPECT_EQ(c->batch_interval_ms, 750);
  EXPECT_EQ(c->schema_evolution, SchemaEvolution::kOverwrite);
  EXPECT_EQ(c->format, "json");
  EXPECT_EQ(c->max_files_per_batch, 4);
  EXPECT_EQ(c->poll_interval_ms, 500);
  EXPECT_EQ(c->number_type, "string");
  EXPECT_EQ(c->sink_path, "/override");
  EXPECT_TRUE(c->history_tables);
  EXPECT_EQ(c->merge_mode, "copy_on_write");
  auto t = c->ForTable("inventory.customers");
  EXPECT_EQ(t.primary_keys, (std::vector<std::string>{"customer_id", "region"}));
  EXPECT_EQ(t.history, true);
  EXPECT_EQ(t.schema_evolution, SchemaEvolution::kNone);
  auto c2 = LoadConfig(path, {{"SLUICE_PIPELINE_NAME", "x"}, {"NAME", "y"}});
  EXPECT_EQ(c2->name, "x");
}

TEST(ConfigTest, BadValuesNameTheKey) {
  auto c = LoadConfig("", {{"FILE_READ_CONCURRENCY", "many"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("FILE_READ_CONCURRENCY"), std::string::npos);
  auto d = LoadConfig("", {{"DELTA_SCHEMA_EVOLUTION_STRATEGY", "sometimes"}});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("sometimes"), std::string::npos);
  auto path = WriteTemp("[sink]\nunknown_key = 1\n");
  auto e = LoadConfig(path, {});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("sink.unknown_key"), std::string::npos);
  auto bad_toml = WriteTemp("[sink\n");
  auto f = LoadConfig(bad_toml, {});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("line"), std::string::npos);
}

TEST(ConfigTest, CompressionIsCheckedAndReachesTheDataWriteOptions) {
  auto d = LoadConfig("", {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(DataWriteOptionsFor(*d).compression, "zstd");
  EXPECT_FALSE(DataWriteOptionsFor(*d).compression_level.has_value());
  auto s = LoadConfig("", {{"SLUICE_SINK_COMPRESSION", "Snappy"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(DataWriteOptionsFor(*s).compression, "snappy");
  auto path = WriteTemp("[sink]\ncompression = \"zstd\"\ncompression_level = 3\n");
  auto z = LoadConfig(path, {});
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  EXPECT_EQ(DataWriteOptionsFor(*z).compression, "zstd");
  EXPECT_EQ(DataWriteOptionsFor(*z).compression_level, 3);
  // snappy has no levels: a level left in the file is refused, not ignored
  auto no_level = LoadConfig(path, {{"SLUICE_SINK_COMPRESSION", "snappy"}});
  ASSERT_FALSE(no_level.ok());
  EXPECT_NE(no_level.status().message().find("takes no level"), std::string::npos);
  auto bad = LoadConfig("", {{"SLUICE_SINK_COMPRESSION", "brotli9"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sink.compression"), std::string::npos);
  EXPECT_NE(bad.status().message().find("brotli9"), std::string::npos);
  auto level = LoadConfig("", {{"SLUICE_SINK_COMPRESSION_LEVEL", "99"}});
  ASSERT_FALSE(level.ok());
  EXPECT_NE(level.status().message().find("99"), std::string::npos);
}

TEST(ConfigTest, BackgroundCheckpointsAreOnUnlessTurnedOff) {
  auto d = LoadConfig("", {});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->background_checkpoints);
  auto path = WriteTemp("[sink]\nbackground_checkpoints = false\n");
  auto off = LoadConfig(path, {});
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->background_checkpoints);
  auto on = LoadConfig(path, {{"SLUICE_SINK_BACKGROUND_CHECKPOINTS", "true"}});
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_TRUE(on->background_checkpoints);
  auto bad = LoadConfig("", {{"SLUICE_SINK_BACKGROUND_CHECKPOINTS", "sometimes"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("SLUICE_SINK_BACKGROUND_CHECKPOINTS"), std::string::npos);
  // Every key of Sluice's own sections is listed (sluice run --help shows them).
  const auto& keys = CoreConfigKeys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "sink.background_checkpoints"), keys.end());
}

TEST(ConfigTest, Durations) {
  EXPECT_EQ(*ParseDurationMs("10s"), 10'000);
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
  EXPECT_EQ(*ParseDurationMs("2m"), 120'000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3'600'000);
  EXPECT_EQ(*ParseDurationMs("7d"), 7LL * 86'400'000);
  EXPECT_EQ(*ParseDurationMs("5"), 5'000);
  EXPECT_FALSE(ParseDurationMs("soon").ok());
  EXPECT_FALSE(ParseDurationMs("5 parsecs").ok());
}

TEST(ConfigTest, SnapshotKeysFromFileAndEnvironment) {
  auto c = LoadConfig("", {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->snapshot_start_date, "");
  EXPECT_FALSE(c->snapshot_partitioned);
  EXPECT_EQ(c->snapshot_partition_column, "snapshot_date");
  auto path = WriteTemp(
      "[snapshot]\nstart_date = \"2025-01-02\"\npartitioned = true\npartition_column = "
      "\"as_of\"\n");
  c = LoadConfig(path, {{"SLUICE_SNAPSHOT_START_DATE", "2025-01-05"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->snapshot_start_date, "2025-01-05");
  EXPECT_TRUE(c->snapshot_partitioned);
  EXPECT_EQ(c->snapshot_partition_column, "as_of");
  auto bad = LoadConfig("", {{"SLUICE_SNAPSHOT_START_DATE", "2025-02-30"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("snapshot.start_date"), std::string::npos)
      << bad.status().message();
}

// The keys of a source's sections come from the registry
// (sources/source_registry.h): a key a registered source declares is
// accepted, from the file and as SLUICE_<SECTION>_<KEY>, and reaches the
// source under its settings name; an undeclared one in that section is
// refused, naming the key and the known ones.
// A source that declares [source.probe] with two keys and an open
// [source.probe.extra] subsection; it is never made.
void RegisterProbeSource() {
  sources::RegisterSource(
      "probe",
      [](const sources::SourceOptions&) -> Result<std::unique_ptr<sources::Source>> {
        return Status::NotImplemented("probe");
      },
      {{"source.probe", "probe.", {"depth", "speed"}, "extra"}});
}

TEST(ConfigTest, ADeclaredKeyIsAcceptedAndReachesTheSource) {
  RegisterProbeSource();
  auto c = LoadConfig(
      WriteTemp("[source]\nkind = \"probe\"\n[source.probe]\ndepth = 3\nspeed = \"fast\"\n"
                "[source.probe.extra]\n\"any.thing\" = \"x\"\n"),
      {{"SLUICE_SOURCE_PROBE_SPEED", "slow"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->source_settings.at("source.probe.depth"), "3");
  auto o = SourceOptionsFor(*c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->settings.at("probe.depth"), "3");
  EXPECT_EQ(o->settings.at("probe.speed"), "slow");  // the variable wins
  EXPECT_EQ(o->settings.at("probe.extra.any.thing"), "x");
}

TEST(ConfigTest, AnUndeclaredKeyIsRefusedWithTheKnownOnes) {
  RegisterProbeSource();
  auto c = LoadConfig(WriteTemp("[source.probe]\ndepht = 3\n"), {});
  ASSERT_FALSE(c.ok());
  const std::string& message = c.status().message();
  EXPECT_NE(message.find("unknown configuration key 'source.probe.depht'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("known: depth, speed, extra.*"), std::string::npos) << message;
  // A variable naming no declared key is not read, as in every section.
  EXPECT_TRUE(LoadConfig("", {{"SLUICE_SOURCE_PROBE_DEPHT", "3"}}).ok());
  // A section no source declares is unknown.
  auto other = LoadConfig(WriteTemp("[source.nosuch]\ndepth = 3\n"), {});
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("source.nosuch.depth"), std::string::npos);
}

TEST(ConfigTest, BuiltInSectionsComeFromTheSources) {
  std::vector<std::string> names;
  for (const auto& s : sources::SourceSettingSections()) names.push_back(s.section);
  for (const char* want : {"source.debezium", "source.dms", "source.kafka"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  auto c = LoadConfig("", {{"SLUICE_SOURCE_DMS_CSV_NULL", "\\N"},
                           {"SLUICE_SOURCE_KAFKA_TIMEOUT_MS", "500"},
                           {"SLUICE_SOURCE_DEBEZIUM_ENVELOPE", "flattened"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto o = SourceOptionsFor(*c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->settings.at("csv_null"), "\\N");  // DMS keys keep their bare names
  EXPECT_EQ(o->settings.at("kafka.timeout_ms"), "500");
  EXPECT_EQ(o->settings.at("debezium.envelope"), "flattened");
}

}  // namespace
}  // namespace sluice::pipeline
