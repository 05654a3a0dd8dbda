#include "sluice/formats/avro/ocf_extent.h"

#include <cstring>

#include "sluice/formats/avro/binary_cursor.h"

namespace sluice::formats::avro {

OcfExtent CheckOcfExtent(std::string_view bytes) {
  static constexpr char kMagic[4] = {'O', 'b', 'j', 1};
  if (bytes.size() < 4) {
    return std::memcmp(bytes.data(), kMagic, bytes.size()) == 0 ? OcfExtent::kTruncated
                                                                : OcfExtent::kDamaged;
  }
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) return OcfExtent::kDamaged;
  BinaryCursor in(reinterpret_cast<const uint8_t*>(bytes.data()) + 4,
                  static_cast<int64_t>(bytes.size()) - 4, 4);
  auto skip = [&](int64_t n) {
    const uint8_t* ignored = nullptr;
    (void)in.ReadFixed(n, &ignored);  // n <= remaining() is checked by every caller
  };
  // Header metadata: a map<bytes> as blocks of entries ending with count 0.
  // Running out of bytes anywhere in the frame means "not written yet".
  auto skip_bytes = [&](bool* ok) {
    int64_t n = 0;
    if (!in.ReadLong(&n).ok() || n < 0 || n > in.remaining()) {
      *ok = false;
      return;
    }
    skip(n);
  };
  for (;;) {
    int64_t count = 0;
    if (!in.ReadLong(&count).ok()) return OcfExtent::kTruncated;
    if (count == 0) break;
    if (count < 0) {
      if (count == INT64_MIN) return OcfExtent::kDamaged;
      count = -count;
      int64_t block_bytes = 0;
      if (!in.ReadLong(&block_bytes).ok()) return OcfExtent::kTruncated;
    }
    for (int64_t i = 0; i < count; ++i) {
      bool ok = true;
      skip_bytes(&ok);
      if (ok) skip_bytes(&ok);
      if (!ok) return OcfExtent::kTruncated;
    }
  }
  if (in.remaining() < 16) return OcfExtent::kTruncated;
  const char* sync = bytes.data() + in.offset();
  skip(16);
  while (!in.at_end()) {
    int64_t count = 0, size = 0;
    if (!in.ReadLong(&count).ok() || !in.ReadLong(&size).ok()) return OcfExtent::kTruncated;
    if (count < 0 || size < 0) return OcfExtent::kDamaged;
    if (size > in.remaining() || in.remaining() - size < 16) return OcfExtent::kTruncated;
    skip(size);
    if (std::memcmp(bytes.data() + in.offset(), sync, 16) != 0) return OcfExtent::kDamaged;
    skip(16);
  }
  return OcfExtent::kWhole;
}

}  // namespace sluice::formats::avro
