#include "sluice/sources/datastream/file_decoder.h"

#include <arrow/buffer.h>
#include <arrow/record_batch.h>

#include "sluice/formats/avro/ocf_reader.h"
#include "sluice/formats/json/json_reader.h"

namespace sluice::sources::datastream {

namespace {

Result<DecodedFile> DecodeAvro(const std::shared_ptr<arrow::Buffer>& bytes,
                               const std::string& where, const DecodeOptions& options) {
  DecodedFile out;
  formats::avro::OcfOptions opts;
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
      out.bad.push_back({(*reader)->offset(), batch.status().message(),
                         bytes->ToString().substr(static_cast<size_t>((*reader)->offset()))});
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

Result<DecodedFile> DecodeJson(const std::shared_ptr<arrow::Buffer>& bytes,
                               const std::string& where, const DecodeOptions& options) {
  DecodedFile out;
  formats::json::JsonDecodeOptions opts;
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

}  // namespace sluice::sources::datastream
