// libFuzzer target: arbitrary bytes through OcfReader, in both bad-block
// modes. Any crash, sanitizer report or invalid Arrow array is a bug; errors
// are expected. Seed corpus: the fixtures in fixtures/datastream/avro/.
#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <cstdlib>

#include "sluice/formats/avro/ocf_reader.h"

using sluice::formats::avro::BadBlockPolicy;
using sluice::formats::avro::OcfOptions;
using sluice::formats::avro::OcfReader;

namespace {

// `type` with every time64 replaced by int64 (the same layout), nested ones
// too.
std::shared_ptr<arrow::DataType> TimeAsInt64(const std::shared_ptr<arrow::DataType>& type) {
  if (type->id() == arrow::Type::TIME64) return arrow::int64();
  if (type->num_fields() == 0) return type;
  arrow::FieldVector fields;
  for (const auto& f : type->fields()) fields.push_back(f->WithType(TimeAsInt64(f->type())));
  switch (type->id()) {
    case arrow::Type::STRUCT:
      return arrow::struct_(fields);
    case arrow::Type::LIST:
      return arrow::list(fields[0]);
    case arrow::Type::MAP:
      return std::make_shared<arrow::MapType>(fields[0]->type()->field(0),
                                              fields[0]->type()->field(1));
    default:
      return type;
  }
}

// Every Arrow rule holds, except one on purpose: Avro time-millis/-micros
// decode to time64 even outside one day (Datastream's zone offsets are
// negative, MySQL TIME spans +-838 h), and every time64 becomes text before
// anything is written (sources/storable_types.h), so Arrow's time-of-day
// range check is left out by viewing time64 as int64.
bool Valid(const arrow::RecordBatch& batch) {
  for (const auto& column : batch.columns()) {
    auto viewed = column->View(TimeAsInt64(column->type()));
    if (!viewed.ok() || !(*viewed)->ValidateFull().ok()) return false;
  }
  return batch.Validate().ok();
}

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
    if (!Valid(**batch)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Drain(data, size, BadBlockPolicy::kFail);
  Drain(data, size, BadBlockPolicy::kSkip);
  return 0;
}
