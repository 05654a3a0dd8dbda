// Builds _cdc_seq values (DESIGN.md §4): byte strings whose memcmp order is
// the order of changes. Each source appends its position fields most
// significant first; because every field has a fixed width (or, for text, an
// order-preserving terminated encoding), comparing two keys byte by byte
// compares the tuples field by field.
//
// Encodings:
//   unsigned integer   big-endian, fixed width (1, 2, 4 or 8 bytes)
//   signed integer     big-endian two's complement with the sign bit flipped,
//                      so INT64_MIN -> 00.., -1 -> 7F FF.., 0 -> 80 00..
//   text               each 0x00 byte written as 00 FF, then a 00 01
//                      terminator: "a" < "a\0" < "ab" as in memcmp of the
//                      original strings, and no key is a prefix of another
//                      text field's continuation.
//
// Two keys built with different layouts are not comparable; a table's keys
// all come from one source kind (the source's ordering doc says which).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::sources {

class SequenceKeyBuilder {
 public:
  // Keys are 10-60 bytes: one allocation instead of growing past the SSO.
  SequenceKeyBuilder() { buf_.reserve(64); }

  SequenceKeyBuilder& U8(uint8_t v) {
    buf_.push_back(static_cast<char>(v));
    return *this;
  }
  SequenceKeyBuilder& U16(uint16_t v) { return BigEndian(v, 2); }
  SequenceKeyBuilder& U32(uint32_t v) { return BigEndian(v, 4); }
  SequenceKeyBuilder& U64(uint64_t v) { return BigEndian(v, 8); }
  SequenceKeyBuilder& I64(int64_t v) {
    return BigEndian(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63), 8);
  }
  /// Variable-length text in an order-preserving, self-terminating form.
  SequenceKeyBuilder& Text(std::string_view s);

  const std::string& bytes() const { return buf_; }
  std::string Take() { return std::move(buf_); }
  void Clear() { buf_.clear(); }

 private:
  SequenceKeyBuilder& BigEndian(uint64_t v, int width) {
    char bytes[8];
    for (int i = 0; i < width; ++i) {
      bytes[i] = static_cast<char>((v >> ((width - 1 - i) * 8)) & 0xFF);
    }
    buf_.append(bytes, static_cast<size_t>(width));
    return *this;
  }

  std::string buf_;
};

/// memcmp-style comparison of two keys (-1, 0, 1): the order the merge uses.
int CompareSequenceKeys(std::string_view a, std::string_view b);

/// Lower-case hex of a key, for logs and test failure messages.
std::string SequenceKeyToHex(std::string_view key);

}  // namespace sluice::sources
