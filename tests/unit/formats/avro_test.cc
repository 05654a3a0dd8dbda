// OcfReader against fastavro: the real Datastream fixtures, then a few
// hundred random schemas (gen_random_avro.py) over every codec.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "avro_test_util.h"
#include "sluice/formats/avro/ocf_reader.h"

namespace sluice::formats::avro {
namespace {

using testing::ExpectMatches;
using testing::Python;
using testing::ReadFile;
using testing::RunCommand;
using testing::ScriptDir;
using testing::TempDir;
using testing::ToBuffer;

std::string FixtureDir() { return std::string(SLUICE_FIXTURES_DIR) + "/datastream/avro"; }

std::vector<std::string> Fixtures() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(FixtureDir())) {
    if (e.path().extension() == ".avro") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AvroFixtures, DecodeExactlyAsFastavro) {
  TempDir tmp;
  auto files = Fixtures();
  ASSERT_EQ(files.size(), 6u);
  for (const auto& f : files) {
    std::string expected =
        (tmp.path / (std::filesystem::path(f).stem().string() + ".jsonl")).string();
    ASSERT_EQ(RunCommand(Python() + " " + ScriptDir() + "/avro_expected.py '" + f + "' '" +
                         expected + "'"),
              0);
    ExpectMatches(f, expected);
    // Tiny batches exercise splitting blocks across batches.
    OcfOptions small;
    small.batch_size = 1;
    ExpectMatches(f, expected, small);
  }
}

TEST(AvroFixtures, DatastreamTypesMapAsDocumented) {
  auto path = FixtureDir() + "/mysql_numbers_test.avro";
  ASSERT_OK_AND_ASSIGN(auto reader, OcfReader::Open(ToBuffer(ReadFile(path)), path));
  auto schema = reader->schema();
  EXPECT_TRUE(schema->GetFieldByName("read_timestamp")
                  ->type()
                  ->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  auto payload =
      std::static_pointer_cast<arrow::StructType>(schema->GetFieldByName("payload")->type());
  EXPECT_TRUE(payload->GetFieldByName("decimaler")->type()->Equals(arrow::decimal128(10, 2)));
  EXPECT_TRUE(payload->GetFieldByName("bigu")->type()->Equals(arrow::decimal128(38, 0)));
  EXPECT_TRUE(payload->GetFieldByName("id")->nullable());
  EXPECT_FALSE(schema->GetFieldByName("uuid")->nullable());
  // sort_keys: array of [string, long] -> list<struct<string, long>>.
  EXPECT_EQ(schema->GetFieldByName("sort_keys")->type()->ToString(),
            "list<item: struct<string: string, long: int64> not null>");

  OcfOptions as_string;
  as_string.arrow.number = NumberMapping::kString;
  ASSERT_OK_AND_ASSIGN(auto r2, OcfReader::Open(ToBuffer(ReadFile(path)), path, as_string));
  payload =
      std::static_pointer_cast<arrow::StructType>(r2->schema()->GetFieldByName("payload")->type());
  EXPECT_TRUE(payload->GetFieldByName("bigu")->type()->Equals(arrow::utf8()));
  ASSERT_OK_AND_ASSIGN(auto batch, r2->Next());
  ASSERT_NE(batch, nullptr);
}

TEST(AvroFixtures, RecursivePostgresArraysBecomeNestedStructsThenJson) {
  auto path = FixtureDir() + "/postgres_bytearray.avro";
  ASSERT_OK_AND_ASSIGN(auto reader, OcfReader::Open(ToBuffer(ReadFile(path)), path));
  auto payload = std::static_pointer_cast<arrow::StructType>(
      reader->schema()->GetFieldByName("payload")->type());
  EXPECT_EQ(payload->GetFieldByName("integer_array_field")->type()->ToString(),
            "struct<nestedArray: list<item: struct<nestedArray: list<item: string not null>, "
            "elementValue: int32> not null>, elementValue: int32>");
}

TEST(AvroRandom, DifferentialAgainstFastavro) {
  TempDir tmp;
  const int kFiles = 2000;  // 2000 random schemas, ~25K records
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(RunCommand(Python() + " " + ScriptDir() + "/gen_random_avro.py '" + tmp.path.string() +
                       "' " + std::to_string(kFiles) + " 20240601"),
            0);
  int files = 0;
  for (int i = 0; i < kFiles; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "rand_%04d", i);
    auto base = tmp.path / name;
    if (!std::filesystem::exists(base.string() + ".avro")) continue;  // generator skipped it
    OcfOptions opts;
    opts.batch_size = 1 + (i % 17);
    ExpectMatches(base.string() + ".avro", base.string() + ".jsonl", opts);
    if (::testing::Test::HasFatalFailure()) return;
    ++files;
  }
  EXPECT_GT(files, kFiles * 9 / 10);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << files << " random files in " << secs << " s\n";
}

}  // namespace
}  // namespace sluice::formats::avro
