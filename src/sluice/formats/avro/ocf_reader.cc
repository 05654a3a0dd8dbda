#include "sluice/formats/avro/ocf_reader.h"

#include <arrow/buffer.h>
#include <arrow/record_batch.h>

#include <algorithm>
#include <cstring>

namespace sluice::formats::avro {

namespace {
constexpr uint8_t kMagic[4] = {'O', 'b', 'j', 1};
constexpr int64_t kSyncSize = 16;
}  // namespace

Result<std::unique_ptr<OcfReader>> OcfReader::Open(std::shared_ptr<arrow::Buffer> file_bytes,
                                                   const std::string& where, OcfOptions opts) {
  if (!file_bytes) return Status::Invalid(where, ": no data");
  std::unique_ptr<OcfReader> r(new OcfReader());
  r->file_ = std::move(file_bytes);
  r->data_ = r->file_->data();
  r->size_ = r->file_->size();
  r->where_ = where;
  r->opts_ = std::move(opts);
  r->opts_.batch_size = std::max<int64_t>(1, r->opts_.batch_size);
  ARROW_RETURN_NOT_OK(r->ReadHeader());
  return r;
}

Status OcfReader::ReadHeader() {
  if (size_ < 4 || std::memcmp(data_, kMagic, 4) != 0) {
    return Status::Invalid(where_, ": not an Avro object container file (bad magic)");
  }
  BinaryCursor in(data_ + 4, size_ - 4, 4);
  auto bad = [&](const Status& st) {
    return Status::Invalid(where_, ": bad Avro header: ", st.message());
  };
  // meta: map<bytes>, written as blocks like any map.
  for (;;) {
    int64_t count = 0;
    Status st = in.ReadBlockCount(2, &count);  // an entry is >= 2 length bytes
    if (!st.ok()) return bad(st);
    if (count == 0) break;
    for (int64_t i = 0; i < count; ++i) {
      std::string_view key, value;
      st = in.ReadBytes(&key);
      if (st.ok()) st = in.ReadBytes(&value);
      if (!st.ok()) return bad(st);
      metadata_[std::string(key)] = std::string(value);
    }
  }
  const uint8_t* sync = nullptr;
  Status st = in.ReadFixed(kSyncSize, &sync);
  if (!st.ok()) return bad(st);
  std::memcpy(sync_, sync, kSyncSize);
  pos_ = in.offset();
  if (opts_.blocks_file_offset >= 0) shift_ = opts_.blocks_file_offset - pos_;

  auto schema_it = metadata_.find("avro.schema");
  if (schema_it == metadata_.end()) return Status::Invalid(where_, ": header has no avro.schema");
  auto schema = AvroSchema::Parse(schema_it->second);
  if (!schema.ok()) return Status::Invalid(where_, ": ", schema.status().message());
  writer_schema_ = std::move(*schema);
  auto codec_it = metadata_.find("avro.codec");
  auto codec = CodecFromName(codec_it == metadata_.end() ? "" : codec_it->second);
  if (!codec.ok()) return codec.status().WithMessage(where_, ": ", codec.status().message());
  codec_ = *codec;
  auto decoder = BatchDecoder::Make(writer_schema_, opts_.arrow);
  if (!decoder.ok()) return decoder.status().WithMessage(where_, ": ", decoder.status().message());
  decoder_ = std::move(*decoder);
  return Status::OK();
}

Status OcfReader::Fail(int64_t block_start, int64_t resume_at, const std::string& reason) {
  Status st =
      Status::Invalid(where_, ": bad Avro block at offset ", block_start + shift_, ": ", reason);
  failure_ = Failure{block_start, resume_at, st};
  return st;
}

Status OcfReader::ReadBlock() {
  const int64_t start = pos_;
  BinaryCursor in(data_ + pos_, size_ - pos_, pos_ + shift_);
  int64_t count = 0, size = 0;
  Status st = in.ReadLong(&count);
  if (st.ok()) st = in.ReadLong(&size);
  if (!st.ok()) return Fail(start, -1, "block header: " + st.message());
  if (count < 0 || size < 0) {
    return Fail(start, -1, "negative record count or size in the block header");
  }
  const int64_t file_end = opts_.file_bytes >= 0 ? opts_.file_bytes : size_ + shift_;
  if (size > file_end - in.offset() - kSyncSize) {
    return Fail(start, -1, "block size " + std::to_string(size) + " runs past the end of file");
  }
  if (size > opts_.max_block_bytes) {
    return Fail(start, -1, "block size " + std::to_string(size) + " exceeds max_block_bytes");
  }
  const int64_t data_start = in.offset() - shift_;
  const int64_t sync_at = data_start + size;
  if (sync_at + kSyncSize > size_ || std::memcmp(data_ + sync_at, sync_, kSyncSize) != 0) {
    return Fail(start, -1, "sync marker mismatch at offset " + std::to_string(sync_at + shift_));
  }
  const int64_t next = sync_at + kSyncSize;
  std::string_view raw(reinterpret_cast<const char*>(data_ + data_start), size);
  auto plain = Decompress(codec_, raw, opts_.max_block_bytes, &scratch_);
  if (!plain.ok()) {
    return Fail(start, next, std::string(CodecName(codec_)) + ": " + plain.status().message());
  }
  // Offsets in decode errors are file offsets when the block is stored
  // uncompressed, else offsets into the decompressed data.
  const bool stored = codec_ == Codec::kNull;
  BinaryCursor block(reinterpret_cast<const uint8_t*>(plain->data()),
                     static_cast<int64_t>(plain->size()), stored ? data_start + shift_ : 0);
  st = block.CheckCount(count, decoder_->record_min_bytes());
  if (st.ok()) st = decoder_->DecodeRecords(block, count);
  if (st.ok() && !block.at_end()) {
    st = block.Error(block.remaining(), " bytes left after the block's ", count, " records");
  }
  if (!st.ok()) {
    return Fail(start, next, std::string(stored ? "" : "in decompressed data, ") + st.message());
  }
  pos_ = next;
  return Status::OK();
}

void OcfReader::Enqueue(std::shared_ptr<arrow::RecordBatch> batch) {
  for (int64_t off = 0; off < batch->num_rows(); off += opts_.batch_size) {
    ready_.push_back(batch->Slice(off, opts_.batch_size));
  }
}

Result<std::shared_ptr<arrow::RecordBatch>> OcfReader::Next() {
  while (ready_.empty()) {
    if (failure_) return failure_->status;
    if (pos_ >= size_) {
      if (decoder_->rows() == 0) return nullptr;
      ARROW_ASSIGN_OR_RAISE(auto batch, decoder_->Flush());
      Enqueue(std::move(batch));
      break;
    }
    const int64_t rows_before = decoder_->rows();
    Status st = ReadBlock();
    if (!st.ok()) {
      // Keep the rows of earlier blocks; drop whatever this block appended.
      ARROW_ASSIGN_OR_RAISE(auto good, decoder_->Flush(rows_before));
      Enqueue(std::move(good));
      if (opts_.on_bad_block == BadBlockPolicy::kSkip) {
        ARROW_ASSIGN_OR_RAISE(BadBlock bad, SkipToNextSync());
        bad_blocks_.push_back(std::move(bad));
      }
      continue;
    }
    if (decoder_->rows() >= opts_.batch_size) {
      ARROW_ASSIGN_OR_RAISE(auto batch, decoder_->Flush());
      Enqueue(std::move(batch));
    }
  }
  if (ready_.empty()) return nullptr;
  auto out = std::move(ready_.front());
  ready_.pop_front();
  return out;
}

Result<BadBlock> OcfReader::SkipToNextSync() {
  if (!failure_) return Status::Invalid(where_, ": SkipToNextSync() without a bad block");
  Failure f = std::move(*failure_);
  failure_.reset();
  int64_t next = f.resume_at;
  if (next < 0) {
    // The block's own framing is not trusted: look for the marker anywhere
    // after its first byte.
    std::string_view hay(reinterpret_cast<const char*>(data_), size_);
    std::string_view needle(reinterpret_cast<const char*>(sync_), kSyncSize);
    size_t found = hay.find(needle, static_cast<size_t>(f.start + 1));
    next = found == std::string_view::npos ? size_ : static_cast<int64_t>(found) + kSyncSize;
  }
  BadBlock bad;
  bad.offset = f.start + shift_;
  bad.length = next - f.start;
  bad.reason = f.status.message();
  int64_t keep = std::min(bad.length, opts_.max_bad_block_raw_bytes);
  bad.raw.assign(reinterpret_cast<const char*>(data_ + f.start), static_cast<size_t>(keep));
  pos_ = next;
  return bad;
}

}  // namespace sluice::formats::avro
