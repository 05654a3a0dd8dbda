#include "sluice/merge/merge_planner.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>

namespace sluice::merge {

std::shared_ptr<arrow::Schema> MergedTableSchema(const arrow::Schema& change_schema) {
  arrow::FieldVector kept;
  for (const auto& f : change_schema.fields()) {
    auto dropped = std::find(std::begin(kDroppedColumns), std::end(kDroppedColumns), f->name());
    if (dropped == std::end(kDroppedColumns)) kept.push_back(f);
  }
  return arrow::schema(std::move(kept));
}

Result<MergePlan> PlanMerge(const KeyIndex& index, const arrow::RecordBatch& batch,
                            const EncodedKeys& keys, const DedupResult& dedup,
                            const PlanOptions& options) {
  if (!dedup.truncates.empty()) {
    return Status::NotImplemented("the merge does not support truncate events yet (row ",
                                  dedup.truncates.front(), " of the batch)");
  }
  ARROW_ASSIGN_OR_RAISE(auto seqs, ReadSeqs(batch));
  MergePlan plan;
  plan.base_version = index.version();
  plan.invalid = dedup.invalid;
  plan.counts.events = batch.num_rows();
  plan.counts.superseded = dedup.superseded;
  plan.counts.invalid = static_cast<int64_t>(dedup.invalid.size());

  arrow::Int64Builder take;
  for (size_t w = 0; w < dedup.winners.size(); ++w) {
    const int64_t row = dedup.winners[w];
    const std::string_view key = keys.key(row);
    const std::string_view seq = seqs->GetView(row);
    KeyIndex::Found found = index.Find(key, keys.hash(row));
    if (found.kind != KeyIndex::Found::Kind::kAbsent && seq <= found.seq) {
      ++plan.counts.ignored_stale;  // older than, or a replay of, what we hold
      continue;
    }
    if (found.kind == KeyIndex::Found::Kind::kLive) {
      plan.deletes[*found.file].Add(static_cast<uint64_t>(found.row));
      ++plan.counts.rows_deleted;
    }
    if (dedup.ops[w] == MergeOp::kDelete) {
      plan.tombstones.push_back(
          Tombstone{std::string(key), std::string(seq), options.now_ms, options.batch_version});
      ++plan.counts.deletes;
      continue;
    }
    ARROW_RETURN_NOT_OK(take.Append(row));
    plan.append_keys.emplace_back(key);
    plan.append_seqs.emplace_back(seq);
    ++plan.counts.upserts;
  }

  // The appended images: the winners' rows, merged-table columns only.
  auto schema = MergedTableSchema(*batch.schema());
  std::vector<int> columns;
  for (const auto& f : schema->fields())
    columns.push_back(batch.schema()->GetFieldIndex(f->name()));
  ARROW_ASSIGN_OR_RAISE(auto projected, batch.SelectColumns(columns));
  ARROW_ASSIGN_OR_RAISE(auto indices, take.Finish());
  ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(projected, indices));
  ARROW_ASSIGN_OR_RAISE(plan.appends,
                        arrow::Table::FromRecordBatches(schema, {taken.record_batch()}));
  return plan;
}

Result<MergePlan> PlanBatch(const KeyIndex& index, const arrow::RecordBatch& batch,
                            const PlanOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto keys, index.encoder().Encode(batch));
  ARROW_ASSIGN_OR_RAISE(auto dedup, DedupBatch(batch, keys));
  return PlanMerge(index, batch, keys, dedup, options);
}

}  // namespace sluice::merge
