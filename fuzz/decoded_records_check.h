// The invariant every Debezium record reader keeps whatever its input
// (formats/debezium/decoded_records.h), checked by the reader fuzz targets
// (debezium_json_fuzz, debezium_avro_fuzz): Decode() does not fail on bad
// input, each batch is valid with one row per message it names, each bad
// message has a reason, and each of the `messages` inputs is accounted for
// exactly once (a row, a bad message or a tombstone). Aborts otherwise, so
// that libFuzzer reports it.
#pragma once

#include <arrow/record_batch.h>

#include <cstdlib>
#include <vector>

#include "sluice/formats/debezium/decoded_records.h"

namespace sluice::fuzz {

inline void CheckDecodedRecords(const Result<formats::debezium::DecodedRecords>& out,
                                size_t messages) {
  if (!out.ok()) std::abort();
  std::vector<int> seen(messages, 0);
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

}  // namespace sluice::fuzz
