// libFuzzer target: arbitrary bytes through DatastreamJsonReader, as they
// are and with a pinned payload column. Any crash, sanitizer report, invalid
// Arrow batch, batch not matching the schema, or Next() error (pass 2 must
// accept whatever pass 1 accepted) is a bug; bad records are expected.
// Seed corpus: the files under fixtures/datastream/json/ (and gzip them).
#include <arrow/buffer.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <cstdlib>

#include "sluice/formats/json/json_reader.h"

using sluice::formats::json::DatastreamJsonReader;
using sluice::formats::json::JsonDecodeOptions;

namespace {

void Drain(const uint8_t* data, size_t size, const JsonDecodeOptions& opts) {
  // Non-owning: the input outlives the reader.
  auto buffer = std::make_shared<arrow::Buffer>(data, static_cast<int64_t>(size));
  auto reader = DatastreamJsonReader::Open(buffer, "fuzz", opts);
  if (!reader.ok()) {
    // Only a decompression beyond the cap may fail Open.
    if (!reader.status().IsCapacityError()) std::abort();
    return;
  }
  const auto schema = (*reader)->schema();
  int64_t rows = 0;
  for (;;) {
    auto batch = (*reader)->Next();
    if (!batch.ok()) std::abort();
    if (!*batch) break;
    if (!(*batch)->ValidateFull().ok()) std::abort();
    if (!(*batch)->schema()->Equals(*schema)) std::abort();
    rows += (*batch)->num_rows();
  }
  if (rows != (*reader)->num_rows()) std::abort();
  for (const auto& bad : (*reader)->TakeBadRecords()) {
    if (bad.reason.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  JsonDecodeOptions plain;
  plain.batch_size = 3;
  plain.max_decompressed_bytes = 8 << 20;  // keep gzip bombs cheap
  Drain(data, size, plain);
  JsonDecodeOptions pinned = plain;
  pinned.pinned_payload_types["id"] = arrow::int32();
  pinned.pinned_payload_types["balance"] = arrow::decimal128(9, 2);
  pinned.pinned_payload_types["at"] = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  pinned.pinned_payload_types["name"] = arrow::utf8();
  Drain(data, size, pinned);
  return 0;
}
