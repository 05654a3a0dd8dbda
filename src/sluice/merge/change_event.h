// The parts of a change event the merge looks at: its operation and its
// sequence (DESIGN.md §3, §4), read from a change batch's `_cdc_op` and
// `_cdc_seq` columns. The canonical column names live in
// core/change_schema.h; the merge adds the partial-image column.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/change_schema.h"
#include "sluice/core/status.h"

namespace sluice::merge {

/// Optional list<string>: payload columns the event does not carry (a
/// partial image; partial_image.h). Absent or null: a full image.
inline constexpr std::string_view kUnchangedColumn = "_cdc_unchanged";
/// Change-batch columns the merged table does not keep (DESIGN.md §3).
inline constexpr std::string_view kDroppedColumns[] = {kOpColumn, kIngestedAtColumn, kOriginColumn,
                                                       kSourceColumn, kUnchangedColumn};

/// What an event does to its key's row in the merged table.
enum class MergeOp : uint8_t {
  kUpsert,    ///< snapshot, insert, update: the event's image becomes the row
  kDelete,    ///< delete: the row goes, a tombstone stays
  kTruncate,  ///< truncate: not keyed; the merge layer refuses it for now
  kInvalid,   ///< unknown op name: a dead letter
};

/// The ops of every row of `batch`: `_cdc_op` may be dictionary<int*, utf8>
/// (the canonical form) or plain utf8. Invalid if the column is missing or
/// of another type; a null or unknown name gives kInvalid for that row.
Result<std::vector<MergeOp>> ReadOps(const arrow::RecordBatch& batch);

/// `_cdc_seq` as a binary array. Invalid if missing or not binary.
Result<std::shared_ptr<arrow::BinaryArray>> ReadSeqs(const arrow::RecordBatch& batch);

/// Name of an op for messages.
std::string_view MergeOpName(MergeOp op);

}  // namespace sluice::merge
