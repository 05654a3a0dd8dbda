#include "sluice/formats/avro/codec.h"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <memory>

namespace sluice::formats::avro {

Result<Codec> CodecFromName(std::string_view name) {
  if (name.empty() || name == "null") return Codec::kNull;
  if (name == "deflate") return Codec::kDeflate;
  if (name == "snappy") return Codec::kSnappy;
  if (name == "zstandard") return Codec::kZstandard;
  return Status::NotImplemented("unsupported Avro codec \"", std::string(name.substr(0, 64)), "\"");
}

std::string_view CodecName(Codec c) {
  switch (c) {
    case Codec::kNull:
      return "null";
    case Codec::kDeflate:
      return "deflate";
    case Codec::kSnappy:
      return "snappy";
    case Codec::kZstandard:
      return "zstandard";
  }
  return "?";
}

namespace {

// Output grows geometrically from a guess, never beyond max_out.
size_t NextSize(size_t current, int64_t max_out) {
  size_t want = std::max<size_t>(current * 2, 64 * 1024);
  return std::min<size_t>(want, static_cast<size_t>(max_out));
}

Result<std::string_view> Inflate(std::string_view in, int64_t max_out, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return Status::IOError("inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  out->resize(
      std::min<size_t>(std::max<size_t>(in.size() * 4, 1024), static_cast<size_t>(max_out)));
  size_t produced = 0;
  for (;;) {
    if (produced == out->size()) {
      if (static_cast<int64_t>(produced) >= max_out) {
        return Status::Invalid("deflate block inflates beyond ", max_out, " bytes");
      }
      out->resize(NextSize(out->size(), max_out));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out->size() - produced, UINT32_MAX));
    size_t before = zs.avail_out;
    int rc = inflate(&zs, Z_NO_FLUSH);
    produced += before - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) return Status::Invalid("truncated deflate data");
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Status::Invalid("corrupt deflate data: ", zs.msg ? zs.msg : "error ", rc);
    }
  }
  return std::string_view(out->data(), produced);
}

Result<std::string_view> Unsnappy(std::string_view in, int64_t max_out, std::string* out) {
  if (in.size() < 4) return Status::Invalid("snappy block shorter than its CRC");
  std::string_view body = in.substr(0, in.size() - 4);
  size_t len = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &len)) {
    return Status::Invalid("corrupt snappy header");
  }
  if (len > static_cast<size_t>(max_out)) {
    return Status::Invalid("snappy block claims ", len, " bytes, more than ", max_out);
  }
  out->resize(len);
  if (!snappy::RawUncompress(body.data(), body.size(), out->data())) {
    return Status::Invalid("corrupt snappy data");
  }
  auto crc_bytes = reinterpret_cast<const uint8_t*>(in.data() + body.size());
  uint32_t want = (uint32_t{crc_bytes[0]} << 24) | (uint32_t{crc_bytes[1]} << 16) |
                  (uint32_t{crc_bytes[2]} << 8) | uint32_t{crc_bytes[3]};
  uint32_t got = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(out->data()), static_cast<uInt>(len)));
  if (want != got) return Status::Invalid("snappy CRC32 mismatch");
  return std::string_view(out->data(), len);
}

Result<std::string_view> Unzstd(std::string_view in, int64_t max_out, std::string* out) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return Status::OutOfMemory("ZSTD_createDCtx");
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  out->resize(
      std::min<size_t>(std::max<size_t>(in.size() * 4, 1024), static_cast<size_t>(max_out)));
  size_t produced = 0;
  size_t last = 1;
  while (src.pos < src.size) {
    if (produced == out->size()) {
      if (static_cast<int64_t>(produced) >= max_out) {
        return Status::Invalid("zstd block decompresses beyond ", max_out, " bytes");
      }
      out->resize(NextSize(out->size(), max_out));
    }
    ZSTD_outBuffer dst{out->data() + produced, out->size() - produced, 0};
    last = ZSTD_decompressStream(ctx.get(), &dst, &src);
    produced += dst.pos;
    if (ZSTD_isError(last)) return Status::Invalid("corrupt zstd data: ", ZSTD_getErrorName(last));
    // Flush what the context still buffers once the input is consumed.
    if (src.pos == src.size && last != 0 && dst.pos == dst.size) continue;
    if (src.pos == src.size) break;
  }
  if (last != 0) return Status::Invalid("truncated zstd frame");
  return std::string_view(out->data(), produced);
}

}  // namespace

Result<std::string_view> Decompress(Codec codec, std::string_view in, int64_t max_out,
                                    std::string* scratch) {
  switch (codec) {
    case Codec::kNull:
      return in;
    case Codec::kDeflate:
      return Inflate(in, max_out, scratch);
    case Codec::kSnappy:
      return Unsnappy(in, max_out, scratch);
    case Codec::kZstandard:
      return Unzstd(in, max_out, scratch);
  }
  return Status::Invalid("unknown codec");
}

}  // namespace sluice::formats::avro
