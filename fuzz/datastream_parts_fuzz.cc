// libFuzzer target: arbitrary bytes as a Datastream file (Avro object
// container or JSON events), cut into parts of a size the input chooses and
// every part decoded from ranged reads, as a large file is (file_parts.h).
// Any crash or sanitizer report is a bug; errors are expected. Seed corpus:
// the fixtures in fixtures/datastream/avro/.
#include <arrow/buffer.h>
#include <arrow/io/memory.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "sluice/sources/datastream/file_decoder.h"

namespace ds = sluice::sources::datastream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: the part size (1..256 bytes, or a quarter of the file);
  // second: the format. The rest is the file.
  const int64_t file_size = static_cast<int64_t>(size - 2);
  const int64_t part = data[0] == 0 ? std::max<int64_t>(file_size / 4, 1) : data[0];
  ds::DecodeOptions options;
  options.format = (data[1] & 1) ? ds::FileFormat::kJson : ds::FileFormat::kAvro;
  options.batch_size = 64;
  auto buffer = std::make_shared<arrow::Buffer>(data + 2, file_size);
  arrow::io::BufferReader file(buffer);
  for (int64_t begin = 0; begin < file_size; begin += part) {
    auto decoded = ds::DecodeFilePart(file, file_size, begin, std::min(begin + part, file_size),
                                      "fuzz", options);
    (void)decoded;
  }
  return 0;
}
