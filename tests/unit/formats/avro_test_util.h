// Shared by the Avro tests: file and process helpers, and decode-and-compare
// against the JSON lines written by avro_expected.py / gen_random_avro.py.
#pragma once

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "arrow_json.h"
#include "sluice/formats/avro/ocf_reader.h"

#ifndef ASSERT_OK_AND_ASSIGN
#define SLUICE_CONCAT_(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).ValueOrDie();
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(SLUICE_CONCAT(_res_, __LINE__), lhs, expr)
#endif

namespace sluice::formats::testing {

inline std::string SourceRoot() {
  return std::filesystem::canonical(std::string(SLUICE_TEST_DATA_DIR) + "/../..").string();
}
inline std::string Python() { return SourceRoot() + "/.venv/bin/python"; }
inline std::string ScriptDir() { return SourceRoot() + "/tests/unit/formats"; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::shared_ptr<arrow::Buffer> ToBuffer(std::string bytes) {
  return arrow::Buffer::FromString(std::move(bytes));
}

/// A fresh directory under the system temp dir, removed on destruction.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("sluice_avro_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline int RunCommand(const std::string& cmd) { return std::system(cmd.c_str()); }

/// Every row of every batch as JSON objects keyed by column name.
inline Result<std::vector<nlohmann::json>> DecodeAll(avro::OcfReader& reader) {
  std::vector<nlohmann::json> rows;
  for (;;) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader.Next());
    if (!batch) break;
    Status valid = batch->ValidateFull();
    if (!valid.ok()) return Status::Invalid("VALIDATION: ", valid.message());
    for (int64_t r = 0; r < batch->num_rows(); ++r) {
      nlohmann::json row = nlohmann::json::object();
      for (int c = 0; c < batch->num_columns(); ++c) {
        row[batch->schema()->field(c)->name()] = ValueToJson(*batch->column(c), r);
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

/// Decodes `avro_path` and compares with `jsonl_path`, column by column.
inline void ExpectMatches(const std::string& avro_path, const std::string& jsonl_path,
                          avro::OcfOptions opts = {}) {
  SCOPED_TRACE(avro_path);
  auto reader = avro::OcfReader::Open(ToBuffer(ReadFile(avro_path)), avro_path, opts);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto rows = DecodeAll(**reader);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::ifstream in(jsonl_path);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(n, rows->size()) << "fewer rows than fastavro";
    auto want = nlohmann::json::parse(line);
    for (const auto& [col, value] : want.items()) {
      ASSERT_TRUE((*rows)[n].contains(col)) << "row " << n << ": no column " << col;
      std::string d = Diff(value, (*rows)[n][col], col);
      ASSERT_EQ(d, "") << "row " << n << " (schema " << (*reader)->writer_schema_json() << ")";
    }
    ASSERT_EQ(want.size(), (*rows)[n].size()) << "row " << n << ": column count";
    ++n;
  }
  EXPECT_EQ(n, rows->size()) << "more rows than fastavro";
}

}  // namespace sluice::formats::testing
