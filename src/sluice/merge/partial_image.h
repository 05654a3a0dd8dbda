// Partial row images. Some sources send an update without every column:
// Debezium replaces an unchanged TOASTed PostgreSQL value by a placeholder,
// DMS and others may send only the changed columns. The source decoder says
// which columns an event does not carry in the optional change-batch column
// `_cdc_unchanged` (list<string>); only there does the merge keep old values
// (issue 4: "columns missing from an event keep their old value only where
// the source says so"). A NULL a source does send is a NULL.
//
// An unchanged column of the winning event takes its value from the key's
// previous event in the same batch that carries it (newest first), else from
// the table's current row of the key (read by the writer: CarriedValue),
// else NULL: a delete in between, a tombstone, or a key never seen before
// leave nothing to keep. Events no newer than the table's row are stale and
// never consulted.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/delta/snapshot.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/merge_plan.h"

namespace sluice::merge {

/// Per row of `batch`, the names it lists in `_cdc_unchanged` (empty: a full
/// image). An empty vector if the batch has no such column. Invalid if the
/// column is not a list of strings.
Result<std::vector<std::vector<std::string>>> ReadUnchanged(const arrow::RecordBatch& batch);

/// A cell of an appended image whose value comes from another row of the
/// change batch (`batch_row`), or NULL (`batch_row` < 0).
struct BatchCell {
  int64_t append_row = 0;
  int column = 0;  ///< index in the appended images' schema
  int64_t batch_row = -1;
};

/// `images` (the appended images) with each cell replaced by the value of
/// the same column in row `batch_row` of `source` (the change batch projected
/// to the images' schema), or by NULL.
Result<std::shared_ptr<arrow::RecordBatch>> PatchCells(
    const std::shared_ptr<arrow::RecordBatch>& images, const arrow::RecordBatch& source,
    std::vector<BatchCell> cells);

/// `appends` with every CarriedValue filled from the data files of the table
/// at `location` (physical row numbers, so deletion vectors do not matter).
/// A column missing from an older file reads NULL; values are cast to the
/// appends' column type.
Result<std::shared_ptr<arrow::Table>> FillCarriedValues(
    const io::TableLocation& location, const std::shared_ptr<arrow::Table>& appends,
    const std::vector<CarriedValue>& carried);

}  // namespace sluice::merge
