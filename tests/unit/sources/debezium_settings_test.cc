// The [source.debezium] keys (debezium_settings.h), Debezium's topic names
// (topic_table.h) and the position parsing behind _cdc_seq
// (debezium_sequence.h).
#include "sluice/sources/debezium/debezium_settings.h"

#include <gtest/gtest.h>

#include "sluice/sources/debezium/debezium_sequence.h"
#include "sluice/sources/debezium/topic_table.h"
#include "sluice/sources/sequence_key.h"

namespace sluice::sources::debezium {
namespace {

TEST(DebeziumSettingsTest, DefaultsAndEveryKey) {
  auto d = ParseDebeziumSettings("json", {}).ValueOrDie();
  EXPECT_FALSE(d.avro);
  EXPECT_EQ(d.envelope, EnvelopeMode::kAuto);
  EXPECT_EQ(d.route_by, RouteBy::kTopic);
  EXPECT_TRUE(d.apply_truncate);
  EXPECT_EQ(d.OpField(), "__op");
  EXPECT_EQ(d.DeletedField(), "__deleted");
  EXPECT_EQ(d.TsField(), "__source_ts_ms");
  EXPECT_EQ(d.LsnField(), "__lsn");
  EXPECT_EQ(d.types.decimal_overflow, formats::connect::DecimalOverflow::kString);

  auto s = ParseDebeziumSettings("avro", {{"debezium.envelope", "flattened"},
                                          {"debezium.route_by", "source"},
                                          {"debezium.truncate", "ignore"},
                                          {"debezium.flattened_prefix", "x_"},
                                          {"debezium.op_field", "operation"},
                                          {"debezium.decimal_overflow", "decimal38"},
                                          {"debezium.unavailable_value", "hex:00"},
                                          // the consumer's keys are not ours
                                          {"kafka.bootstrap_servers", "localhost:9092"}})
               .ValueOrDie();
  EXPECT_TRUE(s.avro);
  EXPECT_EQ(s.envelope, EnvelopeMode::kFlattened);
  EXPECT_EQ(s.route_by, RouteBy::kSource);
  EXPECT_FALSE(s.apply_truncate);
  EXPECT_EQ(s.OpField(), "operation");
  EXPECT_EQ(s.DeletedField(), "x_deleted");
  EXPECT_EQ(s.types.decimal_overflow, formats::connect::DecimalOverflow::kDecimal38);
  EXPECT_EQ(s.unavailable_value, "hex:00");
}

TEST(DebeziumSettingsTest, ErrorsNameTheKeyAndValue) {
  auto unknown = ParseDebeziumSettings("json", {{"debezium.enevlope", "auto"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("source.debezium.enevlope: unknown key"),
            std::string::npos)
      << unknown.status().ToString();
  EXPECT_NE(unknown.status().message().find("envelope"), std::string::npos);
  auto bad = ParseDebeziumSettings("json", {{"debezium.truncate", "drop"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'drop'"), std::string::npos);
  EXPECT_FALSE(ParseDebeziumSettings("parquet", {}).ok());
  EXPECT_FALSE(ParseDebeziumSettings("json", {{"debezium.route_by", "table"}}).ok());
  EXPECT_FALSE(ParseDebeziumSettings("json", {{"debezium.decimal_overflow", "double"}}).ok());
  EXPECT_FALSE(ParseDebeziumSettings("json", {{"debezium.flattened_prefix", ""}}).ok());
}

TEST(TopicTableTest, LastTwoPartsNameTheTable) {
  EXPECT_EQ(TableFromTopic("dbserver1.inventory.customers"),
            (SourceTable{"inventory", "customers"}));
  EXPECT_EQ(TableFromTopic("server.db.dbo.orders"), (SourceTable{"dbo", "orders"}));
  EXPECT_EQ(TableFromTopic("inv.t"), (SourceTable{"inv", "t"}));
  EXPECT_EQ(TableFromTopic("plain"), std::nullopt);
  EXPECT_EQ(TableFromTopic("a..t"), std::nullopt);
  EXPECT_EQ(TableFromTopic("a.b."), std::nullopt);
  EXPECT_EQ(TableFromTopic(".t"), std::nullopt);
  EXPECT_EQ(TableFromTopic(""), std::nullopt);
}

TEST(DebeziumSequenceTest, PostgresSequenceText) {
  auto s = ParsePostgresSequence(R"(["26378488","26378640"])");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->commit_lsn, 26378488u);
  EXPECT_EQ(s->lsn, 26378640u);
  auto null_commit = ParsePostgresSequence(R"([null,"26378640"])");
  ASSERT_TRUE(null_commit);
  EXPECT_EQ(null_commit->commit_lsn, std::nullopt);
  EXPECT_EQ(null_commit->lsn, 26378640u);
  auto numbers = ParsePostgresSequence(" [ 1 , 2 ] ");
  ASSERT_TRUE(numbers);
  EXPECT_EQ(numbers->lsn, 2u);
  for (const char* bad : {"", "[", "[1]", "[1,2,3]", R"(["a","1"])", R"(["1","2"]x)",
                          R"(["-1","2"])", R"(["1,"2"])", "[99999999999999999999,1]"}) {
    EXPECT_FALSE(ParsePostgresSequence(bad)) << bad;
  }
}

TEST(DebeziumSequenceTest, BinlogFileNumbers) {
  EXPECT_EQ(BinlogFileNumber("mysql-bin.000003"), 3u);
  EXPECT_EQ(BinlogFileNumber("binlog.1000000"), 1000000u);
  EXPECT_EQ(BinlogFileNumber("mysql-bin"), std::nullopt);
  EXPECT_EQ(BinlogFileNumber(""), std::nullopt);
  EXPECT_EQ(BinlogFileNumber("b.99999999999999999999999"), std::nullopt);
}

TEST(DebeziumSequenceTest, KeysOrderSnapshotFirstThenPositionThenOffset) {
  // Snapshot rows sort before any streamed change.
  EXPECT_LT(CompareSequenceKeys(PostgresSequenceKey(true, 900, 900, 0, 50),
                                PostgresSequenceKey(false, 1, 1, 0, 0)),
            0);
  // LSNs compare as numbers; the commit LSN first.
  EXPECT_LT(CompareSequenceKeys(PostgresSequenceKey(false, 255, 300, 0, 0),
                                PostgresSequenceKey(false, 256, 1, 0, 0)),
            0);
  // Ties broken by the Kafka position.
  EXPECT_LT(CompareSequenceKeys(BinlogSequenceKey(false, 3, 100, 0, 0, 7),
                                BinlogSequenceKey(false, 3, 100, 0, 0, 8)),
            0);
  EXPECT_LT(CompareSequenceKeys(BinlogSequenceKey(false, 3, 100, 9, 0, 0),
                                BinlogSequenceKey(false, 4, 1, 0, 0, 0)),
            0);
  EXPECT_LT(CompareSequenceKeys(KafkaSequenceKey(false, 0, 1000), KafkaSequenceKey(false, 1, 0)),
            0);
}

}  // namespace
}  // namespace sluice::sources::debezium
