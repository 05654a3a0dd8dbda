// Normalize() on the real Datastream Avro fixtures (decoded with OcfReader),
// and on small synthetic batches for the cases the fixtures lack:
// UPDATE-DELETE / UPDATE-INSERT pairs, null keys, unparseable positions.
#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "assert_result.h"
#include "sluice/core/change_schema.h"
#include "sluice/formats/avro/ocf_reader.h"
#include "sluice/sources/datastream/change_batch_builder.h"
#include "sluice/sources/datastream/unified_types.h"
#include "sluice/sources/sequence_key.h"

namespace sluice::sources::datastream {
namespace {

std::string FixturePath(const std::string& name) {
  return std::string(SLUICE_FIXTURES_DIR) + "/datastream/avro/" + name;
}

// The whole fixture as one batch (they are a few rows each).
Result<std::shared_ptr<arrow::RecordBatch>> DecodeFixture(const std::string& name) {
  std::ifstream in(FixturePath(name), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        formats::avro::OcfReader::Open(arrow::Buffer::FromString(ss.str()), name));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (;;) {
    ARROW_ASSIGN_OR_RAISE(auto b, reader->Next());
    if (!b) break;
    batches.push_back(b);
  }
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(reader->schema(), batches));
  ARROW_ASSIGN_OR_RAISE(auto combined, table->CombineChunksToBatch());
  return combined;
}

FileContext Ctx(const std::string& path, uint64_t ordinal) {
  return FileContext{path, ordinal, /*ingested_at_us=*/1700000000000000, /*first_row_index=*/0};
}

std::vector<std::string> Ops(const arrow::RecordBatch& b) {
  auto ops = std::static_pointer_cast<arrow::DictionaryArray>(b.GetColumnByName("_cdc_op"));
  std::vector<std::string> out;
  for (int64_t i = 0; i < b.num_rows(); ++i) {
    out.emplace_back(CdcOpName(static_cast<CdcOp>(ops->GetValueIndex(i))));
  }
  return out;
}

std::vector<std::string> Seqs(const arrow::RecordBatch& b) {
  auto seq = std::static_pointer_cast<arrow::BinaryArray>(b.GetColumnByName("_cdc_seq"));
  std::vector<std::string> out;
  for (int64_t i = 0; i < b.num_rows(); ++i) out.emplace_back(seq->GetView(i));
  return out;
}

std::shared_ptr<arrow::Array> SourceField(const arrow::RecordBatch& b, const std::string& name) {
  auto src = std::static_pointer_cast<arrow::StructArray>(b.GetColumnByName("_cdc_source"));
  return src->GetFieldByName(name);
}

std::string Str(const std::shared_ptr<arrow::Array>& a, int64_t i) {
  return std::string(std::static_pointer_cast<arrow::StringArray>(a)->GetView(i));
}

TEST(DatastreamNormalize, EveryAvroFixtureNormalizes) {
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(SLUICE_FIXTURES_DIR) + "/datastream/avro")) {
    std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(auto events, DecodeFixture(name));
    ASSERT_OK_AND_ASSIGN(auto out, Normalize(*events, Ctx(name, 0), {}));
    EXPECT_TRUE(out.rejected.empty()) << out.rejected.front().reason;
    ASSERT_EQ(out.changes->num_rows(), events->num_rows());
    ASSERT_TRUE(out.changes->ValidateFull().ok()) << out.changes->ValidateFull().ToString();
    // Payload first, then the canonical columns in order, _cdc_source last.
    auto payload_type = events->GetColumnByName("payload")->type();
    const auto& schema = *out.changes->schema();
    for (int k = 0; k < payload_type->num_fields(); ++k) {
      EXPECT_EQ(schema.field(k)->name(), payload_type->field(k)->name());
      // Same type unless unified_types.h rewrote it into a storable one.
      const auto& in = *payload_type->field(k)->type();
      EXPECT_TRUE(NeedsDeltaConversion(in) || schema.field(k)->type()->Equals(in));
      EXPECT_FALSE(NeedsDeltaConversion(*schema.field(k)->type()));
    }
    int n = schema.num_fields();
    std::vector<std::string> tail;
    for (int k = n - 6; k < n; ++k) tail.push_back(schema.field(k)->name());
    EXPECT_EQ(tail, (std::vector<std::string>{"_cdc_op", "_cdc_seq", "_cdc_ts", "_cdc_ingested_at",
                                              "_cdc_origin", "_cdc_source"}));
    EXPECT_EQ(Str(out.changes->GetColumnByName("_cdc_origin"), 0), name + "#0");
    EXPECT_EQ(Str(SourceField(*out.changes, "uuid"), 0).size(), 36u);
  }
}

TEST(DatastreamNormalize, MySqlBackfillThenCdc) {
  ASSERT_OK_AND_ASSIGN(auto backfill_events, DecodeFixture("mysql-backfill-Users.avro"));
  ASSERT_OK_AND_ASSIGN(auto cdc_events, DecodeFixture("mysql-cdc-Users.avro"));
  // The backfill file comes later in the cursor here: it must still sort first.
  ASSERT_OK_AND_ASSIGN(auto backfill, Normalize(*backfill_events, Ctx("b.avro", 7), {}));
  ASSERT_OK_AND_ASSIGN(auto cdc, Normalize(*cdc_events, Ctx("c.avro", 3), {}));
  EXPECT_EQ(backfill.primary_keys, std::vector<std::string>{"id"});
  EXPECT_EQ(cdc.primary_keys, std::vector<std::string>{"id"});
  EXPECT_EQ(Ops(*backfill.changes), (std::vector<std::string>{"snapshot", "snapshot"}));
  EXPECT_EQ(Ops(*cdc.changes), (std::vector<std::string>{"delete", "insert", "insert", "update"}));

  auto seqs = Seqs(*backfill.changes);
  auto cdc_seqs = Seqs(*cdc.changes);
  seqs.insert(seqs.end(), cdc_seqs.begin(), cdc_seqs.end());
  for (size_t i = 0; i + 1 < seqs.size(); ++i) {
    EXPECT_LT(CompareSequenceKeys(seqs[i], seqs[i + 1]), 0)
        << i << ": " << SequenceKeyToHex(seqs[i]) << " vs " << SequenceKeyToHex(seqs[i + 1]);
  }
  // Layout: phase 1, binlog file 14, position 59424 for the first CDC row.
  const std::string& first = cdc_seqs[0];
  ASSERT_EQ(first.size(), 42u);
  EXPECT_EQ(SequenceKeyToHex(first.substr(0, 17)),
            "01"
            "000000000000000e"
            "000000000000e820");
  EXPECT_EQ(Str(SourceField(*cdc.changes, "change_type"), 3), "UPDATE-INSERT");
  EXPECT_EQ(Str(SourceField(*cdc.changes, "log_file"), 0), "mysql-bin.000014");
  EXPECT_EQ(Str(SourceField(*cdc.changes, "sort_keys"), 0),
            R"([1715237813000,"mysql-bin.000014",59424])");
  // _cdc_ts = source_timestamp (2024-05-09 06:56:53 UTC).
  auto ts =
      std::static_pointer_cast<arrow::TimestampArray>(cdc.changes->GetColumnByName("_cdc_ts"));
  EXPECT_EQ(ts->Value(0), int64_t{1715237813000} * 1000);
}

TEST(DatastreamNormalize, OracleKeyedByRowId) {
  ASSERT_OK_AND_ASSIGN(auto events, DecodeFixture("oracle_avro_file_ut.avro"));
  ASSERT_OK_AND_ASSIGN(auto out, Normalize(*events, Ctx("o.avro", 0), {}));
  EXPECT_EQ(out.primary_keys, std::vector<std::string>{"_cdc_row_id"});
  ASSERT_EQ(out.changes->num_rows(), 23);
  auto row_id = out.changes->GetColumnByName("_cdc_row_id");
  ASSERT_NE(row_id, nullptr);
  EXPECT_EQ(Str(row_id, 0), "AAAEALAAEAAAACdAAB");
  EXPECT_EQ(Str(SourceField(*out.changes, "row_id"), 0), "AAAEALAAEAAAACdAAB");
  for (const auto& op : Ops(*out.changes)) EXPECT_EQ(op, "snapshot");
  // Plain-long timestamps are epoch millis.
  auto ts =
      std::static_pointer_cast<arrow::TimestampArray>(out.changes->GetColumnByName("_cdc_ts"));
  EXPECT_EQ(ts->Value(0), int64_t{1597101230365} * 1000);
  auto seqs = Seqs(*out.changes);
  for (size_t i = 0; i + 1 < seqs.size(); ++i)
    EXPECT_LT(CompareSequenceKeys(seqs[i], seqs[i + 1]), 0);
  // An override wins over the ROWID.
  NormalizeOptions opts;
  opts.primary_keys_override = {"location_id"};
  ASSERT_OK_AND_ASSIGN(auto keyed, Normalize(*events, Ctx("o.avro", 0), opts));
  EXPECT_EQ(keyed.primary_keys, std::vector<std::string>{"LOCATION_ID"});
  EXPECT_EQ(keyed.changes->GetColumnByName("_cdc_row_id"), nullptr);
}

TEST(DatastreamNormalize, PostgresLsnInSequence) {
  ASSERT_OK_AND_ASSIGN(auto events, DecodeFixture("postgres_bytearray.avro"));
  ASSERT_OK_AND_ASSIGN(auto out, Normalize(*events, Ctx("p.avro", 2), {}));
  EXPECT_TRUE(out.primary_keys.empty());  // primary_keys: [] -> keyless
  EXPECT_EQ(Ops(*out.changes), std::vector<std::string>{"insert"});
  EXPECT_EQ(Str(SourceField(*out.changes, "lsn"), 0), "16/CB002DB0");
  auto seq = Seqs(*out.changes)[0];
  ASSERT_EQ(seq.size(), 33u);
  EXPECT_EQ(SequenceKeyToHex(seq.substr(8, 8)), "00000016cb002db0");
}

TEST(DatastreamNormalize, MySqlNumbersAndPeople) {
  ASSERT_OK_AND_ASSIGN(auto numbers, DecodeFixture("mysql_numbers_test.avro"));
  ASSERT_OK_AND_ASSIGN(auto n, Normalize(*numbers, Ctx("n.avro", 0), {}));
  EXPECT_EQ(Ops(*n.changes), (std::vector<std::string>{"insert", "insert"}));
  auto s = Seqs(*n.changes);
  EXPECT_LT(CompareSequenceKeys(s[0], s[1]), 0);
  ASSERT_OK_AND_ASSIGN(auto people, DecodeFixture("mysql_people_test.avro"));
  ASSERT_OK_AND_ASSIGN(auto p, Normalize(*people, Ctx("p.avro", 0), {}));
  EXPECT_EQ(Ops(*p.changes), std::vector<std::string>{"snapshot"});
  EXPECT_TRUE(SourceField(*p.changes, "sort_keys")->IsNull(0));  // old file: no sort_keys
}

// A small MySQL batch shaped like the JSON reader's output.
std::shared_ptr<arrow::RecordBatch> SyntheticMySql(const std::string& rows_json) {
  auto ts = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  auto meta = arrow::struct_(
      {arrow::field("database", arrow::utf8()), arrow::field("table", arrow::utf8()),
       arrow::field("primary_keys", arrow::list(arrow::utf8())),
       arrow::field("log_file", arrow::utf8()), arrow::field("log_position", arrow::int64()),
       arrow::field("change_type", arrow::utf8()), arrow::field("is_deleted", arrow::boolean())});
  auto payload =
      arrow::struct_({arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
  auto type =
      arrow::struct_({arrow::field("uuid", arrow::utf8()), arrow::field("source_timestamp", ts),
                      arrow::field("read_method", arrow::utf8()),
                      arrow::field("sort_keys", arrow::list(arrow::utf8())),
                      arrow::field("source_metadata", meta), arrow::field("payload", payload)});
  auto array = arrow::json::ArrayFromJSONString(type, rows_json).ValueOrDie();
  return arrow::RecordBatch::FromStructArray(array).ValueOrDie();
}

std::string Row(const std::string& ct, const std::string& file, int64_t pos, const std::string& id,
                const std::string& method = "mysql-cdc-binlog") {
  return R"({"uuid": "u", "source_timestamp": 1000000, "read_method": ")" + method +
         R"(", "sort_keys": null, "source_metadata": {"database": "d", "table": "t",
         "primary_keys": ["id"], "log_file": )" +
         file + R"(, "log_position": )" + std::to_string(pos) + R"(, "change_type": ")" + ct +
         R"(", "is_deleted": )" + (ct.find("DELETE") != std::string::npos ? "true" : "false") +
         R"(}, "payload": {"id": )" + id + R"(, "name": "n"}})";
}

TEST(DatastreamNormalize, UpdateDeleteSortsBeforeUpdateInsert) {
  // Same position; the insert half arrives first in the file.
  auto batch = SyntheticMySql("[" + Row("UPDATE-INSERT", "\"mysql-bin.000002\"", 500, "1") + "," +
                              Row("UPDATE-DELETE", "\"mysql-bin.000002\"", 500, "1") + "," +
                              Row("INSERT", "\"mysql-bin.000001\"", 900, "2") + "]");
  ASSERT_OK_AND_ASSIGN(auto out, Normalize(*batch, Ctx("s.json", 0), {}));
  ASSERT_TRUE(out.rejected.empty());
  EXPECT_EQ(Ops(*out.changes), (std::vector<std::string>{"update", "delete", "insert"}));
  EXPECT_EQ(Str(SourceField(*out.changes, "change_type"), 1), "UPDATE-DELETE");
  auto s = Seqs(*out.changes);
  EXPECT_LT(CompareSequenceKeys(s[1], s[0]), 0);  // UPDATE-DELETE first
  EXPECT_LT(CompareSequenceKeys(s[2], s[1]), 0);  // file 1 < file 2, whatever the position
}

TEST(DatastreamNormalize, RejectsNullKeysAndUnorderableRows) {
  auto batch = SyntheticMySql("[" + Row("INSERT", "\"mysql-bin.000002\"", 1, "null") + "," +
                              Row("INSERT", "null", 2, "3") + "," +
                              Row("INSERT", "\"mysql-bin.abc\"", 3, "4") + "," +
                              Row("MERGE", "\"mysql-bin.000002\"", 4, "5") + "," +
                              Row("INSERT", "\"mysql-bin.000002\"", 5, "6") + "," +
                              Row("INSERT", "null", 0, "null", "mysql-backfill-fulldump") + "]");
  ASSERT_OK_AND_ASSIGN(auto out, Normalize(*batch, Ctx("s.json", 0), {}));
  ASSERT_EQ(out.rejected.size(), 5u);
  EXPECT_EQ(out.rejected[0].row, 0);
  EXPECT_EQ(out.rejected[0].reason, "primary key column 'id' is null");
  EXPECT_EQ(out.rejected[1].reason, "source_metadata.log_file is missing");
  EXPECT_EQ(out.rejected[2].reason,
            "source_metadata.log_file 'mysql-bin.abc' has no binlog file number");
  EXPECT_EQ(out.rejected[3].reason,
            "source_metadata.change_type 'MERGE' is not a known change type");
  EXPECT_EQ(out.rejected[4].row, 5);
  EXPECT_EQ(out.rejected[4].reason, "primary key column 'id' is null");
  ASSERT_EQ(out.changes->num_rows(), 1);
  EXPECT_EQ(Str(out.changes->GetColumnByName("_cdc_origin"), 0), "s.json#4");

  // A keyless table takes every orderable row, null "keys" included.
  NormalizeOptions none;
  std::string row = Row("INSERT", "\"mysql-bin.000002\"", 1, "null");
  row.replace(row.find(R"(["id"])"), 6, "[]");
  auto keyless = SyntheticMySql("[" + row + "]");
  ASSERT_OK_AND_ASSIGN(auto kl, Normalize(*keyless, Ctx("k.json", 0), none));
  EXPECT_TRUE(kl.primary_keys.empty());
  EXPECT_TRUE(kl.rejected.empty());
  EXPECT_EQ(Ops(*kl.changes), std::vector<std::string>{"insert"});
}

TEST(DatastreamNormalize, RejectsBadPostgresLsn) {
  auto ts = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  auto meta = arrow::struct_(
      {arrow::field("lsn", arrow::utf8()), arrow::field("change_type", arrow::utf8())});
  auto payload = arrow::struct_({arrow::field("v", arrow::int32())});
  auto type = arrow::struct_(
      {arrow::field("source_timestamp", ts), arrow::field("read_method", arrow::utf8()),
       arrow::field("source_metadata", meta), arrow::field("payload", payload)});
  auto array = arrow::json::ArrayFromJSONString(type, R"([
    {"source_timestamp": 5, "read_method": "postgresql-cdc", "source_metadata": {"lsn": "10/0", "change_type": "INSERT"}, "payload": {"v": 1}},
    {"source_timestamp": 5, "read_method": "postgresql-cdc", "source_metadata": {"lsn": "F/FFFFFFFF", "change_type": "INSERT"}, "payload": {"v": 2}},
    {"source_timestamp": 5, "read_method": "postgresql-cdc", "source_metadata": {"lsn": "nope", "change_type": "INSERT"}, "payload": {"v": 3}},
    {"source_timestamp": null, "read_method": "postgresql-cdc", "source_metadata": {"lsn": "1/0", "change_type": "INSERT"}, "payload": {"v": 4}}
  ])")
                   .ValueOrDie();
  auto batch = arrow::RecordBatch::FromStructArray(array).ValueOrDie();
  ASSERT_OK_AND_ASSIGN(auto out, Normalize(*batch, Ctx("pg.json", 0), {}));
  ASSERT_EQ(out.rejected.size(), 2u);
  EXPECT_EQ(out.rejected[0].reason, "source_metadata.lsn 'nope' is not a PostgreSQL LSN");
  EXPECT_EQ(out.rejected[1].reason, "source_timestamp is missing");
  auto s = Seqs(*out.changes);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_LT(CompareSequenceKeys(s[1], s[0]), 0);  // F/FFFFFFFF < 10/0
}

std::shared_ptr<arrow::RecordBatch> Batch(const arrow::FieldVector& meta_fields,
                                          const std::string& rows_json) {
  auto ts = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  auto payload = arrow::struct_({arrow::field("id", arrow::int64())});
  auto type = arrow::struct_({arrow::field("source_timestamp", ts),
                              arrow::field("read_method", arrow::utf8()),
                              arrow::field("sort_keys", arrow::list(arrow::utf8())),
                              arrow::field("source_metadata", arrow::struct_(meta_fields)),
                              arrow::field("payload", payload)});
  auto array = arrow::json::ArrayFromJSONString(type, rows_json).ValueOrDie();
  return arrow::RecordBatch::FromStructArray(array).ValueOrDie();
}

TEST(DatastreamNormalize, MySqlGtidFieldsAndSortKeysFallback) {
  auto batch = Batch(
      {arrow::field("binlog_file", arrow::utf8()), arrow::field("binlog_position", arrow::int64()),
       arrow::field("change_type", arrow::utf8())},
      R"([
    {"source_timestamp": 9, "read_method": "mysql-cdc-binlog", "sort_keys": null,
     "source_metadata": {"binlog_file": "binlog.000010", "binlog_position": 4, "change_type": "INSERT"}, "payload": {"id": 1}},
    {"source_timestamp": 1, "read_method": "mysql-cdc-binlog", "sort_keys": ["1", "binlog.000009", "77"],
     "source_metadata": {"binlog_file": null, "binlog_position": null, "change_type": "INSERT"}, "payload": {"id": 2}},
    {"source_timestamp": 1, "read_method": "mysql-cdc-binlog", "sort_keys": null,
     "source_metadata": {"binlog_file": "binlog.000009", "binlog_position": null, "change_type": "INSERT"}, "payload": {"id": 3}}
  ])");
  ASSERT_OK_AND_ASSIGN(auto out, Normalize(*batch, Ctx("g.json", 0), {}));
  ASSERT_EQ(out.rejected.size(), 1u);
  EXPECT_EQ(out.rejected[0].reason, "source_metadata.binlog_position is missing");
  auto s = Seqs(*out.changes);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(SequenceKeyToHex(s[0].substr(0, 17)),
            "01"
            "000000000000000a"
            "0000000000000004");
  EXPECT_EQ(SequenceKeyToHex(s[1].substr(0, 17)),
            "01"
            "0000000000000009"
            "000000000000004d");
  EXPECT_LT(CompareSequenceKeys(s[1], s[0]), 0);
}

TEST(DatastreamNormalize, OracleCdcAndSqlServerKeys) {
  auto oracle = Batch({arrow::field("scn", arrow::int64()), arrow::field("rs_id", arrow::utf8()),
                       arrow::field("ssn", arrow::int64()), arrow::field("row_id", arrow::utf8()),
                       arrow::field("change_type", arrow::utf8())},
                      R"([
    {"source_timestamp": 5, "read_method": "oracle-cdc-logminer", "sort_keys": null,
     "source_metadata": {"scn": 100, "rs_id": " 0x000010.00000002.0010 ", "ssn": 1, "row_id": "AAA", "change_type": "UPDATE-INSERT"}, "payload": {"id": 1}},
    {"source_timestamp": 5, "read_method": "oracle-cdc-logminer", "sort_keys": null,
     "source_metadata": {"scn": 100, "rs_id": " 0x00000f.00000009.0010 ", "ssn": 0, "row_id": "AAB", "change_type": "INSERT"}, "payload": {"id": 2}},
    {"source_timestamp": 5, "read_method": "oracle-backfill", "sort_keys": null,
     "source_metadata": {"scn": 999, "rs_id": null, "ssn": null, "row_id": "AAC", "change_type": "INSERT"}, "payload": {"id": 3}},
    {"source_timestamp": 5, "read_method": "oracle-cdc-logminer", "sort_keys": null,
     "source_metadata": {"scn": 100, "rs_id": "junk", "ssn": 0, "row_id": "AAD", "change_type": "INSERT"}, "payload": {"id": 4}},
    {"source_timestamp": 5, "read_method": "oracle-cdc-logminer", "sort_keys": null,
     "source_metadata": {"scn": 101, "rs_id": null, "ssn": null, "row_id": null, "change_type": "DELETE"}, "payload": {"id": 5}}
  ])");
  ASSERT_OK_AND_ASSIGN(auto o, Normalize(*oracle, Ctx("o.json", 0), {}));
  EXPECT_EQ(o.primary_keys, std::vector<std::string>{"_cdc_row_id"});
  ASSERT_EQ(o.rejected.size(), 2u);
  EXPECT_EQ(o.rejected[0].reason, "source_metadata.rs_id 'junk' is not a LogMiner RS_ID");
  EXPECT_EQ(o.rejected[1].reason, "source_metadata.row_id is null");
  EXPECT_EQ(Ops(*o.changes), (std::vector<std::string>{"update", "insert", "snapshot"}));
  auto s = Seqs(*o.changes);
  EXPECT_LT(CompareSequenceKeys(s[1], s[0]), 0);  // rs_id 0xf.. < 0x10.. as numbers
  EXPECT_LT(CompareSequenceKeys(s[2], s[1]), 0);  // backfill scn -1
  EXPECT_EQ(SequenceKeyToHex(s[2].substr(8, 8)), "7fffffffffffffff");

  auto mssql = Batch({arrow::field("lsn", arrow::utf8()),
                      arrow::field("replication_index", arrow::list(arrow::utf8())),
                      arrow::field("change_type", arrow::utf8())},
                     R"([
    {"source_timestamp": 5, "read_method": "sqlserver-cdc", "sort_keys": null,
     "source_metadata": {"lsn": "0000002c:00000b88:0003", "replication_index": ["id"], "change_type": "INSERT"}, "payload": {"id": 1}},
    {"source_timestamp": 5, "read_method": "sqlserver-cdc", "sort_keys": null,
     "source_metadata": {"lsn": "0000002c:00000b87:0004", "replication_index": ["id"], "change_type": "DELETE"}, "payload": {"id": 1}}
  ])");
  ASSERT_OK_AND_ASSIGN(auto m, Normalize(*mssql, Ctx("m.json", 0), {}));
  EXPECT_EQ(m.primary_keys, std::vector<std::string>{"id"});
  ASSERT_TRUE(m.rejected.empty());
  auto ms = Seqs(*m.changes);
  EXPECT_EQ(SequenceKeyToHex(ms[0].substr(8, 10)), "0000002c00000b880003");
  EXPECT_LT(CompareSequenceKeys(ms[1], ms[0]), 0);
}

}  // namespace
}  // namespace sluice::sources::datastream
