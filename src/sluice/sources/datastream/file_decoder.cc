#include "sluice/sources/datastream/file_decoder.h"

#include <arrow/buffer.h>
#include <arrow/record_batch.h>

#include "sluice/formats/avro/ocf_reader.h"
#include "sluice/formats/json/json_reader.h"
#include "sluice/sources/datastream/file_parts.h"

namespace sluice::sources::datastream {

namespace {

// `blocks_file_offset`, `file_bytes`: see OcfOptions (-1: `bytes` is the
// whole file).
Result<DecodedFile> DecodeAvro(const std::shared_ptr<arrow::Buffer>& bytes,
                               const std::string& where, const DecodeOptions& options,
                               int64_t blocks_file_offset = -1, int64_t file_bytes = -1) {
  DecodedFile out;
  formats::avro::OcfOptions opts;
  opts.blocks_file_offset = blocks_file_offset;
  opts.file_bytes = file_bytes;
  opts.batch_size = options.batch_size;
  opts.on_bad_block = formats::avro::BadBlockPolicy::kSkip;
  if (options.number_as_string) opts.arrow.number = formats::avro::NumberMapping::kString;
  auto reader = formats::avro::OcfReader::Open(bytes, where, opts);
  if (!reader.ok()) {
    out.unreadable = true;
    out.bad.push_back({0, reader.status().message(), bytes->ToString()});
    return out;
  }
  while (true) {
    auto batch = (*reader)->Next();
    if (!batch.ok()) {
      // Under kSkip only a non-block failure gets here; keep what was read.
      out.bad.push_back(
          {(*reader)->offset(), batch.status().message(),
           bytes->ToString().substr(static_cast<size_t>((*reader)->buffer_offset()))});
      break;
    }
    if (!*batch) break;
    if ((*batch)->num_rows() > 0) out.batches.push_back(*batch);
  }
  for (auto& b : (*reader)->TakeBadBlocks()) {
    out.bad.push_back({b.offset, std::move(b.reason), std::move(b.raw)});
  }
  return out;
}

// `ndjson_only`: see JsonDecodeOptions.
Result<DecodedFile> DecodeJson(const std::shared_ptr<arrow::Buffer>& bytes,
                               const std::string& where, const DecodeOptions& options,
                               bool ndjson_only = false) {
  DecodedFile out;
  formats::json::JsonDecodeOptions opts;
  opts.ndjson_only = ndjson_only;
  opts.batch_size = options.batch_size;
  opts.pinned_payload_types = options.pinned_types;
  auto reader = formats::json::DatastreamJsonReader::Open(bytes, where, opts);
  if (!reader.ok()) {
    out.unreadable = true;
    out.bad.push_back({0, reader.status().message(), bytes->ToString()});
    return out;
  }
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, (*reader)->Next());
    if (!batch) break;
    if (batch->num_rows() > 0) out.batches.push_back(batch);
  }
  for (auto& b : (*reader)->TakeBadRecords()) {
    out.bad.push_back({b.offset, std::move(b.reason), std::move(b.raw)});
  }
  return out;
}

}  // namespace

Result<DecodedFile> DecodeFile(const std::shared_ptr<arrow::Buffer>& bytes,
                               const std::string& where, const DecodeOptions& options) {
  if (options.format == FileFormat::kAvro) return DecodeAvro(bytes, where, options);
  return DecodeJson(bytes, where, options);
}

Result<DecodedFile> DecodeFilePart(arrow::io::RandomAccessFile& file, int64_t file_size,
                                   int64_t begin, int64_t end, const std::string& where,
                                   const DecodeOptions& options) {
  const bool avro = options.format == FileFormat::kAvro;
  ARROW_ASSIGN_OR_RAISE(FilePart part, avro ? ReadAvroPart(file, file_size, begin, end)
                                            : ReadJsonPart(file, file_size, begin, end));
  switch (part.kind) {
    case FilePart::Kind::kEmpty:
      return DecodedFile{};
    case FilePart::Kind::kWholeFile:
      return DecodeFile(part.bytes, where, options);
    case FilePart::Kind::kRecords:
      break;
  }
  if (avro) return DecodeAvro(part.bytes, where, options, part.records_at, file_size);
  // The part's lines are NDJSON even if the first one looks like an array.
  ARROW_ASSIGN_OR_RAISE(DecodedFile out, DecodeJson(part.bytes, where, options, true));
  for (auto& b : out.bad) b.offset += part.records_at;
  return out;
}

}  // namespace sluice::sources::datastream
