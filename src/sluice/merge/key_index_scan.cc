#include "sluice/merge/key_index_scan.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>

#include "sluice/merge/change_event.h"

namespace sluice::merge {

Result<KeyScan> KeyScan::Make(const delta::Snapshot& snapshot, const io::TableLocation& location,
                              const KeyEncoder& encoder) {
  delta::ScanOptions options;
  options.columns = encoder.key_columns();
  options.columns.emplace_back(kSeqColumn);
  options.positions = true;
  ARROW_ASSIGN_OR_RAISE(auto scan, delta::TableScan::Make(snapshot, location, std::move(options)));
  return KeyScan(std::move(scan), encoder);
}

Result<delta::FileScan> KeyScan::Open(const delta::Add& file) const {
  ARROW_ASSIGN_OR_RAISE(auto scan, scan_.Open(file));
  const auto& absent = scan.absent_columns();
  if (std::find(absent.begin(), absent.end(), kSeqColumn) != absent.end()) {
    return Status::Invalid("data file ", file.path, " has no ", kSeqColumn,
                           " column; it is not a merged table written by Sluice");
  }
  return scan;
}

Result<KeyScanRows> KeyScan::Read(delta::FileScan& file, int part) const {
  ARROW_ASSIGN_OR_RAISE(auto batch, file.ReadPart(part));
  const auto& types = encoder_.key_types();
  const int64_t n = batch.rows->num_rows();
  // The scan yields the table's types; the encoder's are the same unless
  // it was made from another schema.
  auto as =
      [](std::shared_ptr<arrow::Array> array,
         const std::shared_ptr<arrow::DataType>& type) -> Result<std::shared_ptr<arrow::Array>> {
    if (array->type()->Equals(*type)) return array;
    ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(*array, type));
    return cast;
  };
  std::vector<std::shared_ptr<arrow::Array>> key_columns;
  key_columns.reserve(types.size());
  for (size_t k = 0; k < types.size(); ++k) {
    ARROW_ASSIGN_OR_RAISE(auto column, as(batch.rows->column(static_cast<int>(k)), types[k]));
    key_columns.push_back(std::move(column));
  }
  KeyScanRows rows;
  ARROW_ASSIGN_OR_RAISE(rows.keys, encoder_.EncodeColumns(key_columns, n));
  ARROW_ASSIGN_OR_RAISE(auto seqs,
                        as(batch.rows->column(static_cast<int>(types.size())), arrow::binary()));
  rows.seqs = std::static_pointer_cast<arrow::BinaryArray>(seqs);
  rows.positions = std::move(batch.positions);
  return rows;
}

}  // namespace sluice::merge
