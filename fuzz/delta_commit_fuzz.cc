// libFuzzer target: a Delta commit file (JSON lines) from untrusted storage.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sluice/delta/actions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto actions = sluice::delta::CommitFromJson(text, "fuzz");
  if (actions.ok()) {
    // Whatever parses must serialise and parse back to the same actions.
    auto again = sluice::delta::CommitFromJson(sluice::delta::CommitToJson(*actions), "fuzz2");
    if (!again.ok() || again->size() != actions->size()) __builtin_trap();
  }
  return 0;
}
