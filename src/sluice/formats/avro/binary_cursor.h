// Bounds-checked reader of Avro's binary encoding (specification 1.11,
// "Binary Encoding"):
//   int, long   zig-zag varint, at most 5 / 10 bytes
//   float       4 bytes little-endian IEEE 754; double 8 bytes
//   boolean     one byte, 0 or 1
//   bytes       long length, then that many bytes; string the same, UTF-8
//   fixed       exactly `size` bytes
// The input is untrusted: every read checks the remaining length first, and
// every error names the absolute byte offset (`base` + position) so a caller
// can point at the damage in the file.
#pragma once

#include <arrow/util/utf8.h>

#include <cstdint>
#include <cstring>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::formats::avro {

class BinaryCursor {
 public:
  BinaryCursor(const uint8_t* data, int64_t size, int64_t base_offset)
      : p_(data), begin_(data), end_(data + size), base_(base_offset) {}

  int64_t offset() const { return base_ + (p_ - begin_); }
  int64_t remaining() const { return end_ - p_; }
  bool at_end() const { return p_ == end_; }

  /// Budget for items that occupy no bytes (nulls, empty records): without
  /// it a few bytes could ask for 2^62 of them. Decremented by callers.
  int64_t zero_size_budget = int64_t{1} << 24;

  template <typename... Args>
  Status Error(Args&&... args) const {
    return Status::Invalid("byte offset ", offset(), ": ", std::forward<Args>(args)...);
  }

  /// Arrow's utf8 type requires valid UTF-8 (REQUIRES: arrow::util::InitializeUTF8()).
  Status CheckUtf8(std::string_view s) const {
    if (!arrow::util::ValidateUTF8(s)) return Error("string is not valid UTF-8");
    return Status::OK();
  }

  Status ReadLong(int64_t* out) {
    uint64_t v = 0;
    int shift = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) return Error("truncated varint");
      uint8_t b = *p_++;
      // The 10th byte may only carry the top bit of a 64-bit value.
      if (i == 9 && (b & 0xFE) != 0) return Error("varint longer than 64 bits");
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *out = static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
        return Status::OK();
      }
      shift += 7;
    }
    return Error("varint longer than 64 bits");
  }

  Status ReadInt(int32_t* out) {
    int64_t v;
    ARROW_RETURN_NOT_OK(ReadLong(&v));
    if (v < INT32_MIN || v > INT32_MAX) return Error("int out of 32-bit range: ", v);
    *out = static_cast<int32_t>(v);
    return Status::OK();
  }

  Status ReadBool(bool* out) {
    if (p_ == end_) return Error("truncated boolean");
    uint8_t b = *p_++;
    if (b > 1) return Error("boolean byte is ", static_cast<int>(b));
    *out = b == 1;
    return Status::OK();
  }

  Status ReadFloat(float* out) {
    if (remaining() < 4) return Error("truncated float");
    std::memcpy(out, p_, 4);  // Avro is little-endian, as are our targets
    p_ += 4;
    return Status::OK();
  }

  Status ReadDouble(double* out) {
    if (remaining() < 8) return Error("truncated double");
    std::memcpy(out, p_, 8);
    p_ += 8;
    return Status::OK();
  }

  /// bytes / string: a length then the payload; the view points into the input.
  Status ReadBytes(std::string_view* out) {
    int64_t len;
    ARROW_RETURN_NOT_OK(ReadLong(&len));
    if (len < 0) return Error("negative length ", len);
    if (len > remaining())
      return Error("length ", len, " exceeds the ", remaining(), " bytes left");
    *out = std::string_view(reinterpret_cast<const char*>(p_), static_cast<size_t>(len));
    p_ += len;
    return Status::OK();
  }

  Status ReadFixed(int64_t size, const uint8_t** out) {
    if (size > remaining())
      return Error("fixed of ", size, " bytes exceeds the ", remaining(), " left");
    *out = p_;
    p_ += size;
    return Status::OK();
  }

  /// The count of the next array/map block (0 ends the value). A negative
  /// count is followed by the block's byte size, which we read and ignore.
  /// `item_min_bytes` is the least an item can occupy: it bounds the count
  /// by the bytes left, or charges zero_size_budget when items may be empty.
  Status ReadBlockCount(int64_t item_min_bytes, int64_t* count) {
    int64_t n;
    ARROW_RETURN_NOT_OK(ReadLong(&n));
    if (n < 0) {
      if (n == INT64_MIN) return Error("invalid block count");
      n = -n;
      int64_t size;
      ARROW_RETURN_NOT_OK(ReadLong(&size));
      if (size < 0) return Error("negative block size ", size);
    }
    ARROW_RETURN_NOT_OK(CheckCount(n, item_min_bytes));
    *count = n;
    return Status::OK();
  }

  /// Rejects `n` items that cannot fit in what is left of the input.
  Status CheckCount(int64_t n, int64_t item_min_bytes) {
    if (item_min_bytes > 0) {
      if (n > remaining() / item_min_bytes) {
        return Error("count ", n, " cannot fit in the ", remaining(), " bytes left");
      }
    } else {
      zero_size_budget -= n;
      if (n < 0 || zero_size_budget < 0) return Error("too many zero-size items (count ", n, ")");
    }
    return Status::OK();
  }

 private:
  const uint8_t* p_;
  const uint8_t* begin_;
  const uint8_t* end_;
  int64_t base_;
};

}  // namespace sluice::formats::avro
