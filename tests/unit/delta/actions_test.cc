#include "sluice/delta/actions.h"

#include <gtest/gtest.h>

namespace sluice::delta {
namespace {

TEST(ActionsJsonTest, RoundTripsEveryActionWithOptionalFields) {
  Add add;
  add.path = "a=1/part-0.parquet";
  add.partition_values = {{"a", "1"}, {"b", std::nullopt}};
  add.size = 123;
  add.modification_time = 456;
  add.data_change = false;
  add.stats = R"({"numRecords":3})";
  add.tags = std::map<std::string, std::string>{{"k", "v"}};
  add.deletion_vector = DeletionVectorDescriptor{'u', "ab^-aqEH.-t@S}K{vb[*k^", 1, 36, 2};
  add.base_row_id = 7;
  add.default_row_commit_version = 8;
  Remove rm;
  rm.path = "x.parquet";
  rm.deletion_timestamp = 99;
  rm.extended_file_metadata = true;
  rm.partition_values = PartitionValues{{"a", "2"}};
  rm.size = 10;
  Protocol p{3, 7, std::vector<std::string>{"deletionVectors"},
             std::vector<std::string>{"deletionVectors", "appendOnly"}};
  Metadata m;
  m.id = "id-1";
  m.name = "t";
  m.schema_string = R"({"type":"struct","fields":[]})";
  m.partition_columns = {"a"};
  m.configuration = {{"delta.enableDeletionVectors", "true"}};
  m.created_time = 1;
  Txn t{"app", 42, 1000};
  std::vector<Action> actions = {p,  m, add,
                                 rm, t, OtherAction{"domainMetadata", R"({"domain":"d"})"}};
  std::string text = CommitToJson(actions);
  auto parsed = CommitFromJson(text, "test");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), actions.size());
  for (size_t i = 0; i < actions.size(); ++i) {
    EXPECT_EQ((*parsed)[i], actions[i]) << "action " << i << ": " << ActionToJson(actions[i]);
  }
}

TEST(ActionsJsonTest, ReadsSparkStyleCommit) {
  // A commit as Spark writes it (abridged from PROTOCOL.md examples).
  std::string text =
      R"({"commitInfo":{"timestamp":1700000000000,"operation":"WRITE","operationParameters":{"mode":"Append"}}})"
      "\n"
      R"({"add":{"path":"date=2017-12-10/part-000...c000.snappy.parquet","partitionValues":{"date":"2017-12-10"},"size":841454,"modificationTime":1512909768000,"dataChange":true,"stats":"{\"numRecords\":1}","tags":{"INSERTION_TIME":"1"}}})"
      "\n"
      R"({"remove":{"path":"old.parquet","deletionTimestamp":1512909768001,"dataChange":true}})"
      "\n"
      R"({"txn":{"appId":"3ba13872-2d47-4e17-86a0-21afd2a22395","version":364475}})"
      "\n";
  auto parsed = CommitFromJson(text, "spark");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_TRUE(std::holds_alternative<CommitInfo>((*parsed)[0]));
  const auto& add = std::get<Add>((*parsed)[1]);
  EXPECT_EQ(add.partition_values.at("date"), "2017-12-10");
  EXPECT_EQ(add.size, 841454);
  const auto& txn = std::get<Txn>((*parsed)[3]);
  EXPECT_EQ(txn.version, 364475);
  EXPECT_FALSE(txn.last_updated.has_value());
}

TEST(ActionsJsonTest, MalformedLinesNameFileAndLine) {
  auto bad = CommitFromJson("{\"txn\":{\"appId\":\"a\",\"version\":1}}\n{\"add\":{\"path\":1}}\n",
                            "_delta_log/00000000000000000003.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("00000000000000000003.json line 2"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("path"), std::string::npos);
  EXPECT_FALSE(CommitFromJson("not json", "f").ok());
  EXPECT_FALSE(CommitFromJson("{\"add\":{}, \"remove\":{}}", "f").ok());
  EXPECT_FALSE(CommitFromJson("{\"protocol\":{\"minReaderVersion\":\"1\"}}", "f").ok());
}

}  // namespace
}  // namespace sluice::delta
