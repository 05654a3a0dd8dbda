// libFuzzer target: arbitrary bytes through OcfReader, in both bad-block
// modes. Any crash, sanitizer report or invalid Arrow array is a bug; errors
// are expected. Seed corpus: the fixtures in fixtures/datastream/avro/.
#include <arrow/buffer.h>
#include <arrow/record_batch.h>

#include <cstdlib>

#include "sluice/formats/avro/ocf_reader.h"

using sluice::formats::avro::BadBlockPolicy;
using sluice::formats::avro::OcfOptions;
using sluice::formats::avro::OcfReader;

namespace {

void Drain(const uint8_t* data, size_t size, BadBlockPolicy policy) {
  // Non-owning: the input outlives the reader.
  auto buffer = std::make_shared<arrow::Buffer>(data, static_cast<int64_t>(size));
  OcfOptions opts;
  opts.batch_size = 50;
  opts.on_bad_block = policy;
  opts.max_block_bytes = 8 << 20;  // keep decompression bombs cheap
  auto reader = OcfReader::Open(buffer, "fuzz", opts);
  if (!reader.ok()) return;
  for (int steps = 0; steps < 100000; ++steps) {
    auto batch = (*reader)->Next();
    if (!batch.ok()) {
      if (policy == BadBlockPolicy::kSkip || !(*reader)->SkipToNextSync().ok()) std::abort();
      continue;
    }
    if (!*batch) return;
    if (!(*batch)->ValidateFull().ok()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Drain(data, size, BadBlockPolicy::kFail);
  Drain(data, size, BadBlockPolicy::kSkip);
  return 0;
}
