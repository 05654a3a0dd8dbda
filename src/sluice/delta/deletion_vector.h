// Deletion vector storage (PROTOCOL.md "Deletion Vectors", "Deletion Vector
// File Storage Format"): writing DV files and inline DVs, resolving a
// descriptor to its file, and reading a DV back with its integrity checks.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>

#include <cstdint>
#include <memory>
#include <string>

#include "sluice/core/status.h"
#include "sluice/delta/actions.h"
#include "sluice/delta/deletion_bitmap.h"

namespace sluice::delta {

/// Writes one DV file holding several DVs (typically one per data file
/// touched by a commit): a version byte (1), then per DV its size (int32 BE),
/// the serialized bitmap and its CRC-32 (int32 BE). The file is named after a
/// fresh random UUID, `[<prefix>/]deletion_vector_<uuid>.bin` under the table
/// root, so descriptors can use storage type 'u'.
class DeletionVectorFileWriter {
 public:
  /// `random_prefix_length` > 0 puts the file under a random alphanumeric
  /// directory of that length (the protocol's optional "random prefix",
  /// spreading files over object-store key ranges); Spark's default is 0.
  DeletionVectorFileWriter(std::shared_ptr<arrow::fs::FileSystem> fs, std::string table_root,
                           int random_prefix_length = 0);
  ~DeletionVectorFileWriter();

  DeletionVectorFileWriter(const DeletionVectorFileWriter&) = delete;
  DeletionVectorFileWriter& operator=(const DeletionVectorFileWriter&) = delete;

  /// Appends a DV (the file is created on the first call) and returns its
  /// descriptor, which becomes valid once Finish() has succeeded.
  Result<DeletionVectorDescriptor> Add(const DeletionBitmap& bitmap);

  /// Closes the file. Without any Add() no file is written.
  Status Finish();

  /// Path of the file relative to the table root.
  const std::string& relative_path() const { return relative_path_; }
  /// Number of DVs added so far.
  int num_deletion_vectors() const { return count_; }

 private:
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string table_root_;
  std::string relative_path_;
  std::string path_or_inline_dv_;  ///< prefix + z85(uuid)
  std::shared_ptr<arrow::io::OutputStream> out_;
  int64_t position_ = 0;
  int count_ = 0;
  bool finished_ = false;
};

/// An inline ('i') descriptor: the z85 text of the serialized bitmap (zero
/// padded to a multiple of 4 bytes; sizeInBytes is the unpadded size).
/// Only sensible for small DVs, since it lives in the log.
DeletionVectorDescriptor InlineDeletionVector(const DeletionBitmap& bitmap);

/// The file path relative to the table root of a 'u' descriptor:
/// `[<prefix>/]deletion_vector_<uuid>.bin`. Invalid for other storage types.
Result<std::string> DeletionVectorRelativePath(const DeletionVectorDescriptor& dv);

/// The DV file's path within `table_root`'s filesystem: table_root joined
/// with the relative path for 'u', the descriptor's path for 'p' (a URI such
/// as file:///... is turned into a path of `fs`). Invalid for 'i'.
Result<std::string> DeletionVectorAbsolutePath(arrow::fs::FileSystem& fs,
                                               const std::string& table_root,
                                               const DeletionVectorDescriptor& dv);

/// Loads the DV of any storage type, verifying the file version, the stored
/// size against sizeInBytes, the CRC-32 and the cardinality. Errors name the
/// DV file and offset.
Result<DeletionBitmap> ReadDeletionVector(arrow::fs::FileSystem& fs, const std::string& table_root,
                                          const DeletionVectorDescriptor& dv);

}  // namespace sluice::delta
