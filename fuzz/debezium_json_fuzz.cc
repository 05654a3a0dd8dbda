// libFuzzer target: arbitrary bytes through the Debezium JSON reader
// (formats/debezium/json_record_reader.h). The input is split at 0xff bytes
// into messages (an empty piece is a tombstone), and also decoded whole.
// Any crash, sanitizer report, Decode() error (bad input must come back as
// bad messages), invalid batch, or a message accounted for other than once
// (a row, a bad message or a tombstone) is a bug.
// Seed corpus: tests/data/fuzz/debezium_json.
#include <optional>
#include <string_view>
#include <vector>

#include "decoded_records_check.h"
#include "fuzz_input_split.h"
#include "sluice/formats/debezium/json_record_reader.h"

using sluice::formats::debezium::JsonRecordReader;

namespace {

void Drain(JsonRecordReader& reader, const std::vector<std::optional<std::string_view>>& in) {
  sluice::fuzz::CheckDecodedRecords(reader.Decode(in), in.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::optional<std::string_view>> messages;
  for (std::string_view piece : sluice::fuzz::SplitAt(all, 0xff)) {
    if (piece.empty()) {
      messages.emplace_back(std::nullopt);
    } else {
      messages.emplace_back(piece);
    }
  }
  JsonRecordReader reader;
  Drain(reader, messages);
  Drain(reader, {all});  // again, with the schemas cached
  return 0;
}
