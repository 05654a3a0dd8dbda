// Splits a fuzz input into pieces at every separator byte, for the targets
// whose input is a list of messages (debezium_json_fuzz,
// debezium_decoder_fuzz). n separators give n + 1 pieces, empty ones
// included (a target gives an empty piece its own meaning: a tombstone, a
// null key); the pieces are views into the input.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::fuzz {

inline std::vector<std::string_view> SplitAt(std::string_view input, uint8_t separator) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  for (size_t i = 0; i <= input.size(); ++i) {
    if (i == input.size() || static_cast<uint8_t>(input[i]) == separator) {
      pieces.push_back(input.substr(start, i - start));
      start = i + 1;
    }
  }
  return pieces;
}

}  // namespace sluice::fuzz
