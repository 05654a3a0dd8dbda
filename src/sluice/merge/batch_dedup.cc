#include "sluice/merge/batch_dedup.h"

#include <arrow/api.h>

#include <algorithm>
#include <bit>

namespace sluice::merge {

Result<DedupResult> DedupBatch(const arrow::RecordBatch& batch, const EncodedKeys& keys) {
  if (keys.size() != batch.num_rows()) {
    return Status::Invalid("dedup: ", keys.size(), " keys for ", batch.num_rows(), " rows");
  }
  ARROW_ASSIGN_OR_RAISE(auto ops, ReadOps(batch));
  ARROW_ASSIGN_OR_RAISE(auto seqs, ReadSeqs(batch));
  DedupResult out;
  const int64_t n = batch.num_rows();

  // Open addressing over row indexes: each slot holds the current winner of
  // one key (-1 = empty). Sized to a power of two at most half full, so
  // probes stay short; keys are compared by hash first, then bytes.
  size_t capacity = std::bit_ceil(static_cast<size_t>(std::max<int64_t>(n, 1)) * 2);
  std::vector<int64_t> slots(capacity, -1);
  const size_t mask = capacity - 1;
  std::vector<bool> wins(static_cast<size_t>(n), false);

  for (int64_t row = 0; row < n; ++row) {
    // Truncates are not keyed, so their key columns are not checked.
    std::string reason;
    if (ops[row] == MergeOp::kInvalid) {
      reason = "unknown _cdc_op";
    } else if (ops[row] != MergeOp::kTruncate && !keys.valid(row)) {
      reason = keys.InvalidReason(row);
    } else if (seqs->IsNull(row) || seqs->GetView(row).empty()) {
      reason = "no usable sequence (_cdc_seq is null or empty)";
    }
    if (!reason.empty()) {
      out.invalid.push_back({row, std::move(reason)});
      continue;
    }
    if (ops[row] == MergeOp::kTruncate) {
      out.truncates.push_back(row);
      continue;
    }
    const uint64_t h = keys.hash(row);
    const std::string_view key = keys.key(row);
    for (size_t s = h & mask;; s = (s + 1) & mask) {
      int64_t current = slots[s];
      if (current < 0) {
        slots[s] = row;
        wins[row] = true;
        break;
      }
      if (keys.hash(current) != h || keys.key(current) != key) continue;
      // Same key: strictly greater sequence wins; equal = replay, keep first.
      ++out.superseded;
      if (seqs->GetView(row) > seqs->GetView(current)) {
        wins[current] = false;
        wins[row] = true;
        slots[s] = row;
      }
      break;
    }
  }
  for (int64_t row = 0; row < n; ++row) {
    if (!wins[row]) continue;
    out.winners.push_back(row);
    out.ops.push_back(ops[row]);
  }
  return out;
}

}  // namespace sluice::merge
