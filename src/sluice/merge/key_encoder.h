// KeyEncoder: turns the primary-key columns of each row of a RecordBatch
// into one byte string, so that two rows have byte-equal keys exactly when
// their key values are equal. The merge compares, hashes and persists keys
// (tombstones) in this form only, never as Arrow scalars.
//
// Grammar (one key = the concatenation of its columns, in key-column order):
//
//   key    := column+
//   column := 'i' int64-be-signflipped     int8, int16, int32, int64, uint8..uint32
//           | 'u' uint64-be                uint64
//           | 'b' one byte 0|1             bool
//           | 'd' int32-be-signflipped     date32 (days)
//           | 't' unit-byte int64-be-sf    timestamp (unit 0=s 1=ms 2=us 3=ns; tz ignored)
//           | 'n' scale-byte 16 bytes      decimal128: two's complement, big endian,
//                                          sign bit flipped
//           | 'f' float64-be-ordered       float, double: the value as a double
//                                          (-0.0 as 0.0, every NaN as one quiet
//                                          NaN), negative: all bits flipped,
//                                          else the sign bit flipped
//           | 's' uint32-be length bytes   utf8, large_utf8
//           | 'y' uint32-be length bytes   binary, large_binary
//
// Every integer family is widened before encoding (int32 5 and int64 5 are
// the same key), and so is float to double, so the safe widenings of schema
// evolution (DESIGN.md §5) keep keys, and tombstones persisted before a
// widening still match. Floating-point keys (MySQL allows FLOAT and DOUBLE
// in a primary key) compare by value as Spark's MERGE compares them:
// -0.0 equals 0.0 and NaN equals NaN. Fixed
// widths plus length prefixes make the encoding injective; the sign flips
// also make memcmp order equal value order for fixed-width columns, which
// nothing relies on today but costs nothing.
//
// A null in any key column makes the row's key invalid: the caller sends the
// row to the dead-letter table (DESIGN.md §4), it never takes part in a merge.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::merge {

/// 64-bit hash of an encoded key (or any bytes); stable across processes
/// and platforms, since nothing about it is persisted but tests rely on it
/// being deterministic.
uint64_t HashKey(std::string_view bytes);

/// The keys of one batch, stored contiguously (one allocation for all rows).
class EncodedKeys {
 public:
  int64_t size() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  /// The key of `row`; empty for an invalid row.
  std::string_view key(int64_t row) const {
    return std::string_view(data_.data() + offsets_[row], offsets_[row + 1] - offsets_[row]);
  }
  uint64_t hash(int64_t row) const { return hashes_[row]; }
  bool valid(int64_t row) const { return invalid_column_[row] < 0; }
  /// Why `row` is invalid ("primary key column 'id' is null"); empty if valid.
  std::string InvalidReason(int64_t row) const;
  int64_t num_invalid() const { return num_invalid_; }

 private:
  friend class KeyEncoder;
  std::string data_;
  std::vector<int64_t> offsets_{0};
  std::vector<uint64_t> hashes_;
  /// Index into key_names_ of the first null key column, or -1.
  std::vector<int32_t> invalid_column_;
  std::shared_ptr<const std::vector<std::string>> key_names_;
  int64_t num_invalid_ = 0;
};

class KeyEncoder {
 public:
  /// An encoder for `key_columns` of `schema`. Invalid if the list is empty,
  /// a column is missing, repeated, or of a type the grammar lacks.
  static Result<KeyEncoder> Make(const arrow::Schema& schema,
                                 const std::vector<std::string>& key_columns);

  /// Encodes every row of `batch`, whose schema must hold the key columns
  /// (found by name, so batches may order or extend columns differently).
  Result<EncodedKeys> Encode(const arrow::RecordBatch& batch) const;
  /// Same for columns given directly, in key order (used by the key index,
  /// which reads only these columns from each data file).
  Result<EncodedKeys> EncodeColumns(const std::vector<std::shared_ptr<arrow::Array>>& columns,
                                    int64_t num_rows) const;

  const std::vector<std::string>& key_columns() const { return *names_; }
  /// The types the encoder was made for, in key order.
  const std::vector<std::shared_ptr<arrow::DataType>>& key_types() const { return types_; }

 private:
  KeyEncoder() = default;
  std::shared_ptr<const std::vector<std::string>> names_;
  std::vector<std::shared_ptr<arrow::DataType>> types_;
};

/// True if the encoder handles arrow type `type` as a key column.
bool IsSupportedKeyType(const arrow::DataType& type);

/// For an integer column type, the tag its keys are encoded with ('i' for
/// the signed and narrower unsigned types, 'u' for uint64), each key being
/// the tag + 8 bytes; 0 for any other type.
char IntegerKeyTag(const arrow::DataType& type);

}  // namespace sluice::merge
