// The Debezium source's message decoder alone, for the decode benchmark
// (bench/debezium_decode_bench.py, docs/BENCHMARKS.md): no broker, no
// tables, so its figure is the decode cost per message that bounds a
// Kafka backfill.
//
//   debezium_decode_bench FILE FORMAT UNIT REPEAT
//
// FILE holds one message a line, key and value as text separated by a tab
// (JSON messages; the driver writes them with kafka_bench's encoder). The
// messages are decoded in units of UNIT messages, as KafkaStream::Decode
// hands them to the decoder, REPEAT times over; one JSON line is printed:
// {"messages":n,"bytes":n,"seconds":s,"messages_per_s":x,"mib_per_s":x,"rows":n}.
#include <arrow/record_batch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "sluice/sources/debezium/debezium_decoder.h"

namespace {

namespace dbz = sluice::sources::debezium;

int Fail(const std::string& what) {
  std::cerr << "debezium_decode_bench: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return Fail("usage: debezium_decode_bench FILE FORMAT UNIT REPEAT");
  const std::string format = argv[2];
  const size_t unit = std::stoul(argv[3]);
  const int repeat = std::stoi(argv[4]);
  std::ifstream in(argv[1]);
  if (!in) return Fail(std::string("cannot open ") + argv[1]);
  std::vector<dbz::KafkaMessage> messages;
  int64_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) return Fail("a line without a tab");
    dbz::KafkaMessage m;
    m.topic = "bench.shop.items";
    m.offset = static_cast<int64_t>(messages.size());
    m.key = line.substr(0, tab);
    m.value = line.substr(tab + 1);
    bytes += static_cast<int64_t>(line.size() - 1);
    messages.push_back(std::move(m));
  }
  sluice::sources::SourceOptions options;
  options.kind = "debezium";
  options.format = format;
  auto decoder = dbz::MakeDebeziumDecoder(options, nullptr);
  if (!decoder.ok()) return Fail(decoder.status().ToString());

  int64_t rows = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeat; ++r) {
    for (size_t first = 0; first < messages.size(); first += unit) {
      std::vector<dbz::KafkaMessage> chunk(
          messages.begin() + static_cast<std::ptrdiff_t>(first),
          messages.begin() + static_cast<std::ptrdiff_t>(std::min(messages.size(), first + unit)));
      auto decoded = (*decoder)->Decode(chunk, {});
      if (!decoded.ok()) return Fail(decoded.status().ToString());
      for (const auto& t : decoded->tables) {
        for (const auto& b : t.batches) rows += b->num_rows();
        if (!t.bad.empty()) return Fail("bad message: " + t.bad.front().reason);
      }
      if (!decoded->bad.empty()) return Fail("bad message: " + decoded->bad.front().reason);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double n = static_cast<double>(messages.size()) * repeat;
  std::printf(
      "{\"messages\":%.0f,\"bytes\":%lld,\"seconds\":%.3f,\"messages_per_s\":%.0f,"
      "\"mib_per_s\":%.1f,\"rows\":%lld}\n",
      n, static_cast<long long>(bytes) * repeat, seconds, n / seconds,
      static_cast<double>(bytes) * repeat / seconds / (1 << 20), static_cast<long long>(rows));
  return 0;
}
