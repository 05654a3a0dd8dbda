// libFuzzer target: arbitrary bytes through Confluent's wire framing
// (formats/confluent/wire_format.h), as a message alone and split into a
// schema-id header + message. Any crash or sanitizer report is a bug; so is
// a payload that is not a suffix of the message, a reference whose Prefix()
// does not read back as itself, or an error without a message.
// Seed corpus: tests/data/fuzz/confluent_frame.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/formats/confluent/wire_format.h"

using sluice::formats::confluent::Framed;
using sluice::formats::confluent::ReadPrefixed;
using sluice::formats::confluent::Unframe;

namespace {

void Check(const sluice::Result<Framed>& framed, std::string_view message) {
  if (!framed.ok()) {
    if (framed.status().message().empty()) std::abort();
    return;
  }
  const auto& f = *framed;
  // The payload views the message's tail.
  if (f.payload.size() > message.size()) std::abort();
  if (f.payload.data() != message.data() + (message.size() - f.payload.size())) std::abort();
  auto again = ReadPrefixed(f.schema.Prefix());
  if (!again.ok() || !(again->schema == f.schema) || !again->payload.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  Check(ReadPrefixed(all), all);
  // First byte: length of a header value taken from the front (0: none).
  if (size > 0) {
    const size_t header_len = std::min<size_t>(data[0] % 24, size - 1);
    const std::string_view header = all.substr(1, header_len);
    const std::string_view message = all.substr(1 + header_len);
    std::vector<std::string_view> headers;
    if (header_len > 0) headers = {header, header};
    Check(Unframe(message, headers), message);
  }
  return 0;
}
