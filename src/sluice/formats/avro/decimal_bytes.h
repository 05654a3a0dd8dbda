// Avro decimals are the unscaled value as big-endian two's complement bytes
// (any length, in `bytes` or `fixed`). Arrow's FromBigEndian takes at most
// 16 (decimal128) or 32 (decimal256) bytes, so redundant sign-extension
// bytes are stripped first; a value that still does not fit is an error.
#pragma once

#include <arrow/util/decimal.h>

#include <cstdint>
#include <string_view>

#include "sluice/formats/avro/binary_cursor.h"

namespace sluice::formats::avro {

/// \brief Drops leading 0x00 / 0xFF bytes that only repeat the sign, while
/// more than `max_len` bytes remain.
inline void TrimSignExtension(const uint8_t** data, int64_t* len, int64_t max_len) {
  while (*len > max_len) {
    uint8_t b0 = (*data)[0];
    uint8_t b1 = (*data)[1];
    bool redundant = (b0 == 0x00 && (b1 & 0x80) == 0) || (b0 == 0xFF && (b1 & 0x80) != 0);
    if (!redundant) return;
    ++*data;
    --*len;
  }
}

/// \brief Decodes the unscaled value into D (arrow::Decimal128 or Decimal256)
/// and checks it fits `precision` digits. Zero bytes mean 0.
template <typename D>
Status DecodeDecimal(const BinaryCursor& in, const uint8_t* data, int64_t len, int32_t precision,
                     D* out) {
  constexpr int64_t kMax = sizeof(D);
  TrimSignExtension(&data, &len, kMax);
  if (len > kMax) return in.Error("decimal of ", len, " bytes overflows ", kMax * 8, " bits");
  if (len == 0) {
    *out = D(0);
    return Status::OK();
  }
  auto value = D::FromBigEndian(data, static_cast<int32_t>(len));
  if (!value.ok()) return in.Error("bad decimal: ", value.status().message());
  if (!value->FitsInPrecision(precision)) {
    return in.Error("decimal value exceeds the declared precision ", precision);
  }
  *out = *value;
  return Status::OK();
}

}  // namespace sluice::formats::avro
