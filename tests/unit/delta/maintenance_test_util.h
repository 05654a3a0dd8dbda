// Helpers for the compaction / vacuum / maintenance tests: a temp table
// directory, small appends of (id, name[, p]) rows, deletes by id, and the
// table's rows read back in file order.
#pragma once

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/io/table_location.h"

namespace sluice::delta::testing {

inline std::filesystem::path TestDir(const std::string& prefix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir =
      std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(getpid()) + "_" +
                                                info->test_suite_name() + "_" + info->name());
  std::filesystem::remove_all(dir);
  return dir;
}

/// Rows id = first .. first+n-1, name = "n<id>", and p = partition if given.
inline std::shared_ptr<arrow::Table> Rows(int64_t first, int64_t n,
                                          std::optional<std::string> partition = {}) {
  arrow::Int64Builder id;
  arrow::StringBuilder name, p;
  for (int64_t i = first; i < first + n; ++i) {
    EXPECT_TRUE(id.Append(i).ok());
    EXPECT_TRUE(name.Append("n" + std::to_string(i)).ok());
    if (partition) {
      EXPECT_TRUE(p.Append(*partition).ok());
    }
  }
  std::vector<std::shared_ptr<arrow::Field>> fields = {arrow::field("id", arrow::int64()),
                                                       arrow::field("name", arrow::utf8())};
  std::vector<std::shared_ptr<arrow::Array>> cols = {id.Finish().ValueOrDie(),
                                                     name.Finish().ValueOrDie()};
  if (partition) {
    fields.push_back(arrow::field("p", arrow::utf8()));
    cols.push_back(p.Finish().ValueOrDie());
  }
  return arrow::Table::Make(arrow::schema(fields), cols);
}

/// Appends one file of rows (creating the table on the first call).
inline void Append(const io::TableLocation& loc, int64_t first, int64_t n,
                   std::optional<std::string> partition = {}, int64_t checkpoint_interval = 100) {
  TableWriteOptions options;
  if (partition) options.partition_columns = {"p"};
  options.commit.checkpoint_interval = checkpoint_interval;
  auto r = WriteTable(loc, Rows(first, n, partition), options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

/// Deletes the rows with these ids by deletion vectors.
inline void DeleteIds(const io::TableLocation& loc, const std::vector<int64_t>& ids) {
  auto snapshot = *Snapshot::Load(loc.log);
  std::map<std::string, DeletionBitmap> rows;
  for (const auto& f : snapshot->files()) {
    Add raw = f;
    raw.deletion_vector.reset();
    auto t = ReadDataFile(*snapshot, loc, raw).ValueOrDie();
    auto col = std::static_pointer_cast<arrow::Int64Array>(
        t->GetColumnByName("id")->chunk(0));  // one chunk: small files
    for (int64_t r = 0; r < col->length(); ++r) {
      if (std::find(ids.begin(), ids.end(), col->Value(r)) != ids.end()) {
        rows[f.path].Add(static_cast<uint64_t>(r));
      }
    }
  }
  auto r = DeleteRows(loc, snapshot, rows, DeleteMode::kDeletionVectors);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

/// The ids of the table's rows in file order (the order readers see).
inline std::vector<int64_t> Ids(const io::TableLocation& loc, std::optional<int64_t> version = {}) {
  auto snapshot = Snapshot::Load(loc.log, version);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  if (!snapshot.ok()) return {};
  auto table = ReadSnapshot(**snapshot, loc);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  if (!table.ok()) return {};
  std::vector<int64_t> out;
  for (const auto& chunk : (*table)->GetColumnByName("id")->chunks()) {
    auto a = std::static_pointer_cast<arrow::Int64Array>(chunk);
    for (int64_t i = 0; i < a->length(); ++i) out.push_back(a->Value(i));
  }
  return out;
}

inline std::vector<int64_t> Range(int64_t first, int64_t n) {
  std::vector<int64_t> out;
  for (int64_t i = first; i < first + n; ++i) out.push_back(i);
  return out;
}

/// Every regular file under `dir` whose name ends with `suffix`, recursively.
inline std::vector<std::filesystem::path> FilesUnder(const std::filesystem::path& dir,
                                                     const std::string& suffix) {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (e.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::delta::testing
