// Z85 (ZeroMQ RFC 32) base-85 text encoding, the variant Delta uses to put
// binary data (deletion vector UUIDs, inline deletion vectors) into JSON.
#pragma once

#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::delta {

/// Encodes `bytes` as Z85: every 4-byte big-endian block becomes 5 characters.
/// Z85 itself only defines 4-byte aligned input; like Delta's own codec, an
/// unaligned input is padded with zero bytes to the next multiple of 4, so the
/// caller must remember the real length (Delta keeps it in sizeInBytes).
std::string Z85Encode(std::string_view bytes);

/// Decodes Z85 text; the result has 4/5 of the text's length (including any
/// padding the encoder added). Fails on a length that is not a multiple of 5,
/// on characters outside the Z85 alphabet and on 5-character groups whose
/// value exceeds 2^32 - 1.
Result<std::string> Z85Decode(std::string_view text);

}  // namespace sluice::delta
