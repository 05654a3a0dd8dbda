#include "sluice/delta/z85.h"

#include <array>
#include <cstdint>

namespace sluice::delta {
namespace {

constexpr std::string_view kAlphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ".-:+=^!/*?&<>()[]{}@%$#";
static_assert(kAlphabet.size() == 85);

// Maps a byte to its digit value, or -1 for bytes outside the alphabet.
constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

std::string Z85Encode(std::string_view bytes) {
  const size_t blocks = (bytes.size() + 3) / 4;
  std::string out(blocks * 5, '\0');
  for (size_t b = 0; b < blocks; ++b) {
    uint32_t value = 0;
    for (size_t i = 0; i < 4; ++i) {
      const size_t pos = b * 4 + i;
      const uint8_t byte = pos < bytes.size() ? static_cast<uint8_t>(bytes[pos]) : 0;  // pad
      value = (value << 8) | byte;
    }
    for (int i = 4; i >= 0; --i) {
      out[b * 5 + i] = kAlphabet[value % 85];
      value /= 85;
    }
  }
  return out;
}

Result<std::string> Z85Decode(std::string_view text) {
  if (text.size() % 5 != 0) {
    return Status::Invalid("Z85 text length ", text.size(), " is not a multiple of 5");
  }
  std::string out(text.size() / 5 * 4, '\0');
  for (size_t b = 0; b < text.size() / 5; ++b) {
    uint64_t value = 0;
    for (size_t i = 0; i < 5; ++i) {
      const size_t pos = b * 5 + i;
      const int8_t digit = kDecode[static_cast<unsigned char>(text[pos])];
      if (digit < 0) {
        return Status::Invalid("invalid Z85 character (byte ",
                               static_cast<int>(static_cast<unsigned char>(text[pos])),
                               ") at position ", pos);
      }
      value = value * 85 + static_cast<uint64_t>(digit);
    }
    if (value > UINT32_MAX) {
      return Status::Invalid("Z85 group at position ", b * 5, " overflows 32 bits");
    }
    for (int i = 3; i >= 0; --i) {
      out[b * 4 + i] = static_cast<char>(value & 0xff);
      value >>= 8;
    }
  }
  return out;
}

}  // namespace sluice::delta
