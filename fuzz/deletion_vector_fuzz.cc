// libFuzzer target: a serialized RoaringBitmapArray (the bytes of a deletion
// vector file or an inline DV) from untrusted storage.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sluice/delta/deletion_bitmap.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto bitmap = sluice::delta::DeletionBitmap::Deserialize(bytes);
  if (bitmap.ok()) {
    // Whatever decodes must round-trip to the same set.
    auto again = sluice::delta::DeletionBitmap::Deserialize(bitmap->Serialize());
    if (!again.ok() || !(*again == *bitmap)) __builtin_trap();
  }
  return 0;
}
