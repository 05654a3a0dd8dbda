// Avro object container files written by hand in tests, so that any part of
// one (a block header, a sync marker) can be broken on purpose.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::formats::testing {

/// Avro `long`: zig-zag varint.
inline std::string Long(int64_t v) {
  uint64_t n = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  std::string out;
  while (n & ~uint64_t{0x7F}) {
    out.push_back(static_cast<char>((n & 0x7F) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out;
}

/// Avro `string` / `bytes`: length, then the bytes.
inline std::string Str(std::string_view s) {
  return Long(static_cast<int64_t>(s.size())) + std::string(s);
}

inline const std::string kSync = "0123456789abcdef";

struct Block {
  int64_t count;     // records the block header declares
  std::string data;  // the encoded records (codec null)
};

/// A container file: header (schema, codec, kSync), then `blocks`.
inline std::string MakeOcf(const std::string& schema, const std::string& codec,
                           const std::vector<Block>& blocks) {
  std::string out = "Obj\x01";
  out += Long(2) + Str("avro.schema") + Str(schema) + Str("avro.codec") + Str(codec) + Long(0);
  out += kSync;
  for (const auto& b : blocks)
    out += Long(b.count) + Long(static_cast<int64_t>(b.data.size())) + b.data + kSync;
  return out;
}

}  // namespace sluice::formats::testing
