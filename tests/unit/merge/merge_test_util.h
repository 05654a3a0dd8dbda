// Helpers for the merge tests: change batches in the canonical schema built
// from a list of events, a temp table directory, and the merged table read
// back as sorted rows.
#pragma once

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/io/table_location.h"

namespace sluice::merge::testing {

struct Event {
  std::string op;   // snapshot / insert / update / delete / truncate
  std::string seq;  // memcmp-ordered
  std::optional<int64_t> id;
  std::optional<std::string> name;
  std::optional<int64_t> amount;
};

/// A row of the merged table: (id, name, amount, seq).
using Row = std::tuple<int64_t, std::optional<std::string>, std::optional<int64_t>, std::string>;

inline std::shared_ptr<arrow::RecordBatch> ChangeBatch(const std::vector<Event>& events) {
  static const char* kOps[] = {"snapshot", "insert", "update", "delete", "truncate"};
  arrow::Int64Builder id, amount, src;
  arrow::StringBuilder name, origin, dict;
  arrow::Int32Builder op;
  arrow::BinaryBuilder seq;
  auto ts_type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  arrow::TimestampBuilder ts(ts_type, arrow::default_memory_pool()),
      ingested(ts_type, arrow::default_memory_pool());
  for (auto n : kOps) EXPECT_TRUE(dict.Append(n).ok());
  int64_t i = 0;
  for (const auto& e : events) {
    int32_t code = 0;
    while (code < 5 && e.op != kOps[code]) ++code;
    EXPECT_LT(code, 5) << e.op;
    EXPECT_TRUE((e.id ? id.Append(*e.id) : id.AppendNull()).ok());
    EXPECT_TRUE((e.name ? name.Append(*e.name) : name.AppendNull()).ok());
    EXPECT_TRUE((e.amount ? amount.Append(*e.amount) : amount.AppendNull()).ok());
    EXPECT_TRUE(op.Append(code).ok());
    EXPECT_TRUE(seq.Append(e.seq).ok());
    EXPECT_TRUE(ts.Append(1'700'000'000'000'000 + i).ok());
    EXPECT_TRUE(ingested.Append(1'700'000'100'000'000).ok());
    EXPECT_TRUE(origin.Append("file.avro:" + std::to_string(i)).ok());
    EXPECT_TRUE(src.Append(i).ok());
    ++i;
  }
  auto dict_type = arrow::dictionary(arrow::int32(), arrow::utf8());
  auto dict_array = dict.Finish().ValueOrDie();
  auto op_array =
      arrow::DictionaryArray::FromArrays(dict_type, op.Finish().ValueOrDie(), dict_array)
          .ValueOrDie();
  auto src_struct = arrow::StructArray::Make({src.Finish().ValueOrDie()},
                                             {arrow::field("log_position", arrow::int64())})
                        .ValueOrDie();
  auto schema = arrow::schema({
      arrow::field("id", arrow::int64()),
      arrow::field("name", arrow::utf8()),
      arrow::field("amount", arrow::int64()),
      arrow::field("_cdc_op", dict_type, false),
      arrow::field("_cdc_seq", arrow::binary(), false),
      arrow::field("_cdc_ts", ts_type),
      arrow::field("_cdc_ingested_at", ts_type, false),
      arrow::field("_cdc_origin", arrow::utf8(), false),
      arrow::field("_cdc_source", src_struct->type()),
  });
  return arrow::RecordBatch::Make(
      schema, static_cast<int64_t>(events.size()),
      {id.Finish().ValueOrDie(), name.Finish().ValueOrDie(), amount.Finish().ValueOrDie(), op_array,
       seq.Finish().ValueOrDie(), ts.Finish().ValueOrDie(), ingested.Finish().ValueOrDie(),
       origin.Finish().ValueOrDie(), src_struct});
}

/// A fresh directory under the temp dir named after the running test.
inline std::filesystem::path TestDir(const std::string& prefix) {
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "_" + std::to_string(getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  return dir;
}

/// The rows of a merged table with the (id, name, amount, _cdc_seq) columns,
/// sorted by id.
inline std::vector<Row> ReadRows(const io::TableLocation& location) {
  auto snapshot = delta::Snapshot::Load(location.log);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  if (!snapshot.ok()) return {};
  auto table = delta::ReadSnapshot(**snapshot, location);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  auto batch = (*table)->CombineChunksToBatch().ValueOrDie();
  auto id = std::static_pointer_cast<arrow::Int64Array>(batch->GetColumnByName("id"));
  auto name = std::static_pointer_cast<arrow::StringArray>(batch->GetColumnByName("name"));
  auto amount = std::static_pointer_cast<arrow::Int64Array>(batch->GetColumnByName("amount"));
  auto seq = std::static_pointer_cast<arrow::BinaryArray>(batch->GetColumnByName("_cdc_seq"));
  std::vector<Row> rows;
  for (int64_t i = 0; i < batch->num_rows(); ++i) {
    rows.emplace_back(id->Value(i),
                      name->IsNull(i) ? std::nullopt : std::optional(std::string(name->GetView(i))),
                      amount->IsNull(i) ? std::nullopt : std::optional(amount->Value(i)),
                      std::string(seq->GetView(i)));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace sluice::merge::testing
