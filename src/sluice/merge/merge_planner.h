// MergePlanner: decides, for one change batch against the key index, which
// existing rows to mark deleted, which row images to append and which
// tombstones to add (DESIGN.md §4), as a MergePlan. The index is only read;
// the one I/O is reading back the exact sequence of live rows the index only
// bounds (late events, replays; key_index.h), through its cache.
//
// Per winning event E of key K (batch_dedup.h) with the index's entry T:
//   T live or tombstone and seq(E) <= seq(T)  → ignored (stale, or a replay)
//   E delete                                  → T's row (if live) deleted,
//                                               tombstone (K, seq(E))
//   E snapshot/insert/update                  → T's row (if live) deleted,
//                                               E's image appended
// So a re-insert after a delete works exactly when it is newer than the
// tombstone, and an update's image, NULLs included, replaces the whole row.
// A truncate T deletes every live row older than it; events <= seq(T), then
// and forever after (the watermark is stored with the table), are ignored.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>

#include "sluice/merge/batch_dedup.h"
#include "sluice/merge/key_index.h"
#include "sluice/merge/merge_plan.h"

namespace sluice::merge {

/// The merged table's schema for a change batch schema: every column but
/// _cdc_op, _cdc_ingested_at, _cdc_origin and _cdc_source (DESIGN.md §3).
std::shared_ptr<arrow::Schema> MergedTableSchema(const arrow::Schema& change_schema);

struct PlanOptions {
  /// Wall-clock time recorded in new tombstones (ms since the epoch).
  int64_t now_ms = 0;
  /// The txn version this batch will commit with (recorded in tombstones).
  int64_t batch_version = 0;
};

/// Plans `batch` given its encoded keys and dedup result. Truncate events
/// (not keyed): the newest one above the index's truncate_seq() deletes every
/// live row with an older seq and becomes plan.truncate_seq; every event at
/// or below the watermark is ignored (counted stale). See docs/merge.md.
Result<MergePlan> PlanMerge(const KeyIndex& index, const arrow::RecordBatch& batch,
                            const EncodedKeys& keys, const DedupResult& dedup,
                            const PlanOptions& options);

/// Encode + dedup + plan in one call, with the index's encoder.
Result<MergePlan> PlanBatch(const KeyIndex& index, const arrow::RecordBatch& batch,
                            const PlanOptions& options);

}  // namespace sluice::merge
