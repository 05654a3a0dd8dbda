#include "sluice/sources/gzip_spool.h"

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

namespace sluice::sources {

namespace {

// FNV-1a, 64 bits: a stable name for a key across processes and builds.
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Inflates `in` into `out`; a gzip member that ends is followed by another
// one while input remains.
Status Inflate(arrow::io::InputStream& in, std::ofstream& out, const std::string& key,
               int64_t* written) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::OutOfMemory("inflateInit2");
  std::vector<char> obuf(1 << 20);
  std::shared_ptr<arrow::Buffer> chunk;
  int64_t used = 0;
  bool ended = false;  // the last member ended (and nothing followed yet)
  Status st;
  while (st.ok()) {
    if (!chunk || used == chunk->size()) {
      auto next = in.Read(1 << 20);
      if (!next.ok()) {
        st = next.status();
        break;
      }
      chunk = *next;
      used = 0;
      if (chunk->size() == 0) break;  // end of input
    }
    if (ended) {  // another member follows
      inflateReset(&zs);
      ended = false;
    }
    zs.next_in = const_cast<Bytef*>(chunk->data() + used);
    zs.avail_in = static_cast<uInt>(chunk->size() - used);
    do {  // until zlib has no more output for this input
      zs.next_out = reinterpret_cast<Bytef*>(obuf.data());
      zs.avail_out = static_cast<uInt>(obuf.size());
      const int rc = inflate(&zs, Z_NO_FLUSH);
      const size_t produced = obuf.size() - zs.avail_out;
      if (produced > 0) {
        out.write(obuf.data(), static_cast<std::streamsize>(produced));
        *written += static_cast<int64_t>(produced);
      }
      if (rc == Z_STREAM_END) {
        ended = true;
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        st = Status::IOError("spooling ", key, ": damaged gzip stream (",
                             zs.msg ? zs.msg : "inflate failed", ")");
        break;
      }
    } while (zs.avail_out == 0);
    used = chunk->size() - static_cast<int64_t>(zs.avail_in);
  }
  inflateEnd(&zs);
  if (st.ok() && !ended) st = Status::IOError("spooling ", key, ": the gzip stream is cut short");
  if (st.ok() && !out) st = Status::IOError("spooling ", key, ": writing the spool failed");
  return st;
}

}  // namespace

std::string GzipSpool::PathOf(const std::string& key) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%016llx.spool", static_cast<unsigned long long>(Fnv1a(key)));
  return (std::filesystem::path(dir_) / name).string();
}

Result<std::optional<GzipSpool::Spooled>> GzipSpool::Find(const std::string& key) const {
  const std::string path = PathOf(key);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  return Spooled{path, static_cast<int64_t>(size)};
}

void GzipSpool::Remove(const std::string& key) const {
  std::error_code ec;
  std::filesystem::remove(PathOf(key), ec);
}

Result<GzipSpool::Spooled> GzipSpool::Get(
    const std::string& key,
    const std::function<Result<std::shared_ptr<arrow::io::InputStream>>()>& open) {
  ARROW_ASSIGN_OR_RAISE(auto found, Find(key));
  if (found) return *found;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::IOError("cannot create the spool folder ", dir_, ": ", ec.message());
  const std::string path = PathOf(key);
  // Unique per process and call: parts of one file may be decoded at once.
  static std::atomic<uint64_t> serial{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(serial++);
  ARROW_ASSIGN_OR_RAISE(auto in, open());
  int64_t written = 0;
  Status st;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IOError("cannot write the spool file ", tmp);
    st = Inflate(*in, out, key, &written);
    out.close();
    if (st.ok() && !out) st = Status::IOError("spooling ", key, ": writing ", tmp, " failed");
  }
  if (st.ok()) {
    std::filesystem::rename(tmp, path, ec);
    if (ec) st = Status::IOError("spooling ", key, ": cannot rename ", tmp, ": ", ec.message());
  }
  if (!st.ok()) {
    std::filesystem::remove(tmp, ec);
    return st;
  }
  return Spooled{path, written};
}

}  // namespace sluice::sources
