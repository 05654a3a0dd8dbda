#include "sluice/delta/deletion_vector.h"

#include <arrow/filesystem/localfs.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sluice/delta/z85.h"

namespace sluice::delta {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

class DeletionVectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice_dv_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    root_ = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<arrow::fs::LocalFileSystem> fs_ = std::make_shared<arrow::fs::LocalFileSystem>();
  fs::path dir_;
  std::string root_;
};

// "deletion_vector_<v4 uuid>.bin" (std::regex trips GCC 12 warnings under
// the sanitizers, hence by hand).
bool IsDvFileName(const std::string& name) {
  const std::string head = "deletion_vector_", tail = ".bin";
  if (name.size() != head.size() + 36 + tail.size() || name.rfind(head, 0) != 0 ||
      name.substr(name.size() - tail.size()) != tail) {
    return false;
  }
  const std::string uuid = name.substr(head.size(), 36);
  for (size_t i = 0; i < uuid.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? uuid[i] != '-'
             : !std::isxdigit(static_cast<unsigned char>(uuid[i])) ||
                   std::isupper(static_cast<unsigned char>(uuid[i]))) {
      return false;
    }
  }
  return uuid[14] == '4' && std::string("89ab").find(uuid[19]) != std::string::npos;
}

DeletionBitmap Sample(uint64_t seed) {
  DeletionBitmap b;
  for (uint64_t v = seed; v < 50000; v += 7 + seed) b.Add(v);
  b.AddRange(100000 + seed, 200000);
  return b;
}

TEST_F(DeletionVectorTest, WriterRoundTripsSeveralDvsInOneFile) {
  DeletionVectorFileWriter writer(fs_, root_);
  std::vector<DeletionBitmap> bitmaps = {Sample(1), DeletionBitmap(), Sample(3)};
  std::vector<DeletionVectorDescriptor> dvs;
  for (const auto& b : bitmaps) {
    auto dv = writer.Add(b);
    ASSERT_TRUE(dv.ok()) << dv.status();
    dvs.push_back(*dv);
  }
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_EQ(writer.num_deletion_vectors(), 3);

  EXPECT_TRUE(IsDvFileName(writer.relative_path())) << writer.relative_path();
  const std::string file = ReadAll(dir_ / writer.relative_path());
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(file[0], '\x01');

  int64_t expected_offset = 1;
  for (size_t i = 0; i < dvs.size(); ++i) {
    const auto& dv = dvs[i];
    EXPECT_EQ(dv.storage_type, 'u');
    EXPECT_EQ(dv.path_or_inline_dv.size(), 20u);
    EXPECT_EQ(dv.offset, expected_offset);
    EXPECT_EQ(dv.size_in_bytes, static_cast<int32_t>(bitmaps[i].Serialize().size()));
    EXPECT_EQ(dv.cardinality, static_cast<int64_t>(bitmaps[i].Cardinality()));
    expected_offset += 4 + dv.size_in_bytes + 4;
    EXPECT_EQ(*DeletionVectorRelativePath(dv), writer.relative_path());
    auto back = ReadDeletionVector(*fs_, root_, dv);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, bitmaps[i]);
  }
  EXPECT_EQ(static_cast<int64_t>(file.size()), expected_offset);
  // The root may also be given with a trailing slash.
  EXPECT_TRUE(ReadDeletionVector(*fs_, root_ + "/", dvs[0]).ok());
}

TEST_F(DeletionVectorTest, WriterWithRandomPrefix) {
  DeletionVectorFileWriter writer(fs_, root_, /*random_prefix_length=*/3);
  auto dv = writer.Add(Sample(2));
  ASSERT_TRUE(dv.ok()) << dv.status();
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_EQ(dv->path_or_inline_dv.size(), 23u);
  const std::string& rel = writer.relative_path();
  ASSERT_EQ(rel.find('/'), 3u) << rel;
  EXPECT_TRUE(std::all_of(rel.begin(), rel.begin() + 3,
                          [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
  EXPECT_TRUE(IsDvFileName(rel.substr(4))) << rel;
  EXPECT_EQ(*DeletionVectorRelativePath(*dv), writer.relative_path());
  EXPECT_TRUE(fs::exists(dir_ / writer.relative_path()));
  auto back = ReadDeletionVector(*fs_, root_, *dv);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Sample(2));
}

TEST_F(DeletionVectorTest, WriterWithoutDvsWritesNothing) {
  {
    DeletionVectorFileWriter writer(fs_, root_);
    ASSERT_TRUE(writer.Finish().ok());
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(DeletionVectorTest, ProtocolRelativePathExample) {
  DeletionVectorDescriptor dv;
  dv.storage_type = 'u';
  dv.path_or_inline_dv = "ab^-aqEH.-t@S}K{vb[*k^";
  dv.offset = 4;
  EXPECT_EQ(*DeletionVectorRelativePath(dv),
            "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
  EXPECT_EQ(*DeletionVectorAbsolutePath(*fs_, "/mytable", dv),
            "/mytable/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
  dv.path_or_inline_dv = "^-aqEH.-t@S}K{vb[*k^";
  EXPECT_EQ(*DeletionVectorRelativePath(dv),
            "deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
  dv.path_or_inline_dv = "short";
  EXPECT_TRUE(DeletionVectorRelativePath(dv).status().IsInvalid());
  dv.path_or_inline_dv = "ab^-aqEH.-t@S}K{vb[*k\"";
  EXPECT_TRUE(DeletionVectorRelativePath(dv).status().IsInvalid());
  dv.storage_type = 'i';
  EXPECT_TRUE(DeletionVectorRelativePath(dv).status().IsInvalid());
}

TEST_F(DeletionVectorTest, InlineRoundTripWithPadding) {
  for (const DeletionBitmap& b : {DeletionBitmap(), Sample(1), [] {
                                    DeletionBitmap s;
                                    s.Add(5);  // 34 bytes: needs 2 bytes of padding
                                    return s;
                                  }()}) {
    const DeletionVectorDescriptor dv = InlineDeletionVector(b);
    EXPECT_EQ(dv.storage_type, 'i');
    EXPECT_FALSE(dv.offset.has_value());
    EXPECT_EQ(dv.size_in_bytes, static_cast<int32_t>(b.Serialize().size()));
    EXPECT_EQ(dv.path_or_inline_dv.size(), (b.Serialize().size() + 3) / 4 * 5);
    auto back = ReadDeletionVector(*fs_, root_, dv);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, b);
  }
  DeletionVectorDescriptor dv = InlineDeletionVector(Sample(1));
  dv.size_in_bytes -= 8;  // inconsistent with the text length
  EXPECT_TRUE(ReadDeletionVector(*fs_, root_, dv).status().IsInvalid());
  dv = InlineDeletionVector(Sample(1));
  dv.cardinality += 1;
  EXPECT_TRUE(ReadDeletionVector(*fs_, root_, dv).status().IsInvalid());
}

TEST_F(DeletionVectorTest, ProtocolInlineExampleIsLegacyNativeFormat) {
  // PROTOCOL.md "JSON Example 3" predates the portable format (its magic is
  // 1681511376, big-endian); we report that clearly rather than misread it.
  DeletionVectorDescriptor dv;
  dv.storage_type = 'i';
  dv.path_or_inline_dv = "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L";
  dv.size_in_bytes = 40;
  dv.cardinality = 6;
  EXPECT_FALSE(ReadDeletionVector(*fs_, root_, dv).ok());
}

TEST_F(DeletionVectorTest, AbsolutePathAndFileUri) {
  DeletionVectorFileWriter writer(fs_, root_);
  auto dv = writer.Add(Sample(4));
  ASSERT_TRUE(dv.ok());
  ASSERT_TRUE(writer.Finish().ok());
  DeletionVectorDescriptor p = *dv;
  p.storage_type = 'p';
  p.path_or_inline_dv = (dir_ / writer.relative_path()).string();
  auto back = ReadDeletionVector(*fs_, "/elsewhere", p);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Sample(4));
  p.path_or_inline_dv = "file://" + (dir_ / writer.relative_path()).string();
  back = ReadDeletionVector(*fs_, "/elsewhere", p);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Sample(4));
}

TEST_F(DeletionVectorTest, CorruptFilesGiveErrorsNamingFileAndOffset) {
  DeletionVectorFileWriter writer(fs_, root_);
  auto first = writer.Add(Sample(1));
  auto dv = writer.Add(Sample(2));
  ASSERT_TRUE(first.ok() && dv.ok());
  ASSERT_TRUE(writer.Finish().ok());
  const fs::path path = dir_ / writer.relative_path();
  const std::string good = ReadAll(path);

  auto expect_error = [&](const DeletionVectorDescriptor& d,
                          const std::string& what) -> std::string {
    auto r = ReadDeletionVector(*fs_, root_, d);
    EXPECT_FALSE(r.ok()) << what;
    EXPECT_NE(r.status().message().find(writer.relative_path()), std::string::npos)
        << what << ": " << r.status();
    return r.status().message();
  };

  // Flipped data byte: CRC mismatch.
  std::string bad = good;
  bad[static_cast<size_t>(*dv->offset) + 4 + 20] ^= 0x10;
  WriteAll(path, bad);
  auto st = expect_error(*dv, "crc");
  EXPECT_NE(st.find("CRC"), std::string::npos) << st;
  EXPECT_NE(st.find("offset " + std::to_string(*dv->offset)), std::string::npos) << st;
  // Flipped checksum byte.
  bad = good;
  bad[bad.size() - 1] ^= 1;
  WriteAll(path, bad);
  expect_error(*dv, "crc bytes");
  // Wrong version byte.
  bad = good;
  bad[0] = 2;
  WriteAll(path, bad);
  expect_error(*dv, "version");
  // Truncated file.
  WriteAll(path, good.substr(0, good.size() - 3));
  expect_error(*dv, "truncated");
  WriteAll(path, good);
  ASSERT_TRUE(ReadDeletionVector(*fs_, root_, *dv).ok());

  DeletionVectorDescriptor d = *dv;
  d.size_in_bytes += 1;
  expect_error(d, "size mismatch");
  d = *dv;
  d.size_in_bytes = 0x7fffffff;  // must not allocate 2 GiB
  expect_error(d, "huge size");
  d = *dv;
  d.size_in_bytes = -5;
  expect_error(d, "negative size");
  d = *dv;
  d.offset = *dv->offset + 1;
  expect_error(d, "misaligned offset");
  d = *dv;
  d.offset = 0x7ffffff0;
  expect_error(d, "offset past end");
  d = *dv;
  d.cardinality -= 1;
  expect_error(d, "cardinality");

  fs::remove(path);
  EXPECT_FALSE(ReadDeletionVector(*fs_, root_, *dv).ok());
}

// ---- Bit-exact compatibility with DV files written by Spark (delta-spark
// 4.0.0), see tests/data/delta/spark_dv/generate.py.

TEST_F(DeletionVectorTest, MatchesSparkWrittenFiles) {
  const fs::path data = fs::path(SLUICE_TEST_DATA_DIR) / "delta" / "spark_dv";
  const auto cases = nlohmann::json::parse(ReadAll(data / "cases.json"));
  ASSERT_EQ(cases["cases"].size(), 3u);
  for (const auto& [name, c] : cases["cases"].items()) {
    SCOPED_TRACE(name);
    const auto& d = c["descriptor"];
    DeletionVectorDescriptor dv;
    dv.storage_type = d["storageType"].get<std::string>()[0];
    dv.path_or_inline_dv = d["pathOrInlineDv"].get<std::string>();
    dv.offset = d["offset"].get<int32_t>();
    dv.size_in_bytes = d["sizeInBytes"].get<int32_t>();
    dv.cardinality = d["cardinality"].get<int64_t>();
    EXPECT_EQ(*DeletionVectorRelativePath(dv), c["dv_file"].get<std::string>());

    DeletionBitmap expected;
    std::vector<uint64_t> expected_rows;
    for (const auto& r : c["deleted_ranges"]) {
      for (uint64_t v = r[0].get<uint64_t>(); v < r[1].get<uint64_t>(); ++v) {
        expected.Add(v);
        expected_rows.push_back(v);
      }
    }
    const std::string table = (data / name).string();
    auto read = ReadDeletionVector(*fs_, table, dv);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->ToSortedVector(), expected_rows);

    // Our serialization of the same row set is byte-identical to Spark's...
    const std::string spark_file = ReadAll(data / name / c["dv_file"].get<std::string>());
    const std::string spark_bitmap = spark_file.substr(5, static_cast<size_t>(dv.size_in_bytes));
    EXPECT_EQ(expected.Serialize(), spark_bitmap);
    EXPECT_EQ(read->Serialize(), spark_bitmap);

    // ...and so is a whole DV file written by our writer.
    DeletionVectorFileWriter writer(fs_, root_);
    auto ours = writer.Add(expected);
    ASSERT_TRUE(ours.ok()) << ours.status();
    ASSERT_TRUE(writer.Finish().ok());
    EXPECT_EQ(ours->offset, dv.offset);
    EXPECT_EQ(ours->size_in_bytes, dv.size_in_bytes);
    EXPECT_EQ(ours->cardinality, dv.cardinality);
    EXPECT_EQ(ReadAll(dir_ / writer.relative_path()), spark_file);
  }
}

}  // namespace
}  // namespace sluice::delta
