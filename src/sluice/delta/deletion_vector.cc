#include "sluice/delta/deletion_vector.h"

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <zlib.h>

#include <array>
#include <limits>
#include <random>

#include "sluice/core/bytes_written.h"
#include "sluice/delta/z85.h"
#include "sluice/io/filesystem_opener.h"

namespace sluice::delta {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr size_t kEncodedUuidLength = 20;  // z85 of 16 bytes

uint32_t Crc32(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed in chunks so > 4 GiB inputs stay correct.
  while (!data.empty()) {
    const size_t n = std::min<size_t>(data.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

void PutU32BE(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32BE(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// A version-4 (random) UUID as its 16 big-endian bytes, the order Delta
// (java.util.UUID msb/lsb) encodes.
std::string RandomUuidBytes() {
  std::random_device rd;
  std::string bytes(16, '\0');
  for (size_t i = 0; i < 16; i += 4) {
    const uint32_t r = rd();
    for (size_t j = 0; j < 4; ++j) bytes[i + j] = static_cast<char>((r >> (8 * j)) & 0xff);
  }
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);  // IETF variant
  return bytes;
}

std::string UuidText(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    const auto b = static_cast<uint8_t>(bytes[i]);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string RandomPrefix(int length) {
  static constexpr std::string_view kChars =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::random_device rd;
  std::uniform_int_distribution<size_t> pick(0, kChars.size() - 1);
  std::string out;
  for (int i = 0; i < length; ++i) out.push_back(kChars[pick(rd)]);
  return out;
}

std::string FileName(std::string_view uuid_bytes) {
  return "deletion_vector_" + UuidText(uuid_bytes) + ".bin";
}

std::string JoinPath(const std::string& root, const std::string& rel) {
  if (root.empty()) return rel;
  if (root.back() == '/') return root + rel;
  return root + "/" + rel;
}

Result<DeletionBitmap> CheckCardinality(DeletionBitmap bitmap, const DeletionVectorDescriptor& dv,
                                        const std::string& where) {
  if (static_cast<int64_t>(bitmap.Cardinality()) != dv.cardinality) {
    return Status::Invalid("deletion vector ", where, " holds ", bitmap.Cardinality(),
                           " rows but its descriptor says cardinality ", dv.cardinality);
  }
  return bitmap;
}

Result<DeletionBitmap> ReadInline(const DeletionVectorDescriptor& dv) {
  ARROW_ASSIGN_OR_RAISE(std::string bytes, Z85Decode(dv.path_or_inline_dv));
  // The encoder zero-pads to a multiple of 4 bytes; sizeInBytes is exact.
  if (dv.size_in_bytes < 0 || bytes.size() < static_cast<size_t>(dv.size_in_bytes) ||
      bytes.size() - static_cast<size_t>(dv.size_in_bytes) >= 4) {
    return Status::Invalid("inline deletion vector decodes to ", bytes.size(),
                           " bytes, inconsistent with sizeInBytes ", dv.size_in_bytes);
  }
  bytes.resize(static_cast<size_t>(dv.size_in_bytes));
  auto bitmap = DeletionBitmap::Deserialize(bytes);
  if (!bitmap.ok()) {
    return bitmap.status().WithMessage("inline deletion vector: ", bitmap.status().message());
  }
  return CheckCardinality(std::move(bitmap).ValueUnsafe(), dv, "(inline)");
}

Result<DeletionBitmap> ReadFromFile(arrow::fs::FileSystem& fs, const std::string& path,
                                    const DeletionVectorDescriptor& dv) {
  const int64_t offset = dv.offset.value_or(0);
  const std::string where = path + " at offset " + std::to_string(offset);
  if (offset < 1 || dv.size_in_bytes < 0) {
    return Status::Invalid("deletion vector ", where, ": invalid offset/sizeInBytes ",
                           dv.size_in_bytes);
  }
  ARROW_ASSIGN_OR_RAISE(auto file, fs.OpenInputFile(path));
  ARROW_ASSIGN_OR_RAISE(int64_t file_size, file->GetSize());
  // Check against the file size before allocating anything sizeInBytes long.
  const int64_t end = offset + 4 + int64_t{dv.size_in_bytes} + 4;
  if (end > file_size) {
    return Status::Invalid("deletion vector ", where, " with sizeInBytes ", dv.size_in_bytes,
                           " extends past the end of the file (", file_size, " bytes)");
  }
  ARROW_ASSIGN_OR_RAISE(auto version, file->ReadAt(0, 1));
  if (version->size() != 1 || version->data()[0] != kFormatVersion) {
    return Status::Invalid("deletion vector file ", path, ": unsupported format version");
  }
  ARROW_ASSIGN_OR_RAISE(auto buf, file->ReadAt(offset, end - offset));
  if (buf->size() != end - offset) {
    return Status::IOError("deletion vector ", where, ": short read");
  }
  const uint8_t* p = buf->data();
  const uint32_t stored_size = GetU32BE(p);
  if (stored_size != static_cast<uint32_t>(dv.size_in_bytes)) {
    return Status::Invalid("deletion vector ", where, ": stored size ", stored_size,
                           " differs from sizeInBytes ", dv.size_in_bytes);
  }
  const std::string_view data(reinterpret_cast<const char*>(p + 4), stored_size);
  const uint32_t stored_crc = GetU32BE(p + 4 + stored_size);
  if (Crc32(data) != stored_crc) {
    return Status::Invalid("deletion vector ", where, ": CRC-32 mismatch");
  }
  auto bitmap = DeletionBitmap::Deserialize(data);
  if (!bitmap.ok()) {
    return bitmap.status().WithMessage("deletion vector ", where, ": ", bitmap.status().message());
  }
  return CheckCardinality(std::move(bitmap).ValueUnsafe(), dv, where);
}

}  // namespace

DeletionVectorFileWriter::DeletionVectorFileWriter(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                   std::string table_root, int random_prefix_length)
    : fs_(std::move(fs)), table_root_(std::move(table_root)) {
  const std::string uuid = RandomUuidBytes();
  const std::string prefix = RandomPrefix(random_prefix_length);
  path_or_inline_dv_ = prefix + Z85Encode(uuid);
  relative_path_ = prefix.empty() ? FileName(uuid) : prefix + "/" + FileName(uuid);
}

DeletionVectorFileWriter::~DeletionVectorFileWriter() {
  // An unfinished file is never referenced by the log; just release it.
  if (out_ && !finished_) (void)out_->Abort();
}

Result<DeletionVectorDescriptor> DeletionVectorFileWriter::Add(const DeletionBitmap& bitmap) {
  if (finished_) return Status::Invalid("DeletionVectorFileWriter already finished");
  const std::string data = bitmap.Serialize();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  // Offsets and sizes are Ints in the descriptor.
  if (static_cast<int64_t>(data.size()) > kMax || position_ > kMax) {
    return Status::CapacityError("deletion vector file ", relative_path_, " would exceed 2 GiB");
  }
  if (!out_) {
    const std::string path = JoinPath(table_root_, relative_path_);
    if (relative_path_.find('/') != std::string::npos && !io::IsObjectStore(*fs_)) {
      ARROW_RETURN_NOT_OK(fs_->CreateDir(path.substr(0, path.rfind('/')), /*recursive=*/true));
    }
    ARROW_ASSIGN_OR_RAISE(out_, fs_->OpenOutputStream(path));
    const char version = static_cast<char>(kFormatVersion);
    ARROW_RETURN_NOT_OK(out_->Write(&version, 1));
    position_ = 1;
  }
  std::string framed;
  framed.reserve(data.size() + 8);
  PutU32BE(framed, static_cast<uint32_t>(data.size()));
  framed += data;
  PutU32BE(framed, Crc32(data));
  ARROW_RETURN_NOT_OK(out_->Write(framed.data(), static_cast<int64_t>(framed.size())));

  DeletionVectorDescriptor dv;
  dv.storage_type = 'u';
  dv.path_or_inline_dv = path_or_inline_dv_;
  dv.offset = static_cast<int32_t>(position_);
  dv.size_in_bytes = static_cast<int32_t>(data.size());
  dv.cardinality = static_cast<int64_t>(bitmap.Cardinality());
  position_ += static_cast<int64_t>(framed.size());
  ++count_;
  return dv;
}

Status DeletionVectorFileWriter::Finish() {
  if (finished_) return Status::OK();
  finished_ = true;
  if (!out_) return Status::OK();
  ARROW_RETURN_NOT_OK(out_->Close());
  CountBytesWritten(position_);
  return Status::OK();
}

DeletionVectorDescriptor InlineDeletionVector(const DeletionBitmap& bitmap) {
  const std::string data = bitmap.Serialize();
  DeletionVectorDescriptor dv;
  dv.storage_type = 'i';
  dv.path_or_inline_dv = Z85Encode(data);
  dv.offset = std::nullopt;
  dv.size_in_bytes = static_cast<int32_t>(data.size());
  dv.cardinality = static_cast<int64_t>(bitmap.Cardinality());
  return dv;
}

Result<std::string> DeletionVectorRelativePath(const DeletionVectorDescriptor& dv) {
  if (dv.storage_type != 'u') {
    return Status::Invalid("deletion vector with storage type '", std::string(1, dv.storage_type),
                           "' has no relative path");
  }
  const std::string& s = dv.path_or_inline_dv;
  if (s.size() < kEncodedUuidLength) {
    return Status::Invalid("deletion vector pathOrInlineDv '", s,
                           "' is shorter than an encoded UUID");
  }
  const std::string prefix = s.substr(0, s.size() - kEncodedUuidLength);
  auto uuid = Z85Decode(std::string_view(s).substr(prefix.size()));
  if (!uuid.ok()) {
    return uuid.status().WithMessage("deletion vector pathOrInlineDv '", s,
                                     "': ", uuid.status().message());
  }
  const std::string name = FileName(*uuid);
  return prefix.empty() ? name : prefix + "/" + name;
}

Result<std::string> DeletionVectorAbsolutePath(arrow::fs::FileSystem& fs,
                                               const std::string& table_root,
                                               const DeletionVectorDescriptor& dv) {
  switch (dv.storage_type) {
    case 'u': {
      ARROW_ASSIGN_OR_RAISE(std::string rel, DeletionVectorRelativePath(dv));
      return JoinPath(table_root, rel);
    }
    case 'p':
      if (dv.path_or_inline_dv.find(':') != std::string::npos) {
        return fs.PathFromUri(dv.path_or_inline_dv);  // file://, s3://, ...
      }
      return dv.path_or_inline_dv;
    default:
      return Status::Invalid("deletion vector with storage type '", std::string(1, dv.storage_type),
                             "' has no file");
  }
}

Result<DeletionBitmap> ReadDeletionVector(arrow::fs::FileSystem& fs, const std::string& table_root,
                                          const DeletionVectorDescriptor& dv) {
  if (dv.storage_type == 'i') return ReadInline(dv);
  ARROW_ASSIGN_OR_RAISE(std::string path, DeletionVectorAbsolutePath(fs, table_root, dv));
  return ReadFromFile(fs, path, dv);
}

}  // namespace sluice::delta
