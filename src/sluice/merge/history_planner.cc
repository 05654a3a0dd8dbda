#include "sluice/merge/history_planner.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "sluice/core/arrow_util.h"
#include "sluice/merge/change_event.h"
#include "sluice/merge/partial_image.h"

namespace sluice::merge {

namespace {

bool IsCdcColumn(const std::string& name) {
  if (name == kSeqColumn || name == kTsColumn) return true;
  return std::find(std::begin(kDroppedColumns), std::end(kDroppedColumns), name) !=
         std::end(kDroppedColumns);
}

bool IsHistoryColumn(const std::string& name) {
  return name == kStartAtColumn || name == kEndAtColumn || name == kSeqColumn ||
         name == kLastSeqColumn || name == kEndSeqColumn;
}

// The first version of `chain` that an event with seq `oldest` can reach:
// the first whose end is not before it (the open one has no end).
size_t FirstReachable(const std::vector<HistoryIndex::Version>& chain, std::string_view oldest) {
  size_t i = 0;
  while (i < chain.size() && !chain[i].seqs.end_seq.empty() &&
         std::string_view(chain[i].seqs.end_seq) < oldest) {
    ++i;
  }
  return i;
}

// Rows grouped by key, keys in order of first appearance (deterministic output).
struct KeyGroups {
  std::vector<std::string_view> order;
  std::unordered_map<std::string_view, std::vector<int64_t>> rows;
};

// An event of the fold: one of the batch, or a stored version turned back
// into its opening event / the delete that ended it.
struct FoldEvent {
  std::string_view seq;
  std::string_view last;  // opening events of stored versions: their last seq
  int64_t ts = 0;
  bool is_delete = false;
  bool stored = false;
  // Deletes: the orphan side table has a row for it (history_orphans.h)...
  bool orphan_row = false;
  // ...and the event comes from that row alone (no version ends there).
  bool only_orphan_row = false;
  // A truncate (table-wide): ends the open version; with none, nothing.
  bool truncate = false;
  int64_t image = -1;   // row of the combined image table
  int64_t origin = -1;  // stored opening event: index of the version in the chain
  int64_t order = 0;    // batch row (ties: stored first, then batch order)
};

// A version produced by the fold.
struct FoldVersion {
  int64_t image = -1;
  std::string_view start, last, end;
  int64_t start_ts = 0;
  std::optional<int64_t> end_ts;
  int64_t origin = -1;
};

// _cdc_ts values of the batch's unit to and from the orphan side table's
// microseconds (a nanosecond _cdc_ts loses its last three digits there).
int64_t ToMicros(int64_t v, arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return v * 1000000;
    case arrow::TimeUnit::MILLI:
      return v * 1000;
    case arrow::TimeUnit::MICRO:
      return v;
    case arrow::TimeUnit::NANO:
      return v / 1000;
  }
  return v;
}

int64_t FromMicros(int64_t us, arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return us / 1000000;
    case arrow::TimeUnit::MILLI:
      return us / 1000;
    case arrow::TimeUnit::MICRO:
      return us;
    case arrow::TimeUnit::NANO:
      return us * 1000;
  }
  return us;
}

bool HasOrphan(const std::vector<HistoryIndex::Orphan>* orphans, std::string_view seq) {
  if (!orphans) return false;
  auto at = std::lower_bound(orphans->begin(), orphans->end(), seq,
                             [](const HistoryIndex::Orphan& o, std::string_view s) {
                               return std::string_view(o.seq) < s;
                             });
  return at != orphans->end() && at->seq == seq;
}

// The batch's truncates the index does not hold yet (valid ones: a seq and a
// _cdc_ts), sorted by seq, one per seq.
Result<std::vector<HistoryTruncate>> NewTruncates(const HistoryIndex& index,
                                                  const arrow::RecordBatch& changes,
                                                  arrow::TimeUnit::type unit);

bool IsTruncateSeq(const std::vector<HistoryTruncate>& truncates, std::string_view seq) {
  auto at = std::lower_bound(
      truncates.begin(), truncates.end(), seq,
      [](const HistoryTruncate& t, std::string_view s) { return std::string_view(t.seq) < s; });
  return at != truncates.end() && at->seq == seq;
}

Result<std::vector<int64_t>> TimestampValues(const std::shared_ptr<arrow::Array>& array) {
  ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(*array, arrow::int64()));
  const auto& ints = static_cast<const arrow::Int64Array&>(*cast);
  std::vector<int64_t> out(static_cast<size_t>(ints.length()));
  for (int64_t i = 0; i < ints.length(); ++i) out[i] = ints.IsNull(i) ? 0 : ints.Value(i);
  return out;
}

Result<std::vector<HistoryTruncate>> NewTruncates(const HistoryIndex& index,
                                                  const arrow::RecordBatch& changes,
                                                  arrow::TimeUnit::type unit) {
  std::vector<HistoryTruncate> out;
  ARROW_ASSIGN_OR_RAISE(auto ops, ReadOps(changes));
  if (std::find(ops.begin(), ops.end(), MergeOp::kTruncate) == ops.end()) return out;
  ARROW_ASSIGN_OR_RAISE(auto seqs, ReadSeqs(changes));
  auto ts_column = changes.GetColumnByName(std::string(kTsColumn));
  if (!ts_column) return Status::Invalid("a history table needs a ", kTsColumn, " column");
  ARROW_ASSIGN_OR_RAISE(auto ts_values, TimestampValues(ts_column));
  for (int64_t r = 0; r < changes.num_rows(); ++r) {
    if (ops[r] != MergeOp::kTruncate || seqs->IsNull(r) || seqs->GetView(r).empty() ||
        ts_column->IsNull(r) || IsTruncateSeq(index.truncates(), seqs->GetView(r))) {
      continue;
    }
    out.push_back({std::string(seqs->GetView(r)), ToMicros(ts_values[r], unit)});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.seq < b.seq; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const auto& a, const auto& b) { return a.seq == b.seq; }),
            out.end());
  return out;
}

}  // namespace

std::string EncodeHistoryTruncates(const std::vector<HistoryTruncate>& truncates) {
  std::string out;
  for (const auto& t : truncates) {
    if (!out.empty()) out += ',';
    out += EncodeTruncateSeq(t.seq) + ':' + std::to_string(t.ts_us);
  }
  return out;
}

Result<std::vector<HistoryTruncate>> DecodeHistoryTruncates(std::string_view text) {
  std::vector<HistoryTruncate> out;
  while (!text.empty()) {
    const size_t comma = std::min(text.find(','), text.size());
    std::string_view item = text.substr(0, comma);
    text.remove_prefix(std::min(comma + 1, text.size()));
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) return Status::Invalid("no ':' in ", item);
    ARROW_ASSIGN_OR_RAISE(auto seq, DecodeTruncateSeq(item.substr(0, colon)));
    HistoryTruncate t{std::move(seq), 0};
    std::string ts(item.substr(colon + 1));
    char* end = nullptr;
    errno = 0;
    t.ts_us = std::strtoll(ts.c_str(), &end, 10);
    if (ts.empty() || errno != 0 || *end != '\0') return Status::Invalid("bad time in ", item);
    if (!out.empty() && out.back().seq >= t.seq) return Status::Invalid("not sorted by seq");
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::shared_ptr<arrow::Schema>> HistoryTableSchema(const arrow::Schema& change_schema) {
  auto ts = change_schema.GetFieldByName(std::string(kTsColumn));
  if (!ts || ts->type()->id() != arrow::Type::TIMESTAMP) {
    return Status::Invalid("a history table needs a timestamp ", kTsColumn, " column");
  }
  arrow::FieldVector fields;
  for (const auto& f : change_schema.fields()) {
    if (IsCdcColumn(f->name())) continue;
    if (IsHistoryColumn(f->name())) {
      return Status::Invalid("payload column ", f->name(), " collides with a history column");
    }
    fields.push_back(f);
  }
  fields.push_back(arrow::field(std::string(kStartAtColumn), ts->type()));
  fields.push_back(arrow::field(std::string(kEndAtColumn), ts->type()));
  fields.push_back(arrow::field(std::string(kSeqColumn), arrow::binary()));
  fields.push_back(arrow::field(std::string(kLastSeqColumn), arrow::binary()));
  fields.push_back(arrow::field(std::string(kEndSeqColumn), arrow::binary()));
  return arrow::schema(std::move(fields));
}

Result<std::map<std::string, std::vector<int64_t>>> HistoryRowsNeeded(
    const HistoryIndex& index, const arrow::RecordBatch& changes) {
  ARROW_ASSIGN_OR_RAISE(auto keys, index.encoder().Encode(changes));
  ARROW_ASSIGN_OR_RAISE(auto seqs, ReadSeqs(changes));
  std::unordered_map<std::string_view, std::string_view> oldest;
  for (int64_t r = 0; r < changes.num_rows(); ++r) {
    if (!keys.valid(r) || seqs->IsNull(r) || seqs->GetView(r).empty()) continue;
    auto [it, inserted] = oldest.emplace(keys.key(r), seqs->GetView(r));
    if (!inserted) it->second = std::min(it->second, seqs->GetView(r));
  }
  // A new truncate reaches every key with a version open at it (or later).
  // (`truncates` outlives `oldest`, which points into it.)
  std::vector<HistoryTruncate> truncates;
  auto ts = changes.schema()->GetFieldByName(std::string(kTsColumn));
  if (ts && ts->type()->id() == arrow::Type::TIMESTAMP) {
    ARROW_ASSIGN_OR_RAISE(
        truncates,
        NewTruncates(index, changes, static_cast<const arrow::TimestampType&>(*ts->type()).unit()));
  }
  if (!truncates.empty()) {
    std::string_view first = truncates.front().seq;
    for (auto& [key, seq] : oldest) seq = std::min(seq, first);
    index.ForEachChain([&](std::string_view key, const auto&) { oldest.emplace(key, first); });
  }
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& [key, seq] : oldest) {
    const auto* chain = index.Find(key);
    if (!chain) continue;
    for (size_t i = FirstReachable(*chain, seq); i < chain->size(); ++i) {
      out[index.file((*chain)[i].file)].push_back((*chain)[i].row);
    }
  }
  for (auto& [file, rows] : out) std::sort(rows.begin(), rows.end());
  return out;
}

Result<HistoryPlan> PlanHistory(const HistoryIndex& index, const arrow::RecordBatch& changes,
                                const VersionRows& existing, const HistoryOptions& options) {
  HistoryPlan plan;
  plan.base_version = index.version();
  plan.counts.events = changes.num_rows();
  if (!existing.table) return Status::Invalid("PlanHistory: no existing-rows table");

  // The plan's schema: the batch's, plus payload columns only the table has
  // (they read NULL in new versions rather than disappearing).
  ARROW_ASSIGN_OR_RAISE(auto schema, HistoryTableSchema(*changes.schema()));
  arrow::FieldVector payload;
  for (const auto& f : schema->fields()) {
    if (!IsHistoryColumn(f->name())) payload.push_back(f);
  }
  for (const auto& f : existing.table->schema()->fields()) {
    if (IsHistoryColumn(f->name()) || schema->GetFieldByName(f->name())) continue;
    payload.push_back(f->WithNullable(true));
  }
  arrow::FieldVector all = payload;
  for (const auto& f : schema->fields()) {
    if (IsHistoryColumn(f->name())) all.push_back(f);
  }
  schema = arrow::schema(all);
  const auto ts_type = schema->GetFieldByName(std::string(kStartAtColumn))->type();
  const auto ts_unit = static_cast<const arrow::TimestampType&>(*ts_type).unit();

  // Tracked columns, as indexes into `payload`.
  std::vector<int> tracked;
  if (options.track_history.empty()) {
    for (int c = 0; c < static_cast<int>(payload.size()); ++c) tracked.push_back(c);
  } else {
    for (const auto& name : options.track_history) {
      auto it = std::find_if(payload.begin(), payload.end(),
                             [&](const auto& f) { return f->name() == name; });
      if (it == payload.end()) {
        return Status::Invalid("track-history column ", name, " is not a payload column");
      }
      tracked.push_back(static_cast<int>(it - payload.begin()));
    }
  }

  // One image table: the stored rows first, then the batch's rows, with the
  // payload columns (cast to the batch's types; missing columns NULL).
  const int64_t n_stored = existing.table->num_rows();
  const int64_t n_batch = changes.num_rows();
  std::vector<std::shared_ptr<arrow::Array>> images;
  for (const auto& f : payload) {
    std::vector<std::shared_ptr<arrow::Array>> parts;
    auto stored = existing.table->GetColumnByName(f->name());
    if (stored) {
      ARROW_ASSIGN_OR_RAISE(auto a, ColumnAs(stored, f->type()));
      parts.push_back(a);
    } else {
      ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeArrayOfNull(f->type(), n_stored));
      parts.push_back(a);
    }
    auto fresh = changes.GetColumnByName(f->name());
    if (fresh) {
      ARROW_ASSIGN_OR_RAISE(auto a,
                            ColumnAs(std::make_shared<arrow::ChunkedArray>(fresh), f->type()));
      parts.push_back(a);
    } else {
      ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeArrayOfNull(f->type(), n_batch));
      parts.push_back(a);
    }
    // One more row, NULL: what an unchanged cell with nothing to keep reads.
    ARROW_ASSIGN_OR_RAISE(auto null_row, arrow::MakeArrayOfNull(f->type(), 1));
    parts.push_back(null_row);
    ARROW_ASSIGN_OR_RAISE(auto joined, arrow::Concatenate(parts, arrow::default_memory_pool()));
    images.push_back(std::move(joined));
  }
  const int64_t null_row = n_stored + n_batch;

  // Partial images (partial_image.h): a batch row's unchanged columns read
  // the value of the version open before it in the fold, i.e. the image of
  // the key's previous event in seq order (a stored version or an earlier
  // event of the batch), resolved when the fold reaches the event; nothing
  // open (a delete in between, a key never seen) reads NULL, as in the
  // merged table. Why the fold's previous version and not the merged table's
  // row: it is the value the row had just before this event, also for every
  // event of a batch but the last and for a late event (the merged table
  // holds only the newest row), and it costs nothing more: the planner
  // already reads the versions a batch can reach. `carried[r]` holds, per
  // payload column, the image row whose cell the batch row takes (-1: its
  // own); a stored version's image is the value it was written with, so a
  // late event landing just before a stored version whose image carried
  // columns leaves those values as they were (docs/merge.md, a limit: the
  // table does not record which stored columns were carried).
  ARROW_ASSIGN_OR_RAISE(auto unchanged_names, ReadUnchanged(changes));
  std::unordered_map<int64_t, std::vector<int>> unchanged;  // batch row -> payload columns
  for (size_t r = 0; r < unchanged_names.size(); ++r) {
    for (const auto& name : unchanged_names[r]) {
      auto it = std::find_if(payload.begin(), payload.end(),
                             [&](const auto& f) { return f->name() == name; });
      // A name that is no payload column (a _cdc_ column, a typo) carries nothing.
      if (it != payload.end()) {
        unchanged[static_cast<int64_t>(r)].push_back(static_cast<int>(it - payload.begin()));
      }
    }
  }
  std::unordered_map<int64_t, std::vector<int64_t>> carried;  // image row -> per column
  auto cell = [&](int64_t image, int c) {
    auto it = carried.find(image);
    if (it == carried.end() || it->second[c] < 0) return image;
    return it->second[c];
  };
  auto tracked_equal = [&](int64_t a, int64_t b) {
    for (int c : tracked) {
      const int64_t ca = cell(a, c), cb = cell(b, c);
      if (!images[c]->RangeEquals(ca, ca + 1, cb, *images[c])) return false;
    }
    return true;
  };

  // Stored rows' timestamps and the batch's columns.
  std::vector<int64_t> stored_start(n_stored), stored_end(n_stored);
  std::vector<bool> stored_end_null(n_stored, true);
  if (n_stored > 0) {
    auto s = existing.table->GetColumnByName(std::string(kStartAtColumn));
    auto e = existing.table->GetColumnByName(std::string(kEndAtColumn));
    if (!s || !e) return Status::Invalid("stored history rows lack __START_AT/__END_AT");
    ARROW_ASSIGN_OR_RAISE(auto sa, ColumnAs(s, ts_type));
    ARROW_ASSIGN_OR_RAISE(auto ea, ColumnAs(e, ts_type));
    ARROW_ASSIGN_OR_RAISE(stored_start, TimestampValues(sa));
    ARROW_ASSIGN_OR_RAISE(stored_end, TimestampValues(ea));
    for (int64_t i = 0; i < n_stored; ++i) stored_end_null[i] = ea->IsNull(i);
  }
  ARROW_ASSIGN_OR_RAISE(auto keys, index.encoder().Encode(changes));
  ARROW_ASSIGN_OR_RAISE(auto ops, ReadOps(changes));
  ARROW_ASSIGN_OR_RAISE(auto seqs, ReadSeqs(changes));
  auto ts_column = changes.GetColumnByName(std::string(kTsColumn));
  ARROW_ASSIGN_OR_RAISE(auto ts_values, TimestampValues(ts_column));

  KeyGroups groups;
  for (int64_t r = 0; r < n_batch; ++r) {
    std::string reason;
    if (ops[r] == MergeOp::kTruncate) {
      // Not keyed (its key columns are NULL): NewTruncates below.
      if (seqs->IsNull(r) || seqs->GetView(r).empty()) {
        plan.invalid.push_back({r, "no usable sequence (_cdc_seq is null or empty)"});
      } else if (ts_column->IsNull(r)) {
        plan.invalid.push_back({r, "_cdc_ts is null"});
      }
      continue;
    }
    if (!keys.valid(r)) {
      reason = keys.InvalidReason(r);
    } else if (seqs->IsNull(r) || seqs->GetView(r).empty()) {
      reason = "no usable sequence (_cdc_seq is null or empty)";
    } else if (ops[r] == MergeOp::kInvalid) {
      reason = "unknown _cdc_op";
    } else if (ts_column->IsNull(r)) {
      reason = "_cdc_ts is null";
    }
    if (!reason.empty()) {
      plan.invalid.push_back({r, std::move(reason)});
      continue;
    }
    auto [it, inserted] = groups.rows.try_emplace(keys.key(r));
    if (inserted) groups.order.push_back(keys.key(r));
    it->second.push_back(r);
  }
  plan.counts.invalid = static_cast<int64_t>(plan.invalid.size());

  // Truncates (docs/merge.md "Truncate"): each ends every version open at
  // its seq. Kept as a table-wide list (one value per truncate, in the
  // table's configuration, not a row per key), folded into every key's
  // events, so a late event older than a truncate ends there too. A new one
  // reaches every key with a version open at or after it: those keys join
  // the batch's (this reads their reachable versions: a truncate costs a
  // pass over the table's current versions, as it rewrites them all).
  ARROW_ASSIGN_OR_RAISE(auto new_truncates, NewTruncates(index, changes, ts_unit));
  std::vector<HistoryTruncate> all_truncates = index.truncates();
  std::string_view first_new;
  if (!new_truncates.empty()) {
    plan.counts.truncates = static_cast<int64_t>(new_truncates.size());
    all_truncates.insert(all_truncates.end(), new_truncates.begin(), new_truncates.end());
    std::sort(all_truncates.begin(), all_truncates.end(),
              [](const auto& a, const auto& b) { return a.seq < b.seq; });
    plan.truncates = all_truncates;
    first_new = new_truncates.front().seq;
    index.ForEachChain([&](std::string_view key, const auto& chain) {
      if (FirstReachable(chain, first_new) == chain.size()) return;
      auto [it, inserted] = groups.rows.try_emplace(key);
      if (inserted) groups.order.push_back(key);
    });
  }

  // What to append: (image row, version) per new version, in key order.
  arrow::Int64Builder take;
  arrow::BinaryBuilder start_b, last_b, end_b;
  arrow::TimestampBuilder start_at(ts_type, arrow::default_memory_pool()),
      end_at(ts_type, arrow::default_memory_pool());

  std::vector<FoldEvent> events;
  std::vector<FoldVersion> out;
  for (std::string_view key : groups.order) {
    const auto& rows = groups.rows[key];
    const auto* chain = index.Find(key);
    std::string_view oldest = rows.empty() ? first_new : seqs->GetView(rows.front());
    for (int64_t r : rows) oldest = std::min(oldest, seqs->GetView(r));
    if (!first_new.empty()) oldest = std::min(oldest, first_new);
    const size_t first = chain ? FirstReachable(*chain, oldest) : 0;
    const size_t n_chain = chain ? chain->size() : 0;
    const auto* orphans = index.FindOrphans(key);

    // Stored versions back to events; every sequence they name is known.
    events.clear();
    std::unordered_set<std::string_view> known;
    std::string_view newest_known;
    for (size_t v = first; v < n_chain; ++v) {
      const auto& ver = (*chain)[v];
      auto at = existing.at.find({index.file(ver.file), ver.row});
      if (at == existing.at.end()) {
        return Status::Invalid("PlanHistory: row ", ver.row, " of ", index.file(ver.file),
                               " was not read");
      }
      const int64_t row = at->second;
      FoldEvent open;
      open.seq = ver.seqs.start_seq;
      open.last = ver.seqs.last_seq.empty() ? open.seq : std::string_view(ver.seqs.last_seq);
      open.ts = stored_start[row];
      open.stored = true;
      open.image = row;
      open.origin = static_cast<int64_t>(v);
      events.push_back(open);
      known.insert(open.seq);
      known.insert(open.last);
      newest_known = std::max(newest_known, open.last);
      const bool next_starts_here =
          v + 1 < n_chain && (*chain)[v + 1].seqs.start_seq == ver.seqs.end_seq;
      if (!ver.seqs.end_seq.empty() && !next_starts_here && !stored_end_null[row]) {
        FoldEvent del;
        del.seq = ver.seqs.end_seq;
        del.last = del.seq;
        del.ts = stored_end[row];
        del.is_delete = true;
        del.stored = true;
        del.orphan_row = HasOrphan(orphans, del.seq);
        del.truncate = IsTruncateSeq(all_truncates, del.seq);
        events.push_back(del);
      }
      if (!ver.seqs.end_seq.empty()) {
        known.insert(ver.seqs.end_seq);
        newest_known = std::max(newest_known, std::string_view(ver.seqs.end_seq));
      }
    }
    // Orphan deletes the batch can reach: those not older than its oldest
    // event (an older one precedes every change; one that already ends a
    // stored version is that version's end event above).
    if (orphans) {
      auto from = std::lower_bound(orphans->begin(), orphans->end(), oldest,
                                   [](const HistoryIndex::Orphan& o, std::string_view s) {
                                     return std::string_view(o.seq) < s;
                                   });
      for (auto it = from; it != orphans->end(); ++it) {
        const auto& o = *it;
        if (known.count(o.seq)) continue;
        FoldEvent del;
        del.seq = o.seq;
        del.last = del.seq;
        del.ts = FromMicros(o.ts_us, ts_unit);
        del.is_delete = true;
        del.stored = true;
        del.orphan_row = true;
        del.only_orphan_row = true;
        events.push_back(del);
        known.insert(del.seq);
        newest_known = std::max(newest_known, del.seq);
      }
    }
    // Truncates the batch can reach (those not older than its oldest event).
    for (const auto& t : all_truncates) {
      if (std::string_view(t.seq) < oldest || known.count(t.seq)) continue;
      FoldEvent del;
      del.seq = t.seq;
      del.last = del.seq;
      del.ts = FromMicros(t.ts_us, ts_unit);
      del.is_delete = true;
      del.truncate = true;
      del.stored = !IsTruncateSeq(new_truncates, t.seq);
      events.push_back(del);
      known.insert(del.seq);
    }
    for (int64_t r : rows) {
      std::string_view seq = seqs->GetView(r);
      if (known.count(seq)) {
        ++plan.counts.replays;
        continue;
      }
      known.insert(seq);  // a repeat later in the batch is a replay too
      if (seq < newest_known) ++plan.counts.late;
      FoldEvent e;
      e.seq = seq;
      e.last = seq;
      e.ts = ts_values[r];
      e.is_delete = ops[r] == MergeOp::kDelete;
      e.image = n_stored + r;
      e.order = r;
      events.push_back(e);
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const FoldEvent& a, const FoldEvent& b) { return a.seq < b.seq; });

    // The fold.
    out.clear();
    std::optional<FoldVersion> open;
    auto close = [&](std::string_view seq, int64_t ts) {
      open->end = seq;
      open->end_ts = ts;
      out.push_back(*open);
      open.reset();
    };
    for (const auto& e : events) {
      if (!e.stored && !e.is_delete) {
        auto partial = unchanged.find(e.order);
        if (partial != unchanged.end()) {
          auto& cells = carried[e.image];
          cells.assign(payload.size(), -1);
          for (int c : partial->second) cells[c] = open ? cell(open->image, c) : null_row;
        }
      }
      if (e.is_delete) {
        if (open) {
          if (e.seq < open->last) {  // inside absorbed updates: see below
            ++plan.counts.split_absorbed;
            open->last = open->start;
          }
          close(e.seq, e.ts);
          if (!e.stored)
            ++(e.truncate ? plan.counts.closed_by_truncate : plan.counts.closed_by_delete);
          if (e.only_orphan_row) ++plan.counts.orphans_consumed;
        } else if (!e.truncate) {
          if (!e.stored) ++plan.counts.deletes_ignored;
          // No version ends here: only the side table can keep it for an
          // older upsert arriving later (history_orphans.h).
          if (!e.orphan_row) {
            plan.orphans.push_back(
                {std::string(key), std::string(e.seq), ToMicros(e.ts, ts_unit), 0, 0});
          }
        }
        continue;
      }
      if (open && tracked_equal(open->image, e.image)) {
        if (e.last > open->last) {
          open->image = e.image;
          open->last = e.last;
        }
        if (!e.stored) ++plan.counts.in_place;
        continue;
      }
      if (open) {
        if (e.seq < open->last) {
          // Inside a run of absorbed updates whose own images are gone: the
          // version keeps its final image and ends here (docs/merge.md).
          ++plan.counts.split_absorbed;
          open->last = open->start;
        }
        close(e.seq, e.ts);
      }
      open = FoldVersion{e.image, e.seq, e.last, {}, e.ts, std::nullopt, e.origin};
      if (!e.stored) ++plan.counts.versions_opened;
    }
    if (open) out.push_back(*open);

    // Compare with the stored versions: unchanged ones stay.
    std::vector<bool> kept(n_chain, false);
    for (const auto& v : out) {
      if (v.origin >= 0) {
        const auto& ver = (*chain)[v.origin];
        auto at = existing.at.find({index.file(ver.file), ver.row});
        std::string_view stored_last =
            ver.seqs.last_seq.empty() ? std::string_view(ver.seqs.start_seq) : ver.seqs.last_seq;
        if (v.image == at->second && v.start == ver.seqs.start_seq && v.last == stored_last &&
            v.end == ver.seqs.end_seq) {
          kept[v.origin] = true;
          continue;
        }
      }
      ARROW_RETURN_NOT_OK(take.Append(v.image));
      ARROW_RETURN_NOT_OK(start_b.Append(v.start));
      ARROW_RETURN_NOT_OK(last_b.Append(v.last));
      ARROW_RETURN_NOT_OK(start_at.Append(v.start_ts));
      if (v.end_ts) {
        ARROW_RETURN_NOT_OK(end_b.Append(v.end));
        ARROW_RETURN_NOT_OK(end_at.Append(*v.end_ts));
      } else {
        ARROW_RETURN_NOT_OK(end_b.AppendNull());
        ARROW_RETURN_NOT_OK(end_at.AppendNull());
      }
      plan.append_keys.emplace_back(key);
      plan.append_versions.push_back(
          {std::string(v.start), std::string(v.last), std::string(v.end)});
    }
    for (size_t v = first; v < n_chain; ++v) {
      if (kept[v]) continue;
      const auto& ver = (*chain)[v];
      plan.deletes[index.file(ver.file)].Add(static_cast<uint64_t>(ver.row));
      plan.removed_keys.emplace_back(key);
    }
  }
  plan.counts.rows_deleted = static_cast<int64_t>(plan.removed_keys.size());
  plan.counts.rows_appended = static_cast<int64_t>(plan.append_keys.size());
  plan.counts.orphans_recorded = static_cast<int64_t>(plan.orphans.size());

  // The appended rows: images taken (carried cells from their source row),
  // then the history columns.
  ARROW_ASSIGN_OR_RAISE(auto indices, take.Finish());
  std::vector<std::shared_ptr<arrow::Array>> columns;
  const auto& image_rows = static_cast<const arrow::Int64Array&>(*indices);
  for (size_t c = 0; c < images.size(); ++c) {
    std::shared_ptr<arrow::Array> column_indices = indices;
    if (!carried.empty()) {
      arrow::Int64Builder cells;
      ARROW_RETURN_NOT_OK(cells.Reserve(image_rows.length()));
      for (int64_t i = 0; i < image_rows.length(); ++i) {
        cells.UnsafeAppend(cell(image_rows.Value(i), static_cast<int>(c)));
      }
      ARROW_RETURN_NOT_OK(cells.Finish(&column_indices));
    }
    ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(*images[c], *column_indices));
    columns.push_back(std::move(taken));
  }
  std::shared_ptr<arrow::Array> a;
  ARROW_RETURN_NOT_OK(start_at.Finish(&a));
  columns.push_back(a);
  ARROW_RETURN_NOT_OK(end_at.Finish(&a));
  columns.push_back(a);
  ARROW_RETURN_NOT_OK(start_b.Finish(&a));
  columns.push_back(a);
  ARROW_RETURN_NOT_OK(last_b.Finish(&a));
  columns.push_back(a);
  ARROW_RETURN_NOT_OK(end_b.Finish(&a));
  columns.push_back(a);
  plan.appends = arrow::Table::Make(schema, columns, indices->length());
  return plan;
}

}  // namespace sluice::merge
