// Reader of Avro Object Container Files (specification 1.11, "Object
// Container Files"):
//
//   file   := header block*
//   header := "Obj" 0x01, meta: map<bytes> (avro.schema, avro.codec, ...),
//             sync: 16 bytes
//   block  := count: long, size: long, data: size bytes (count records,
//             compressed by avro.codec), sync: the header's 16 bytes
//
// Records are decoded by a BatchDecoder compiled from the writer schema
// (decoder.h, types per arrow_mapping.h) into RecordBatches of at most
// batch_size rows. A block is all or nothing: if its sync marker, codec data
// or records are bad, none of its rows is returned. The caller then either
// stops, or skips to the next sync marker and goes on; the skipped bytes are
// returned as a BadBlock for a dead-letter table.
#pragma once

#include <arrow/type_fwd.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/formats/avro/arrow_mapping.h"
#include "sluice/formats/avro/codec.h"
#include "sluice/formats/avro/decoder.h"

namespace sluice::formats::avro {

enum class BadBlockPolicy {
  kFail,  // Next() returns the error; SkipToNextSync() resumes
  kSkip,  // Next() skips bad blocks and keeps them for TakeBadBlocks()
};

struct OcfOptions {
  /// Most rows per RecordBatch (blocks are split across batches as needed).
  int64_t batch_size = 64 * 1024;
  AvroArrowOptions arrow;
  BadBlockPolicy on_bad_block = BadBlockPolicy::kFail;
  /// Largest block accepted, compressed or decompressed.
  int64_t max_block_bytes = int64_t{256} << 20;
  /// BadBlock::raw keeps at most this many bytes of the skipped region.
  int64_t max_bad_block_raw_bytes = int64_t{16} << 20;
  /// When the buffer is a file's header followed by a run of its blocks cut
  /// from further on (a part of a large file): the file offset of the first
  /// block after the header, so that offsets in messages and BadBlocks are
  /// the file's. -1: the buffer is the whole file.
  int64_t blocks_file_offset = -1;
  /// With blocks_file_offset: the file's size. A block that runs past the
  /// buffer but not past the file is then reported as the whole file's
  /// reader would (its sync marker is not where its size says: a part ends
  /// at a block's end).
  int64_t file_bytes = -1;
};

/// A region of the file that could not be decoded.
struct BadBlock {
  int64_t offset = 0;  // file offset of the block's first byte
  int64_t length = 0;  // bytes skipped (through the next sync marker)
  std::string reason;  // the error, with file and offset
  std::string raw;     // the skipped bytes (capped; see OcfOptions)
};

class OcfReader {
 public:
  /// \brief Reads the header and compiles the writer schema. `where` names
  /// the file in every error. Fails on a bad magic, metadata, schema or codec.
  static Result<std::unique_ptr<OcfReader>> Open(std::shared_ptr<arrow::Buffer> file_bytes,
                                                 const std::string& where, OcfOptions opts = {});

  /// Arrow schema of every batch.
  std::shared_ptr<arrow::Schema> schema() const { return decoder_->schema(); }
  std::string_view writer_schema_json() const { return writer_schema_->json(); }
  const std::shared_ptr<const AvroSchema>& writer_schema() const { return writer_schema_; }
  Codec codec() const { return codec_; }
  /// Header metadata (avro.schema, avro.codec and any user keys).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  /// \brief The next batch, or nullptr at the end of the file. Under kFail a
  /// bad block makes Next() return the rows before it, then the error (again
  /// on every call until SkipToNextSync()).
  Result<std::shared_ptr<arrow::RecordBatch>> Next();

  /// \brief After Next() failed on a bad block: skips from that block to just
  /// past the next sync marker (or to the end of file) and describes what was
  /// skipped. Invalid when there is nothing to skip.
  Result<BadBlock> SkipToNextSync();

  /// \brief Bad blocks skipped under kSkip since the last call.
  std::vector<BadBlock> TakeBadBlocks() { return std::move(bad_blocks_); }

  /// File offset of the next block to read.
  int64_t offset() const { return pos_ + shift_; }
  /// The same in the buffer given to Open.
  int64_t buffer_offset() const { return pos_; }

 private:
  OcfReader() = default;

  Status ReadHeader();
  /// Reads, checks, decompresses and decodes the block at pos_. On failure
  /// records failure_ and returns the error (with file and offset).
  Status ReadBlock();
  Status Fail(int64_t block_start, int64_t resume_at, const std::string& reason);
  void Enqueue(std::shared_ptr<arrow::RecordBatch> batch);

  // A failed block: where it started, where reading can resume (-1: search
  // for the next sync marker after `start`), and why.
  struct Failure {
    int64_t start;
    int64_t resume_at;
    Status status;
  };

  std::shared_ptr<arrow::Buffer> file_;
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
  std::string where_;
  OcfOptions opts_;
  std::map<std::string, std::string> metadata_;
  std::shared_ptr<const AvroSchema> writer_schema_;
  std::unique_ptr<BatchDecoder> decoder_;
  Codec codec_ = Codec::kNull;
  uint8_t sync_[16] = {};
  int64_t pos_ = 0;
  // File offset minus buffer offset of the blocks (see blocks_file_offset).
  int64_t shift_ = 0;
  std::string scratch_;
  std::deque<std::shared_ptr<arrow::RecordBatch>> ready_;
  std::optional<Failure> failure_;
  std::vector<BadBlock> bad_blocks_;
};

}  // namespace sluice::formats::avro
