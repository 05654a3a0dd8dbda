// KeyScan: what the key index reads of a merged table's data files to build
// itself (key_index.h): the key columns and `_cdc_seq`, nothing else, one
// part (Parquet row group) at a time, deletion vectors applied, each row
// with its index in the file. A projected scan (delta/table_reader.h) with
// the keys encoded.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <vector>

#include "sluice/delta/snapshot.h"
#include "sluice/delta/table_reader.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/key_encoder.h"

namespace sluice::merge {

/// The surviving rows of one part of a data file.
struct KeyScanRows {
  EncodedKeys keys;                          ///< invalid where a key column is null
  std::shared_ptr<arrow::BinaryArray> seqs;  ///< `_cdc_seq` of each row
  std::vector<int64_t> positions;            ///< each row's index in the file
};

class KeyScan {
 public:
  /// A scan of `snapshot`'s files for `encoder`'s key columns (a key
  /// column that is a partition column comes from partitionValues; one an
  /// older file lacks reads NULL, so its rows have invalid keys). Invalid if
  /// a key column is not in the table schema.
  static Result<KeyScan> Make(const delta::Snapshot& snapshot, const io::TableLocation& location,
                              const KeyEncoder& encoder);

  /// Opens one data file (footer and deletion vector only). Invalid if the
  /// file has no `_cdc_seq` column: not a merged table written by Sluice.
  Result<delta::FileScan> Open(const delta::Add& file) const;

  /// Reads and encodes part `part` of `file` (opened by Open).
  Result<KeyScanRows> Read(delta::FileScan& file, int part) const;

 private:
  KeyScan(delta::TableScan scan, KeyEncoder encoder)
      : scan_(std::move(scan)), encoder_(std::move(encoder)) {}

  delta::TableScan scan_;
  KeyEncoder encoder_;
};

}  // namespace sluice::merge
