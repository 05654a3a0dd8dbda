// The bytes of one part of a Datastream file (a byte range [begin, end) of a
// file too large to decode whole, FileStream::DecodeFilePart), read by ranged
// reads only: the records that *start* in the range, so that the parts of a
// file hold each record exactly once whatever the part size.
//
//   Avro  a block starts right after the header or right after a sync marker
//         (a damaged block runs to the next marker, as the whole-file reader
//         skips it). A part is the header followed by the blocks starting in
//         [begin, end); the last one is read to its end, past `end`.
//   JSON  NDJSON: an event starts at 0 or right after '\n'. A part is the
//         lines starting in [begin, end), the last one read to its end.
//
// A file that cannot be cut (not an Avro container, a JSON array, gzip) is
// read whole by the part that starts at 0 and is empty in the others, so it
// is still decoded exactly once, as a whole file.
#pragma once

#include <arrow/io/type_fwd.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>

#include "sluice/core/status.h"

namespace sluice::sources::datastream {

struct FilePart {
  enum class Kind {
    kRecords,    ///< `bytes`: `prefix` bytes from the file's start, then records
    kWholeFile,  ///< the file cannot be cut: `bytes` is all of it
    kEmpty,      ///< no record starts in the range
  };
  Kind kind = Kind::kEmpty;
  std::shared_ptr<arrow::Buffer> bytes;
  /// Bytes kept from the file's start before the records (the Avro header).
  int64_t prefix = 0;
  /// File offset of the first record byte (bytes[prefix]).
  int64_t records_at = 0;
};

/// The part [begin, end) of an Avro object container file of `file_size`
/// bytes.
Result<FilePart> ReadAvroPart(arrow::io::RandomAccessFile& file, int64_t file_size, int64_t begin,
                              int64_t end);

/// The part [begin, end) of a JSON events file of `file_size` bytes.
Result<FilePart> ReadJsonPart(arrow::io::RandomAccessFile& file, int64_t file_size, int64_t begin,
                              int64_t end);

}  // namespace sluice::sources::datastream
