#include "sluice/formats/json/gzip.h"

#include <zlib.h>

#include <algorithm>

namespace sluice::formats::json {

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

Result<GunzipResult> Gunzip(std::string_view in, int64_t max_out, size_t padding) {
  GunzipResult r;
  z_stream zs{};
  // 16 + MAX_WBITS: gzip wrapper only.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::OutOfMemory("inflateInit2");
  std::string& out = r.data;
  out.resize(
      std::min<size_t>(std::max<size_t>(in.size() * 4, 4096), static_cast<size_t>(max_out) + 1));
  size_t produced = 0;
  size_t consumed = 0;
  Status status;
  while (true) {
    if (produced == out.size()) {
      if (static_cast<int64_t>(produced) > max_out) {
        status = Status::CapacityError("gzip: decompressed data exceeds ", max_out, " bytes");
        break;
      }
      out.resize(std::min<size_t>(out.size() * 2, static_cast<size_t>(max_out) + 1));
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + consumed));
    zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size() - consumed, 1u << 30));
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - produced, 1u << 30));
    const uInt in_before = zs.avail_in, out_before = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    consumed += in_before - zs.avail_in;
    produced += out_before - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Another member may follow; trailing zero padding is tolerated.
      const std::string_view rest = in.substr(consumed);
      if (rest.empty() || rest.find_first_not_of('\0') == std::string_view::npos) break;
      if (!IsGzip(rest)) {
        r.damage = "gzip: garbage after the last member";
        break;
      }
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_OK || rc == Z_BUF_ERROR) {
      const bool progress = in_before != zs.avail_in || out_before != zs.avail_out;
      if (progress || zs.avail_out == 0) continue;  // a full output grows above
      r.damage = "gzip: stream truncated";
      break;
    }
    r.damage = std::string("gzip: corrupt stream (") + (zs.msg ? zs.msg : "inflate failed") + ")";
    break;
  }
  inflateEnd(&zs);
  ARROW_RETURN_NOT_OK(status);
  if (static_cast<int64_t>(produced) > max_out) {
    return Status::CapacityError("gzip: decompressed data exceeds ", max_out, " bytes");
  }
  r.damage_offset = static_cast<int64_t>(consumed);
  r.size = static_cast<int64_t>(produced);
  out.resize(produced + padding);
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(produced), out.end(), '\0');
  return r;
}

}  // namespace sluice::formats::json
