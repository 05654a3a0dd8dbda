// OcfReader on damaged input: every failure is an error naming the file and
// an offset, never a crash; bad blocks can be skipped.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <random>

#include "avro_test_util.h"
#include "ocf_test_file.h"
#include "sluice/formats/avro/ocf_reader.h"

namespace sluice::formats::avro {
namespace {

using testing::DecodeAll;
using testing::kSync;
using testing::Long;
using testing::MakeOcf;
using testing::ReadFile;
using testing::Str;
using testing::ToBuffer;

const char* kSchema =
    R"({"type":"record","name":"r","fields":[{"name":"id","type":"long"},{"name":"s","type":"string"}]})";

std::string Row(int64_t id, const std::string& s) { return Long(id) + Str(s); }

std::unique_ptr<OcfReader> Open(std::string bytes, OcfOptions opts = {}) {
  auto r = OcfReader::Open(ToBuffer(std::move(bytes)), "test.avro", opts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : nullptr;
}

TEST(AvroCorrupt, GoodHandWrittenFile) {
  auto r = Open(MakeOcf(kSchema, "null", {{2, Row(1, "a") + Row(2, "bb")}, {1, Row(3, "c")}}));
  ASSERT_OK_AND_ASSIGN(auto rows, DecodeAll(*r));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2]["s"], "c");
}

TEST(AvroCorrupt, BadMagicAndHeader) {
  EXPECT_FALSE(OcfReader::Open(ToBuffer("Obj"), "x", {}).ok());
  EXPECT_FALSE(OcfReader::Open(ToBuffer("PAR1xxxxxxxxxxxxxxxxxxxxx"), "x", {}).ok());
  std::string no_sync = MakeOcf(kSchema, "null", {}).substr(0, 60);
  auto st = OcfReader::Open(ToBuffer(no_sync), "x.avro", {}).status();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("x.avro"), std::string::npos) << st.ToString();
}

TEST(AvroCorrupt, UnsupportedCodecNamesIt) {
  auto st = OcfReader::Open(ToBuffer(MakeOcf(kSchema, "lzma", {})), "f.avro", {}).status();
  EXPECT_TRUE(st.IsNotImplemented()) << st.ToString();
  EXPECT_NE(st.message().find("lzma"), std::string::npos);
}

TEST(AvroCorrupt, BadSyncIsReportedAndSkippable) {
  std::string file = MakeOcf(
      kSchema, "null", {{1, Row(1, "a")}, {1, Row(2, "b")}, {1, Row(3, "c")}, {1, Row(4, "d")}});
  // Damage the sync marker after the second block. Its framing can no longer
  // be trusted, so the reader resynchronises on the next intact marker: the
  // blocks on both sides of the damaged marker are lost.
  size_t first_sync_end = file.find(kSync) + 16;
  size_t second = file.find(kSync, first_sync_end);
  second = file.find(kSync, second + 16);
  file[second] = 'X';
  auto r = Open(file);
  ASSERT_OK_AND_ASSIGN(auto b1, r->Next());
  ASSERT_EQ(b1->num_rows(), 1);  // the block before the damage
  auto err = r->Next();
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("test.avro"), std::string::npos);
  EXPECT_NE(err.status().message().find("sync marker mismatch"), std::string::npos);
  EXPECT_FALSE(r->Next().ok());  // sticky until skipped
  ASSERT_OK_AND_ASSIGN(BadBlock bad, r->SkipToNextSync());
  EXPECT_GT(bad.length, 0);
  EXPECT_EQ(bad.raw.size(), static_cast<size_t>(bad.length));
  ASSERT_OK_AND_ASSIGN(auto rest, DecodeAll(*r));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0]["id"], 4);
}

TEST(AvroCorrupt, SkipPolicyKeepsGoodBlocksAndReportsBadOnes) {
  std::string bad_row = Long(5) + Long(1000);  // string length past the block
  std::string file =
      MakeOcf(kSchema, "null", {{1, Row(1, "a")}, {1, bad_row}, {2, Row(3, "c") + Row(4, "d")}});
  OcfOptions opts;
  opts.on_bad_block = BadBlockPolicy::kSkip;
  auto r = Open(file, opts);
  ASSERT_OK_AND_ASSIGN(auto rows, DecodeAll(*r));
  ASSERT_EQ(rows.size(), 3u);
  auto bad = r->TakeBadBlocks();
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].reason.find("byte offset"), std::string::npos) << bad[0].reason;
  EXPECT_NE(bad[0].reason.find("exceeds"), std::string::npos) << bad[0].reason;
}

TEST(AvroCorrupt, PartiallyDecodedBlockIsDroppedWhole) {
  // Second record of the block is bad: the first one must not leak out.
  std::string file = MakeOcf(kSchema, "null", {{2, Row(1, "a") + Long(2) + Long(-7)}});
  OcfOptions opts;
  opts.on_bad_block = BadBlockPolicy::kSkip;
  auto r = Open(file, opts);
  ASSERT_OK_AND_ASSIGN(auto rows, DecodeAll(*r));
  EXPECT_EQ(rows.size(), 0u);
  EXPECT_EQ(r->TakeBadBlocks().size(), 1u);
}

TEST(AvroCorrupt, FailureInsideNestedValuesLeavesValidArrays) {
  // list<struct<a: long, b: string>> and map<string, struct<...>>: the last
  // item's second field is broken, after its struct (or map key) was appended.
  const char* schema = R"({"type":"record","name":"r","fields":[
    {"name":"l","type":{"type":"array","items":{"type":"record","name":"i","fields":[
      {"name":"a","type":"long"},{"name":"b","type":"string"}]}}},
    {"name":"m","type":{"type":"map","values":"i"}}]})";
  std::string good =
      Long(1) + Long(7) + Str("x") + Long(0) + Long(1) + Str("k") + Long(8) + Str("y") + Long(0);
  std::string bad_list = Long(2) + Long(7) + Str("x") + Long(9) + Long(-3);
  std::string bad_map = Long(0) + Long(1) + Str("k") + Long(8) + Long(99);
  for (const auto& bad : {bad_list, bad_map}) {
    OcfOptions opts;
    opts.on_bad_block = BadBlockPolicy::kSkip;
    auto r = Open(MakeOcf(schema, "null", {{1, good}, {2, good + bad}, {1, good}}), opts);
    ASSERT_OK_AND_ASSIGN(auto rows, DecodeAll(*r));  // DecodeAll runs ValidateFull
    EXPECT_EQ(rows.size(), 2u);
    EXPECT_EQ(r->TakeBadBlocks().size(), 1u);
  }
}

TEST(AvroCorrupt, AbsurdCountsAndLengths) {
  const std::vector<std::string> bodies = {
      Long(1) + Long(int64_t{1} << 60),  // huge string length
      Long(1) + std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),  // overlong varint
  };
  for (const auto& body : bodies) {
    auto r = Open(MakeOcf(kSchema, "null", {{1, body}}));
    EXPECT_FALSE(DecodeAll(*r).ok());
  }
  // A block claiming 2^62 records of a schema whose records take no bytes.
  auto r = Open(
      MakeOcf(R"({"type":"record","name":"e","fields":[]})", "null", {{int64_t{1} << 62, ""}}));
  EXPECT_FALSE(DecodeAll(*r).ok());
  // An array of nulls claiming 2^40 items.
  r = Open(MakeOcf(R"({"type":"array","items":"null"})", "null",
                   {{1, Long(int64_t{1} << 40) + Long(0)}}));
  EXPECT_FALSE(DecodeAll(*r).ok());
  // Block size past the end of file.
  std::string file = MakeOcf(kSchema, "null", {{1, Row(1, "a")}});
  file.resize(file.size() - 20);
  r = Open(file);
  auto st = DecodeAll(*r).status();
  EXPECT_NE(st.message().find("offset"), std::string::npos) << st.ToString();
}

TEST(AvroCorrupt, CodecDamage) {
  for (const char* codec : {"deflate", "snappy", "zstandard"}) {
    SCOPED_TRACE(codec);
    auto r = Open(MakeOcf(kSchema, codec, {{1, "garbage that is not compressed"}}));
    auto st = DecodeAll(*r).status();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find(codec), std::string::npos) << st.ToString();
  }
}

// Every prefix and many random byte flips of every fixture: errors are fine,
// crashes and invalid arrays are not.
TEST(AvroCorrupt, TruncationsAndMutationsNeverCrash) {
  std::mt19937 rng(7);
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(SLUICE_FIXTURES_DIR) + "/datastream/avro")) {
    std::string bytes = ReadFile(e.path().string());
    for (size_t len = 0; len < bytes.size(); len += 1 + len / 64) {
      auto r = OcfReader::Open(ToBuffer(bytes.substr(0, len)), "t", {});
      if (r.ok()) (void)DecodeAll(**r);
    }
    for (int i = 0; i < 300; ++i) {
      std::string m = bytes;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k)
        m[rng() % m.size()] = static_cast<char>(rng());
      OcfOptions opts;
      opts.on_bad_block = BadBlockPolicy::kSkip;
      auto r = OcfReader::Open(ToBuffer(m), "m", opts);
      if (!r.ok()) continue;
      auto rows = DecodeAll(**r);  // ValidateFull inside
      if (!rows.ok()) {
        EXPECT_EQ(rows.status().message().find("VALIDATION"), std::string::npos)
            << rows.status().ToString();
      }
    }
  }
}

}  // namespace
}  // namespace sluice::formats::avro
