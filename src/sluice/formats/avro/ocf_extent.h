// Whether an Avro object container file is whole: a file being written in
// place (a local source directory) is a valid prefix of the final file, so a
// reader must tell "ends mid-block" (still being written, or truncated) from
// "ends on a block boundary". Walks the header and the block frames (count,
// size, data, sync marker) without decompressing or decoding anything.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::formats::avro {

enum class OcfExtent {
  kWhole,      ///< header, then whole blocks each ending with the sync marker, then EOF
  kTruncated,  ///< ends inside the header or a block: may still be being written
  kDamaged,    ///< a frame that no writer produces (bad magic, sync mismatch, negative size)
};

OcfExtent CheckOcfExtent(std::string_view bytes);

}  // namespace sluice::formats::avro
