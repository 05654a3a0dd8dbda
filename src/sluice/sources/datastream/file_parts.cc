#include "sluice/sources/datastream/file_parts.h"

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "sluice/formats/avro/ocf_reader.h"
#include "sluice/formats/json/gzip.h"

namespace sluice::sources::datastream {

namespace {

constexpr int64_t kSyncSize = 16;
// A scan for a block or line start ends within a block (line) of where it
// starts: its reads start small and double, so a part reads little beyond
// its bytes whatever the records' size.
constexpr int64_t kFirstScanRead = 1024;
constexpr int64_t kLargestScanRead = 1024 * 1024;
// Datastream headers hold the writer schema: a few KB.
constexpr int64_t kFirstHeaderRead = 16 * 1024;

std::string_view View(const arrow::Buffer& b) {
  return {reinterpret_cast<const char*>(b.data()), static_cast<size_t>(b.size())};
}

Status ShortRead(int64_t got, int64_t length, int64_t offset) {
  return Status::IOError("short read: ", got, " of ", length, " bytes at offset ", offset);
}

Result<std::shared_ptr<arrow::Buffer>> ReadRange(arrow::io::RandomAccessFile& file, int64_t offset,
                                                 int64_t length) {
  ARROW_ASSIGN_OR_RAISE(auto bytes, file.ReadAt(offset, length));
  if (bytes->size() != length) return ShortRead(bytes->size(), length, offset);
  return bytes;
}

// The first offset >= `from` where `needle` occurs in the file, or
// `file_size` when it does not.
Result<int64_t> Find(arrow::io::RandomAccessFile& file, int64_t file_size, int64_t from,
                     std::string_view needle) {
  const int64_t overlap = static_cast<int64_t>(needle.size()) - 1;
  int64_t chunk_bytes = kFirstScanRead;
  for (int64_t at = std::max<int64_t>(from, 0); at < file_size;
       chunk_bytes = std::min(chunk_bytes * 2, kLargestScanRead)) {
    const int64_t n = std::min(chunk_bytes, file_size - at);
    ARROW_ASSIGN_OR_RAISE(auto chunk, ReadRange(file, at, n));
    const size_t found = View(*chunk).find(needle);
    if (found != std::string_view::npos) return at + static_cast<int64_t>(found);
    if (at + n >= file_size) break;
    at += n - overlap;  // a needle cut by the chunk's end is found in the next
  }
  return file_size;
}

// A file that cannot be cut is decoded whole by the part starting at 0.
Result<FilePart> WholeFileInFirstPart(arrow::io::RandomAccessFile& file, int64_t file_size,
                                      int64_t begin) {
  FilePart part;
  if (begin != 0) return part;
  part.kind = FilePart::Kind::kWholeFile;
  ARROW_ASSIGN_OR_RAISE(part.bytes, ReadRange(file, 0, file_size));
  return part;
}

// The header (through its sync marker), or nullopt when the file does not
// open as an Avro container (the whole-file decoder then says why).
Result<std::optional<std::shared_ptr<arrow::Buffer>>> ReadAvroHeader(
    arrow::io::RandomAccessFile& file, int64_t file_size) {
  for (int64_t n = std::min(kFirstHeaderRead, file_size);; n = std::min(n * 4, file_size)) {
    ARROW_ASSIGN_OR_RAISE(auto prefix, ReadRange(file, 0, n));
    if (n < 4 || std::memcmp(prefix->data(), "Obj\x01", 4) != 0) return std::nullopt;
    auto reader = formats::avro::OcfReader::Open(prefix, "");
    if (reader.ok()) return arrow::SliceBuffer(prefix, 0, (*reader)->offset());
    if (n == file_size) return std::nullopt;  // a header the reader rejects
  }
}

// `head`, then the file's bytes [offset, offset + length), read straight
// into one buffer (a part is large: it is not copied again).
Result<std::shared_ptr<arrow::Buffer>> HeadThenRange(const arrow::Buffer& head,
                                                     arrow::io::RandomAccessFile& file,
                                                     int64_t offset, int64_t length) {
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> out,
                        arrow::AllocateBuffer(head.size() + length));
  uint8_t* dst = out->mutable_data();
  if (head.size() > 0) std::memcpy(dst, head.data(), static_cast<size_t>(head.size()));
  ARROW_ASSIGN_OR_RAISE(int64_t n, file.ReadAt(offset, length, dst + head.size()));
  if (n != length) return ShortRead(n, length, offset);
  return out;
}

// Whether a JSON file is NDJSON (cut at lines): not gzip, and its first
// byte after a BOM and blanks is not '[' (an array).
Result<bool> IsNdjson(arrow::io::RandomAccessFile& file, int64_t file_size) {
  int64_t chunk_bytes = kFirstScanRead;
  for (int64_t at = 0; at < file_size;
       at += chunk_bytes, chunk_bytes = std::min(chunk_bytes * 2, kLargestScanRead)) {
    ARROW_ASSIGN_OR_RAISE(auto chunk, ReadRange(file, at, std::min(chunk_bytes, file_size - at)));
    std::string_view text = View(*chunk);
    if (at == 0) {
      if (formats::json::IsGzip(text)) return false;
      if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    }
    const size_t content = text.find_first_not_of(" \t\r\n");
    if (content != std::string_view::npos) return text[content] != '[';
  }
  return true;
}

}  // namespace

Result<FilePart> ReadAvroPart(arrow::io::RandomAccessFile& file, int64_t file_size, int64_t begin,
                              int64_t end) {
  if (begin >= file_size) return FilePart{};
  ARROW_ASSIGN_OR_RAISE(auto header, ReadAvroHeader(file, file_size));
  if (!header) return WholeFileInFirstPart(file, file_size, begin);
  const int64_t header_end = (*header)->size();
  const std::string_view sync = View(**header).substr(static_cast<size_t>(header_end - kSyncSize));
  // The first block start at or after `at`: the header's end, or just after
  // a sync marker (file_size when none is left).
  auto block_start = [&](int64_t at) -> Result<int64_t> {
    if (at <= header_end) return header_end;
    ARROW_ASSIGN_OR_RAISE(int64_t marker, Find(file, file_size, at - kSyncSize, sync));
    return marker == file_size ? file_size : marker + kSyncSize;
  };
  ARROW_ASSIGN_OR_RAISE(int64_t first, block_start(begin));
  if (first >= end || first >= file_size) return FilePart{};
  ARROW_ASSIGN_OR_RAISE(int64_t last, block_start(end));
  FilePart part;
  part.kind = FilePart::Kind::kRecords;
  ARROW_ASSIGN_OR_RAISE(part.bytes, HeadThenRange(**header, file, first, last - first));
  part.prefix = header_end;
  part.records_at = first;
  return part;
}

Result<FilePart> ReadJsonPart(arrow::io::RandomAccessFile& file, int64_t file_size, int64_t begin,
                              int64_t end) {
  if (begin >= file_size) return FilePart{};
  ARROW_ASSIGN_OR_RAISE(bool ndjson, IsNdjson(file, file_size));
  if (!ndjson) return WholeFileInFirstPart(file, file_size, begin);
  // The first line start at or after `at`: 0, or just after a '\n'.
  auto line_start = [&](int64_t at) -> Result<int64_t> {
    if (at == 0) return 0;
    ARROW_ASSIGN_OR_RAISE(int64_t newline, Find(file, file_size, at - 1, "\n"));
    return newline == file_size ? file_size : newline + 1;
  };
  ARROW_ASSIGN_OR_RAISE(int64_t first, line_start(begin));
  if (first >= end || first >= file_size) return FilePart{};
  ARROW_ASSIGN_OR_RAISE(int64_t last, line_start(end));
  FilePart part;
  part.kind = FilePart::Kind::kRecords;
  ARROW_ASSIGN_OR_RAISE(part.bytes, ReadRange(file, first, last - first));
  part.records_at = first;
  return part;
}

}  // namespace sluice::sources::datastream
