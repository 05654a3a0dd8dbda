// libFuzzer target: arbitrary bytes through the Debezium decoder
// (sources/debezium/debezium_decoder.h, JSON). The first byte picks the
// settings (envelope mode, routing, truncates, configured keys); the rest is
// split at 0xff bytes into (key, value) pairs of one partition (an empty
// piece is a null key or a tombstone). Any crash, sanitizer report, Decode()
// error (bad input must come back as dead letters), invalid batch, a NULL
// _cdc_seq, or more rows and dead letters than messages is a bug.
// Seed corpus: tests/data/fuzz/debezium_decoder.
#include <arrow/array.h>
#include <arrow/record_batch.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input_split.h"
#include "sluice/core/change_schema.h"
#include "sluice/sources/debezium/debezium_decoder.h"

using namespace sluice::sources;

namespace {

std::optional<std::string> Piece(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return std::string(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  SourceOptions options;
  options.kind = "debezium";
  options.format = "json";
  const char* envelopes[] = {"auto", "envelope", "flattened", "auto"};
  options.settings["debezium.envelope"] = envelopes[flags & 3];
  options.settings["debezium.route_by"] = flags & 4 ? "source" : "topic";
  options.settings["debezium.truncate"] = flags & 8 ? "ignore" : "apply";
  if (flags & 16) options.tables["inv.customers"].primary_keys = {"id"};
  auto decoder = debezium::MakeDebeziumDecoder(options, nullptr);
  if (!decoder.ok()) std::abort();

  const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<std::string_view> pieces = sluice::fuzz::SplitAt(all, 0xff);
  std::vector<debezium::KafkaMessage> messages;
  for (size_t i = 0; i < pieces.size(); i += 2) {
    debezium::KafkaMessage m;
    m.topic = flags & 32 ? "plain" : "dbserver1.inv.customers";
    m.partition = 1;
    m.offset = static_cast<int64_t>(messages.size()) + 10;
    m.key = Piece(pieces[i]);
    if (i + 1 < pieces.size()) m.value = Piece(pieces[i + 1]);
    messages.push_back(std::move(m));
  }
  auto unit = (*decoder)->Decode(messages, DecodeContext{1});
  if (!unit.ok()) std::abort();
  size_t accounted = unit->bad.size();
  for (const auto& bad : unit->bad) {
    if (bad.reason.empty() || bad.where.empty()) std::abort();
  }
  for (const auto& t : unit->tables) {
    accounted += t.bad.size();
    for (const auto& bad : t.bad) {
      if (bad.reason.empty() || bad.where.empty()) std::abort();
    }
    for (const auto& b : t.batches) {
      if (!b || !b->ValidateFull().ok()) std::abort();
      auto seq = b->GetColumnByName(std::string(sluice::kSeqColumn));
      if (!seq || seq->null_count() != 0) std::abort();
      accounted += static_cast<size_t>(b->num_rows());
    }
  }
  if (accounted > messages.size()) std::abort();
  return 0;
}
