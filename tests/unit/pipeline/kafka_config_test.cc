// [source.kafka], [source.kafka.properties] and [source.debezium] (the
// Debezium source's configuration): the keys reach the source as
// `kafka.*`, `kafka.properties.*` and `debezium.*` settings, environment
// variables override them, typos are refused, and a Kafka source needs no
// source.path (no filesystem is opened for it).
#include <gtest/gtest.h>

#include <fstream>

#include "sluice/pipeline/config.h"
#include "sluice/pipeline/source_options.h"

namespace sluice::pipeline {
namespace {

std::string WriteTemp(const std::string& text) {
  std::string path = ::testing::TempDir() + "sluice_kafka_config_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
  std::ofstream(path) << text;
  return path;
}

TEST(KafkaConfigTest, SectionsBecomeSourceSettings) {
  auto path = WriteTemp(R"(
[source]
kind = "debezium"
format = "avro"

[source.kafka]
bootstrap_servers = "k1:9092,k2:9092"
topics = ["dbserver1.inv.customers", "dbserver1.inv.orders"]
group_id = "sluice"
schema_registry_url = "http://localhost:8081"

[source.kafka.properties]
"security.protocol" = "SASL_SSL"
sasl.mechanism = "PLAIN"

[source.debezium]
envelope = "flattened"
deleted_field = "__deleted"

[sink]
path = "/tmp/lake"
)");
  auto c = LoadConfig(path, {{"SLUICE_SOURCE_KAFKA_GROUP_ID", "from-env"},
                             {"SLUICE_SOURCE_DEBEZIUM_OP_FIELD", "__operation"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(ValidateForRun(*c).ok());  // no source.path needed
  auto o = SourceOptionsFor(*c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->fs, nullptr);  // no filesystem opened
  const auto& s = o->settings;
  EXPECT_EQ(s.at("kafka.bootstrap_servers"), "k1:9092,k2:9092");
  EXPECT_EQ(s.at("kafka.topics"), "dbserver1.inv.customers,dbserver1.inv.orders");
  EXPECT_EQ(s.at("kafka.group_id"), "from-env");
  EXPECT_EQ(s.at("kafka.schema_registry_url"), "http://localhost:8081");
  EXPECT_EQ(s.at("kafka.properties.security.protocol"), "SASL_SSL");
  EXPECT_EQ(s.at("kafka.properties.sasl.mechanism"), "PLAIN");
  EXPECT_EQ(s.at("debezium.envelope"), "flattened");
  EXPECT_EQ(s.at("debezium.deleted_field"), "__deleted");
  EXPECT_EQ(s.at("debezium.op_field"), "__operation");
}

TEST(KafkaConfigTest, TyposAreRefused) {
  auto kafka = LoadConfig(WriteTemp("[source.kafka]\nbootstrap_server = \"k:9092\"\n"), {});
  ASSERT_FALSE(kafka.ok());
  EXPECT_NE(kafka.status().message().find("source.kafka.bootstrap_server"), std::string::npos);
  auto dbz = LoadConfig(WriteTemp("[source.debezium]\nenvelop = \"auto\"\n"), {});
  ASSERT_FALSE(dbz.ok());
  EXPECT_NE(dbz.status().message().find("source.debezium.envelop"), std::string::npos);
}

TEST(KafkaConfigTest, FileSourcesStillNeedAPath) {
  auto c = LoadConfig("", {{"SLUICE_SOURCE_KIND", "dms"}, {"DELTA_TABLE_PATH", "/tmp/lake"}});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(ValidateForRun(*c).ok());
}

}  // namespace
}  // namespace sluice::pipeline
