// libFuzzer target: arbitrary bytes through the Debezium JSON reader
// (formats/debezium/json_record_reader.h). The input is split at 0xff bytes
// into messages (an empty piece is a tombstone), and also decoded whole.
// Any crash, sanitizer report, Decode() error (bad input must come back as
// bad messages), invalid batch, or a message accounted for other than once
// (a row, a bad message or a tombstone) is a bug.
// Seed corpus: tests/data/fuzz/debezium_json.
#include <arrow/record_batch.h>

#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

#include "sluice/formats/debezium/json_record_reader.h"

using sluice::formats::debezium::JsonRecordReader;

namespace {

void Drain(JsonRecordReader& reader, const std::vector<std::optional<std::string_view>>& in) {
  auto out = reader.Decode(in);
  if (!out.ok()) std::abort();
  std::vector<int> seen(in.size(), 0);
  for (const auto& run : out->runs) {
    if (!run.batch || !run.batch->ValidateFull().ok()) std::abort();
    if (run.batch->num_rows() != static_cast<int64_t>(run.messages.size())) std::abort();
    for (auto i : run.messages) ++seen.at(static_cast<size_t>(i));
  }
  for (const auto& bad : out->bad) {
    if (bad.reason.empty()) std::abort();
    ++seen.at(static_cast<size_t>(bad.index));
  }
  for (auto i : out->tombstones) ++seen.at(static_cast<size_t>(i));
  for (int n : seen) {
    if (n != 1) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::optional<std::string_view>> messages;
  size_t start = 0;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == 0xff) {
      if (i == start) {
        messages.emplace_back(std::nullopt);
      } else {
        messages.emplace_back(all.substr(start, i - start));
      }
      start = i + 1;
    }
  }
  JsonRecordReader reader;
  Drain(reader, messages);
  Drain(reader, {all});  // again, with the schemas cached
  return 0;
}
