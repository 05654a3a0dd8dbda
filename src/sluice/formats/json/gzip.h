// Whole-file gzip decompression for Datastream JSON files (Datastream writes
// `.jsonl.gz` when compression is on). Multi-member files (cat a.gz b.gz)
// are read to the end. A truncated or corrupt stream is not an Open error:
// what decompressed cleanly is kept and the damage is described, so the
// complete lines before it still become rows.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::formats::json {

/// True when `bytes` start with the gzip magic 1f 8b.
bool IsGzip(std::string_view bytes);

struct GunzipResult {
  /// The decompressed bytes, followed by `padding` zero bytes that are not
  /// part of the data (simdjson reads past the end of its input).
  std::string data;
  int64_t size = 0;
  /// Empty when the stream ended cleanly; otherwise what went wrong.
  std::string damage;
  /// Compressed offset where the damage was found.
  int64_t damage_offset = 0;
};

/// \brief Fails only when the output would exceed `max_out` bytes.
Result<GunzipResult> Gunzip(std::string_view in, int64_t max_out, size_t padding);

}  // namespace sluice::formats::json
