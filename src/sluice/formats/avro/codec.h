// Block codecs of Avro object container files (specification 1.11, "Required
// Codecs" / "Optional Codecs"):
//   null       data as is
//   deflate    raw DEFLATE (RFC 1951, no zlib header)
//   snappy     snappy block, followed by the 4-byte big-endian CRC32 of the
//              uncompressed data (checked)
//   zstandard  zstd frame(s)
// bzip2 and xz are refused by name. Decompressed size is capped: a small
// corrupt or hostile block must not claim gigabytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::formats::avro {

enum class Codec { kNull, kDeflate, kSnappy, kZstandard };

/// \brief The codec named by the `avro.codec` metadata ("" means null).
Result<Codec> CodecFromName(std::string_view name);

std::string_view CodecName(Codec c);

/// \brief Decompresses `in` into `*scratch` (reused across calls) and returns
/// a view of the result; for kNull returns `in` itself. Fails when the data is
/// corrupt or would exceed `max_out` bytes. The message does not name the
/// block: the caller adds where.
Result<std::string_view> Decompress(Codec codec, std::string_view in, int64_t max_out,
                                    std::string* scratch);

}  // namespace sluice::formats::avro
