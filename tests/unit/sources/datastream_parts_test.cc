// DecodeFilePart: the parts of a Datastream file, each decoded alone from
// ranged reads, give exactly the rows and dead letters of the whole file, for
// any part size; and a part reads about its own bytes, never the whole file.
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <snappy.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "../formats/ocf_test_file.h"
#include "assert_result.h"
#include "sluice/sources/datastream/file_decoder.h"

namespace sluice::sources::datastream {
namespace {

using formats::testing::Block;
using formats::testing::kSync;
using formats::testing::Long;
using formats::testing::MakeOcf;
using formats::testing::Str;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Fixture(const std::string& rel) {
  return std::string(SLUICE_FIXTURES_DIR) + "/datastream/" + rel;
}

// A file in memory that allows ranged reads only and counts their bytes.
class CountingFile : public arrow::io::RandomAccessFile {
 public:
  explicit CountingFile(std::string bytes)
      : reader_(std::make_shared<arrow::io::BufferReader>(
            arrow::Buffer::FromString(std::move(bytes)))) {}

  Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(auto bytes, reader_->ReadAt(position, nbytes));
    bytes_read_ += bytes->size();
    return bytes;
  }
  Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(int64_t n, reader_->ReadAt(position, nbytes, out));
    bytes_read_ += n;
    return n;
  }
  Result<int64_t> GetSize() override { return reader_->GetSize(); }
  Result<int64_t> Read(int64_t, void*) override { return Status::NotImplemented("not ranged"); }
  Result<std::shared_ptr<arrow::Buffer>> Read(int64_t) override {
    return Status::NotImplemented("not ranged");
  }
  Status Seek(int64_t) override { return Status::NotImplemented("not ranged"); }
  Result<int64_t> Tell() const override { return reader_->Tell(); }
  Status Close() override { return reader_->Close(); }
  bool closed() const override { return reader_->closed(); }

  int64_t TakeBytesRead() { return std::exchange(bytes_read_, 0); }

 private:
  std::shared_ptr<arrow::io::BufferReader> reader_;
  int64_t bytes_read_ = 0;
};

// All rows (one table, chunked as they came) and dead letters of a file.
struct Decoded {
  std::shared_ptr<arrow::Table> rows;  // null: no rows
  std::vector<BadInput> bad;
  int64_t most_bytes_read = 0;  // by one part
};

void Append(DecodedFile file, std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
            Decoded& out) {
  for (auto& b : file.batches) batches.push_back(std::move(b));
  for (auto& b : file.bad) out.bad.push_back(std::move(b));
}

Result<Decoded> Finish(std::vector<std::shared_ptr<arrow::RecordBatch>> batches, Decoded out) {
  if (!batches.empty()) {
    ARROW_ASSIGN_OR_RAISE(out.rows, arrow::Table::FromRecordBatches(batches));
  }
  return out;
}

Result<Decoded> DecodeWhole(const std::string& bytes, const DecodeOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto file, DecodeFile(arrow::Buffer::FromString(bytes), "f", options));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  Decoded out;
  Append(std::move(file), batches, out);
  return Finish(std::move(batches), std::move(out));
}

Result<Decoded> DecodeInParts(const std::string& bytes, int64_t part_bytes,
                              const DecodeOptions& options) {
  CountingFile file(bytes);
  const int64_t size = static_cast<int64_t>(bytes.size());
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  Decoded out;
  for (int64_t begin = 0; begin < size; begin += part_bytes) {
    ARROW_ASSIGN_OR_RAISE(
        auto part,
        DecodeFilePart(file, size, begin, std::min(begin + part_bytes, size), "f", options));
    out.most_bytes_read = std::max(out.most_bytes_read, file.TakeBytesRead());
    Append(std::move(part), batches, out);
  }
  return Finish(std::move(batches), std::move(out));
}

enum class Reasons { kSame, kMayDiffer };

// Parts of every size in `part_sizes` decode to the whole file's rows and
// dead letters (offsets, bytes, and reasons unless told).
void ExpectPartsDecodeAsWhole(const std::string& bytes, std::vector<int64_t> part_sizes,
                              const DecodeOptions& options, Reasons reasons = Reasons::kSame) {
  ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(bytes, options));
  for (int64_t part_bytes : part_sizes) {
    SCOPED_TRACE("part size " + std::to_string(part_bytes));
    ASSERT_OK_AND_ASSIGN(Decoded parts, DecodeInParts(bytes, part_bytes, options));
    ASSERT_EQ(whole.rows == nullptr, parts.rows == nullptr);
    if (whole.rows) {
      ASSERT_EQ(whole.rows->num_rows(), parts.rows->num_rows());
      ASSERT_TRUE(whole.rows->schema()->Equals(*parts.rows->schema()))
          << whole.rows->schema()->ToString() << "\nvs\n"
          << parts.rows->schema()->ToString();
      EXPECT_TRUE(whole.rows->Equals(*parts.rows));
    }
    ASSERT_EQ(whole.bad.size(), parts.bad.size());
    for (size_t i = 0; i < whole.bad.size(); ++i) {
      EXPECT_EQ(whole.bad[i].offset, parts.bad[i].offset) << i;
      EXPECT_EQ(whole.bad[i].raw, parts.bad[i].raw) << i;
      if (reasons == Reasons::kSame) {
        EXPECT_EQ(whole.bad[i].reason, parts.bad[i].reason) << i;
      }
    }
  }
}

// Where the blocks (after the header) of a MakeOcf file start.
std::vector<int64_t> BlockStarts(const std::string& file) {
  std::vector<int64_t> starts;
  for (size_t at = file.find(kSync); at != std::string::npos; at = file.find(kSync, at + 1)) {
    if (at + kSync.size() < file.size()) starts.push_back(static_cast<int64_t>(at + kSync.size()));
  }
  return starts;
}

// Part sizes that cut a file anywhere: tiny, odd, around a block start,
// larger than the file.
std::vector<int64_t> PartSizes(const std::string& file, int64_t block_start) {
  const int64_t size = static_cast<int64_t>(file.size());
  return {1, 7, 100, 4096, block_start - 1, block_start, block_start + 1, size, size + 1};
}

DecodeOptions Avro() { return DecodeOptions{}; }
DecodeOptions Json() {
  DecodeOptions o;
  o.format = FileFormat::kJson;
  return o;
}

// ---- Avro ----

const char* kSchema = R"({"type":"record","name":"r","fields":[
    {"name":"id","type":"long"},{"name":"s","type":"string"},
    {"name":"n","type":["null","long"]}]})";

std::string Row(int64_t id) {
  std::string s(static_cast<size_t>(id % 37), static_cast<char>('a' + id % 26));
  return Long(id) + Str(s) + (id % 3 == 0 ? Long(0) : Long(1) + Long(id * 1000));
}

// `count` blocks of 1 to 4 rows; `bad_count` (if >= 0) is a block whose
// header declares one row more than it holds.
std::vector<Block> Blocks(int count, int bad_count = -1) {
  std::vector<Block> blocks;
  int64_t id = 0;
  for (int b = 0; b < count; ++b) {
    Block block{1 + b % 4, ""};
    for (int64_t r = 0; r < block.count; ++r) block.data += Row(id++);
    if (b == bad_count) ++block.count;
    blocks.push_back(std::move(block));
  }
  return blocks;
}

TEST(DatastreamParts, AvroFixturesDecodeAsWhole) {
  for (const auto& entry : std::filesystem::directory_iterator(Fixture("avro"))) {
    SCOPED_TRACE(entry.path().string());
    std::string bytes = Slurp(entry.path().string());
    ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(bytes, Avro()));
    ASSERT_TRUE(whole.rows);
    ASSERT_TRUE(whole.bad.empty());
    // The blocks are found from the file's own sync marker (its last 16
    // header bytes; Datastream files hold one or a few blocks).
    std::vector<int64_t> sizes = {1, 7, 100, 4096, static_cast<int64_t>(bytes.size()) + 1};
    ExpectPartsDecodeAsWhole(bytes, sizes, Avro());
  }
}

TEST(DatastreamParts, AvroManyBlocksDecodeAsWhole) {
  std::string file = MakeOcf(kSchema, "null", Blocks(300));
  auto starts = BlockStarts(file);
  ASSERT_EQ(starts.size(), 300u);
  ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(file, Avro()));
  ASSERT_EQ(whole.rows->num_rows(), 750);
  ExpectPartsDecodeAsWhole(file, PartSizes(file, starts[5]), Avro());
}

// `blocks` as the snappy codec stores them: compressed, then the CRC32 of
// the plain bytes, big-endian.
std::vector<Block> Snappy(std::vector<Block> blocks) {
  for (auto& b : blocks) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(b.data.data()), static_cast<uInt>(b.data.size())));
    std::string packed;
    snappy::Compress(b.data.data(), b.data.size(), &packed);
    for (int shift = 24; shift >= 0; shift -= 8) packed.push_back(static_cast<char>(crc >> shift));
    b.data = std::move(packed);
  }
  return blocks;
}

TEST(DatastreamParts, AvroSnappyBlocksDecodeAsWhole) {
  // Block 25 is damaged inside its compressed data (a CRC mismatch): a dead
  // letter with offsets in the decompressed data, the same from a part.
  std::vector<Block> blocks = Snappy(Blocks(50));
  blocks[25].data.back() ^= 0x01;
  std::string file = MakeOcf(kSchema, "snappy", blocks);
  auto starts = BlockStarts(file);
  ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(file, Avro()));
  ASSERT_EQ(whole.bad.size(), 1u);
  EXPECT_EQ(whole.bad[0].offset, starts[25]);
  EXPECT_NE(whole.bad[0].reason.find("CRC"), std::string::npos) << whole.bad[0].reason;
  ExpectPartsDecodeAsWhole(file, PartSizes(file, starts[25]), Avro());
}

// The whole file has one dead letter, the block at `bad_at`; parts cut
// anywhere (and at `cut_at`) give the same, and the same rows.
void ExpectOneBadBlock(const std::string& file, int64_t bad_at, int64_t cut_at) {
  ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(file, Avro()));
  ASSERT_EQ(whole.bad.size(), 1u);
  EXPECT_EQ(whole.bad[0].offset, bad_at);
  ExpectPartsDecodeAsWhole(file, PartSizes(file, cut_at), Avro());
}

TEST(DatastreamParts, AvroDamagedSyncGivesTheSameDeadLetters) {
  std::string file = MakeOcf(kSchema, "null", Blocks(60));
  auto starts = BlockStarts(file);
  // The sync marker ending block 20: blocks 20 and 21 become one bad region.
  file[static_cast<size_t>(starts[21] - 3)] ^= 0x55;
  ExpectOneBadBlock(file, starts[20], starts[21]);
  ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(file, Avro()));
  EXPECT_EQ(whole.bad[0].raw.size(), static_cast<size_t>(starts[22] - starts[20]));
}

TEST(DatastreamParts, AvroBadBlockDataGivesTheSameDeadLetters) {
  // Block 30 declares a row it does not hold: a decode error inside it
  // (offsets in the reason are the file's) and the reader goes on after it.
  std::string file = MakeOcf(kSchema, "null", Blocks(60, 30));
  auto starts = BlockStarts(file);
  ExpectOneBadBlock(file, starts[30], starts[30]);
}

TEST(DatastreamParts, AvroDamagedBlockSizeGivesTheSameDeadLetters) {
  std::string file = MakeOcf(kSchema, "null", Blocks(60));
  auto starts = BlockStarts(file);
  // Block 40's size (one varint byte after its one-byte count) grows by 4:
  // its sync marker is looked for in the wrong place, past the end of a
  // part that ends with the block.
  file[static_cast<size_t>(starts[40] + 1)] += 8;
  ExpectOneBadBlock(file, starts[40], starts[40]);
}

TEST(DatastreamParts, AvroTruncatedLastBlockGivesTheSameDeadLetters) {
  std::string file = MakeOcf(kSchema, "null", Blocks(20));
  auto starts = BlockStarts(file);
  file.resize(file.size() - 20);  // into block 19's data
  ExpectOneBadBlock(file, starts[19], starts[19]);
}

TEST(DatastreamParts, NotAnAvroFileIsDecodedWholeByTheFirstPart) {
  std::string file = "PAR1 this is not an avro file at all";
  ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(file, Avro()));
  ASSERT_EQ(whole.bad.size(), 1u);
  ExpectPartsDecodeAsWhole(file, {1, 7, 100}, Avro());
}

TEST(DatastreamParts, AvroPartReadsAboutItsOwnBytes) {
  // ~2 MB of blocks of ~1 KB; parts of 64 KB.
  std::vector<Block> blocks;
  for (int b = 0; b < 2000; ++b) {
    Block block{10, ""};
    for (int r = 0; r < 10; ++r)
      block.data += Long(b * 10 + r) + Str(std::string(100, 'x')) + Long(0);
    blocks.push_back(std::move(block));
  }
  std::string file = MakeOcf(kSchema, "null", blocks);
  const int64_t size = static_cast<int64_t>(file.size());
  ASSERT_GT(size, 2'000'000);
  const int64_t part = 64 * 1024;
  ASSERT_OK_AND_ASSIGN(Decoded parts, DecodeInParts(file, part, Avro()));
  ASSERT_EQ(parts.rows->num_rows(), 20000);
  // The part, the first block past it, the header read (16 KB), and two
  // scans for a block start (reads of 1 KB, 2 KB, ... until found).
  const int64_t block = static_cast<int64_t>(blocks[0].data.size()) + 20;
  EXPECT_LE(parts.most_bytes_read, part + block + 16 * 1024 + 2 * 2 * (block + 1024));
  EXPECT_LT(parts.most_bytes_read, size / 10);
}

// ---- JSON ----

// The events of the real fixtures (JSON arrays) as NDJSON lines.
std::vector<std::string> FixtureEventLines() {
  std::vector<std::string> lines;
  for (const char* name : {"records1.json", "records2.json"}) {
    auto events = nlohmann::json::parse(Slurp(Fixture("json/events/") + name));
    for (const auto& e : events) lines.push_back(e.dump());
  }
  return lines;
}

TEST(DatastreamParts, JsonArrayFixturesAreDecodedWholeByTheFirstPart) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(Fixture("json"))) {
    if (!entry.is_regular_file() || entry.path().filename() == "schema.json") continue;
    SCOPED_TRACE(entry.path().string());
    std::string bytes = Slurp(entry.path().string());
    ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(bytes, Json()));
    ASSERT_TRUE(whole.rows);
    ExpectPartsDecodeAsWhole(bytes, {1, 7, 100, 4096, static_cast<int64_t>(bytes.size())}, Json());
  }
}

TEST(DatastreamParts, NdjsonDecodesAsWhole) {
  std::string file;
  auto lines = FixtureEventLines();
  for (int copy = 0; copy < 5; ++copy) {
    for (size_t i = 0; i < lines.size(); ++i) file += lines[i] + ((i + copy) % 3 ? "\n" : "\r\n");
    file += "\n  \n";  // blank lines
  }
  file += lines[0];  // the last line has no newline
  ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(file, Json()));
  ASSERT_EQ(whole.rows->num_rows(), 51);
  ASSERT_TRUE(whole.bad.empty());
  int64_t line_start = static_cast<int64_t>(lines[0].size() + 1);
  ExpectPartsDecodeAsWhole(file, PartSizes(file, line_start), Json());
}

TEST(DatastreamParts, NdjsonBadLinesGiveTheSameDeadLetters) {
  auto lines = FixtureEventLines();
  std::string file = "\xEF\xBB\xBF" + lines[0] + "\n";
  file += "[1, 2]\n";  // not an object: a part starting here is still NDJSON
  file += lines[1] + "\n";
  file += "{\"uuid\": oops\n";  // a syntax error
  file += lines[2] + "\n";
  file += "\x1f\x8b not gzip\n";  // nor is one starting with the gzip magic
  file += lines[3] + "\n";
  ASSERT_OK_AND_ASSIGN(Decoded whole, DecodeWhole(file, Json()));
  ASSERT_EQ(whole.rows->num_rows(), 4);
  ASSERT_EQ(whole.bad.size(), 3u);
  // Reasons name the line, which a part counts from its own first line.
  ExpectPartsDecodeAsWhole(file, PartSizes(file, 3 + static_cast<int64_t>(lines[0].size()) + 1),
                           Json(), Reasons::kMayDiffer);
}

TEST(DatastreamParts, NdjsonPartReadsAboutItsOwnBytes) {
  auto lines = FixtureEventLines();
  std::string file;
  int64_t events = 0;
  for (; file.size() < 2'000'000; ++events) file += lines[events % lines.size()] + "\n";
  const int64_t size = static_cast<int64_t>(file.size());
  const int64_t part = 64 * 1024;
  ASSERT_OK_AND_ASSIGN(Decoded parts, DecodeInParts(file, part, Json()));
  ASSERT_EQ(parts.rows->num_rows(), events);
  // The part, the first line past it, the first 1 KB (is it an array?), and
  // two scans for a line start (reads of 1 KB, 2 KB, ... until found).
  size_t line = 0;
  for (const auto& l : lines) line = std::max(line, l.size() + 1);
  EXPECT_LE(parts.most_bytes_read,
            part + static_cast<int64_t>(line) + 1024 + 2 * 2 * (static_cast<int64_t>(line) + 1024));
  EXPECT_LT(parts.most_bytes_read, size / 10);
}

}  // namespace
}  // namespace sluice::sources::datastream
