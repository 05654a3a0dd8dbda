// Decodes one Datastream output file (Avro object container or JSON events)
// into Arrow batches of events, keeping whatever could not be decoded as
// `BadInput` (offset, reason, raw bytes) instead of failing the file: the
// pipeline turns those into dead-letter rows and goes on.
#pragma once

#include <arrow/io/type_fwd.h>
#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources::datastream {

enum class FileFormat { kAvro, kJson };

struct DecodeOptions {
  FileFormat format = FileFormat::kAvro;
  /// BIGINT UNSIGNED (`number` logical type) as decimal(38,0), or as string.
  bool number_as_string = false;
  /// JSON only: pinned payload column types.
  std::map<std::string, std::shared_ptr<arrow::DataType>> pinned_types;
  int64_t batch_size = 64 * 1024;
};

struct BadInput {
  int64_t offset = 0;
  std::string reason;
  std::string raw;
};

struct DecodedFile {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  std::vector<BadInput> bad;
  /// True when nothing of the file could be read (e.g. not an Avro file):
  /// `bad` then holds the whole file.
  bool unreadable = false;
};

/// Decodes `bytes`; `where` names the file in every message. Returns an
/// error only for internal failures, never for bad input.
Result<DecodedFile> DecodeFile(const std::shared_ptr<arrow::Buffer>& bytes,
                               const std::string& where, const DecodeOptions& options);

/// Decodes the records of the file that start in [begin, end) (file_parts.h)
/// from ranged reads of `file` (`file_size` bytes); offsets in `bad` are the
/// file's, lines in messages count from the part's first. JSON types are
/// inferred from the part's events alone, as they are from a file's.
Result<DecodedFile> DecodeFilePart(arrow::io::RandomAccessFile& file, int64_t file_size,
                                   int64_t begin, int64_t end, const std::string& where,
                                   const DecodeOptions& options);

}  // namespace sluice::sources::datastream
