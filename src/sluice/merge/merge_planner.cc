#include "sluice/merge/merge_planner.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "sluice/merge/partial_image.h"

namespace sluice::merge {

std::string EncodeTruncateSeq(std::string_view seq) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(seq.size() * 2);
  for (unsigned char c : seq) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Result<std::string> DecodeTruncateSeq(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return Status::Invalid("odd number of hex digits");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return Status::Invalid("not lowercase hex: ", hex);
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  if (out.empty()) return Status::Invalid("empty sequence");
  return out;
}

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
  ARROW_ASSIGN_OR_RAISE(auto seqs, ReadSeqs(batch));
  MergePlan plan;
  plan.base_version = index.version();
  plan.invalid = dedup.invalid;
  plan.counts.events = batch.num_rows();
  plan.counts.superseded = dedup.superseded;
  plan.counts.invalid = static_cast<int64_t>(dedup.invalid.size());

  // Truncates (docs/merge.md "Truncate"): a table-level watermark W, the
  // newest truncate's seq. Every live row older than a new W is deleted;
  // every event at or below W is ignored, in this batch and later ones, so
  // nothing older than a truncate comes back and events of the batch
  // ordered after it survive. One value, not a tombstone per key.
  std::string watermark = index.truncate_seq();
  std::string_view newest_truncate;
  for (int64_t row : dedup.truncates)
    newest_truncate = std::max(newest_truncate, seqs->GetView(row));
  plan.counts.truncates = static_cast<int64_t>(dedup.truncates.size());
  // Live rows the truncate deleted, gone for the events below: whole files
  // (by their bound), and single rows of files also holding newer rows.
  std::unordered_set<std::string_view> truncated_files;
  std::set<std::pair<std::string_view, int64_t>> truncated_rows;
  auto is_truncated = [&](const std::string& file, int64_t row) {
    return truncated_files.count(file) > 0 || truncated_rows.count({file, row}) > 0;
  };
  if (newest_truncate > std::string_view(watermark)) {
    watermark = std::string(newest_truncate);
    plan.truncate_seq = watermark;
    // A file whose sequence bound is below the truncate loses all its live
    // rows (the usual case: the truncate is the newest event); the rows of
    // other files are decided by their exact sequences.
    std::vector<SeqReader::Request> check;
    for (const auto& live : index.LiveRows()) {
      if (live.seq_bound < std::string_view(watermark)) {
        truncated_files.insert(*live.file);
        plan.deletes[*live.file].Add(static_cast<uint64_t>(live.row));
        ++plan.counts.rows_truncated;
      } else {
        check.push_back({live.file, live.row});
      }
    }
    if (!check.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto exact, index.ExactSeqs(check));
      plan.counts.exact_seq_reads += static_cast<int64_t>(check.size());
      for (size_t i = 0; i < check.size(); ++i) {
        if (exact[i] >= watermark) continue;
        truncated_rows.emplace(*check[i].path, check[i].row);
        plan.deletes[*check[i].path].Add(static_cast<uint64_t>(check[i].row));
        ++plan.counts.rows_truncated;
      }
    }
    plan.counts.rows_deleted += plan.counts.rows_truncated;
  }

  // Partial images (partial_image.h): the rows of each key whose winner
  // lacks columns, so its unchanged values can come from older events.
  ARROW_ASSIGN_OR_RAISE(auto unchanged, ReadUnchanged(batch));
  std::vector<MergeOp> ops;
  std::unordered_map<std::string_view, std::vector<int64_t>> rows_of_key;
  if (!unchanged.empty()) {
    for (size_t w = 0; w < dedup.winners.size(); ++w) {
      const int64_t row = dedup.winners[w];
      if (dedup.ops[w] == MergeOp::kUpsert && !unchanged[row].empty()) rows_of_key[keys.key(row)];
    }
    if (!rows_of_key.empty()) {
      ARROW_ASSIGN_OR_RAISE(ops, ReadOps(batch));
      for (int64_t row = 0; row < batch.num_rows(); ++row) {
        if (!keys.valid(row) || seqs->IsNull(row) || seqs->GetView(row).empty()) continue;
        if (ops[row] != MergeOp::kUpsert && ops[row] != MergeOp::kDelete) continue;
        auto it = rows_of_key.find(keys.key(row));
        if (it != rows_of_key.end()) it->second.push_back(row);
      }
    }
  }
  auto schema = MergedTableSchema(*batch.schema());
  std::vector<BatchCell> cells;

  // Every winner looked up first. The index bounds a live row's sequence
  // by its file's greatest; where the bound does not decide (late events,
  // replays, partial images) the exact sequence is read back, for all such
  // rows at once.
  std::vector<KeyIndex::Found> founds(dedup.winners.size());
  std::vector<SeqReader::Request> exact_rows;
  std::vector<size_t> exact_of;
  for (size_t w = 0; w < dedup.winners.size(); ++w) {
    const int64_t row = dedup.winners[w];
    KeyIndex::Found& f = founds[w];
    f = index.Find(keys.key(row), keys.hash(row));
    if (f.kind != KeyIndex::Found::Kind::kLive || f.seq_exact) continue;
    const bool partial = !unchanged.empty() && !unchanged[row].empty();
    if (partial || seqs->GetView(row) <= f.seq) {
      exact_rows.push_back({f.file, f.row});
      exact_of.push_back(w);
    }
  }
  std::vector<std::string> exact;
  if (!exact_rows.empty()) {
    ARROW_ASSIGN_OR_RAISE(exact, index.ExactSeqs(exact_rows));
    for (size_t i = 0; i < exact.size(); ++i) {
      founds[exact_of[i]].seq = exact[i];
      founds[exact_of[i]].seq_exact = true;
    }
  }
  plan.counts.exact_seq_reads += static_cast<int64_t>(exact_rows.size());

  arrow::Int64Builder take;
  for (size_t w = 0; w < dedup.winners.size(); ++w) {
    const int64_t row = dedup.winners[w];
    const std::string_view key = keys.key(row);
    const std::string_view seq = seqs->GetView(row);
    KeyIndex::Found found = founds[w];
    if (!watermark.empty() && seq <= std::string_view(watermark)) {
      ++plan.counts.ignored_stale;  // at or before a truncate
      continue;
    }
    if (found.kind == KeyIndex::Found::Kind::kLive && is_truncated(*found.file, found.row)) {
      found = KeyIndex::Found{};  // the truncate deleted it: nothing to replace or carry
    }
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
    if (!unchanged.empty() && !unchanged[row].empty()) {
      // Older events of the key that are newer than the table's row, newest
      // first (equal sequences are replays of one event).
      std::vector<int64_t> older;
      for (int64_t r : rows_of_key[key]) {
        std::string_view s = seqs->GetView(r);
        if (s < seq && (found.kind == KeyIndex::Found::Kind::kAbsent || s > found.seq) &&
            (watermark.empty() || s > std::string_view(watermark)))
          older.push_back(r);
      }
      std::stable_sort(older.begin(), older.end(),
                       [&](int64_t a, int64_t b) { return seqs->GetView(a) > seqs->GetView(b); });
      const int64_t append_row = static_cast<int64_t>(plan.append_keys.size());
      for (const auto& column : unchanged[row]) {
        const int index = schema->GetFieldIndex(column);
        if (index < 0 || column.rfind("_cdc_", 0) == 0) continue;
        BatchCell cell{append_row, index, -1};
        bool resolved = false;
        for (int64_t r : older) {
          if (ops[r] == MergeOp::kDelete) {
            resolved = true;  // the row did not exist in between: nothing to keep
            break;
          }
          const auto& lacks = unchanged[r];
          if (std::find(lacks.begin(), lacks.end(), column) == lacks.end()) {
            cell.batch_row = r;
            resolved = true;
            break;
          }
        }
        if (!resolved && found.kind == KeyIndex::Found::Kind::kLive) {
          plan.carried.push_back({append_row, column, *found.file, found.row});
        }
        cells.push_back(cell);  // NULL until filled (from the batch or the table)
      }
      ++plan.counts.partial;
    }
    ARROW_RETURN_NOT_OK(take.Append(row));
    plan.append_keys.emplace_back(key);
    plan.append_seqs.emplace_back(seq);
    ++plan.counts.upserts;
  }

  // The appended images: the winners' rows, merged-table columns only.
  std::vector<int> columns;
  for (const auto& f : schema->fields())
    columns.push_back(batch.schema()->GetFieldIndex(f->name()));
  ARROW_ASSIGN_OR_RAISE(auto projected, batch.SelectColumns(columns));
  ARROW_ASSIGN_OR_RAISE(auto indices, take.Finish());
  // Every row appended in batch order (a backfill: one event per key, none
  // stale): the projection is the image, shared with the batch, not copied.
  const auto& picked = static_cast<const arrow::Int64Array&>(*indices);
  bool identity = picked.length() == batch.num_rows();
  for (int64_t i = 0; identity && i < picked.length(); ++i) identity = picked.Value(i) == i;
  std::shared_ptr<arrow::RecordBatch> taken_batch = projected;
  if (!identity) {
    ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(projected, indices));
    taken_batch = taken.record_batch();
  }
  ARROW_ASSIGN_OR_RAISE(auto images, PatchCells(taken_batch, *projected, std::move(cells)));
  ARROW_ASSIGN_OR_RAISE(plan.appends, arrow::Table::FromRecordBatches(schema, {images}));
  return plan;
}

Result<MergePlan> PlanBatch(const KeyIndex& index, const arrow::RecordBatch& batch,
                            const PlanOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto keys, index.encoder().Encode(batch));
  ARROW_ASSIGN_OR_RAISE(auto dedup, DedupBatch(batch, keys));
  return PlanMerge(index, batch, keys, dedup, options);
}

}  // namespace sluice::merge
