#include "sluice/sources/sequence_key.h"

#include <algorithm>
#include <cstring>

namespace sluice::sources {

SequenceKeyBuilder& SequenceKeyBuilder::Text(std::string_view s) {
  // 0x00 becomes 00 FF so that the terminator 00 01 sorts below any
  // continuation: a shorter string sorts first, as memcmp of the originals.
  for (char c : s) {
    buf_.push_back(c);
    if (c == '\0') buf_.push_back(static_cast<char>(0xFF));
  }
  buf_.push_back('\0');
  buf_.push_back('\x01');
  return *this;
}

int CompareSequenceKeys(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? -1 : 1;
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

std::string SequenceKeyToHex(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (unsigned char c : key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace sluice::sources
