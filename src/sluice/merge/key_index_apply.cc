// KeyIndex::Apply and ApplyCompaction: the index follows a merge commit or
// a compaction in place.
#include <algorithm>
#include <span>

#include "sluice/merge/key_index.h"

namespace sluice::merge {

Status KeyIndex::Apply(const MergePlan& plan, const MergeOutcome& outcome) {
  if (outcome.already_applied) return Status::OK();
  if (!plan.truncate_seq.empty()) {
    return Status::Invalid("a truncate deleted rows the key index does not follow; rebuild it");
  }
  if (plan.base_version != version_) {
    return Status::Invalid("key index is at version ", version_, " but the plan was made at ",
                           plan.base_version, "; rebuild the index");
  }
  // Number every new file first, so no renumbering happens half way.
  uint64_t new_rows = 0;
  for (const auto& rw : outcome.rewrites) {
    for (const auto& f : rw.replacements) new_rows += static_cast<uint64_t>(f.rows);
  }
  for (const auto& f : outcome.appended) new_rows += static_cast<uint64_t>(f.rows);
  ARROW_RETURN_NOT_OK(Reserve(new_rows));
  // 1. Rows of rewritten files move: new row = old row - rows deleted
  // before it, then split across the replacement files in order.
  if (!outcome.rewrites.empty()) {
    struct Move {
      const FileRewrite* rewrite;
      std::vector<uint32_t> bases;  // of the replacements
    };
    std::unordered_map<uint32_t, Move> moved;
    for (const auto& rw : outcome.rewrites) {
      const int64_t old_id = FileIdOf(rw.old_path);
      std::string bound = old_id >= 0 ? files_[old_id].max_seq : std::string();
      Move m{&rw, {}};
      for (const auto& f : rw.replacements) {
        ARROW_ASSIGN_OR_RAISE(auto base, AddFile(f.path, f.rows, bound));
        m.bases.push_back(base);
      }
      // A file the index forgot held no live row: nothing of it moves.
      if (old_id >= 0) moved.emplace(static_cast<uint32_t>(old_id), std::move(m));
    }
    ForEachRow([&](uint32_t number) {
      auto [id, in_file] = Locate(number);
      auto it = moved.find(id);
      if (it == moved.end()) return number;
      const FileRewrite& rw = *it->second.rewrite;
      auto row = static_cast<uint64_t>(in_file);
      auto before = std::lower_bound(rw.deleted.begin(), rw.deleted.end(), row);
      if (before != rw.deleted.end() && *before == row) return number;  // replaced below
      int64_t new_row = in_file - (before - rw.deleted.begin());
      for (size_t r = 0; r < rw.replacements.size(); ++r) {
        if (new_row < rw.replacements[r].rows) {
          return it->second.bases[r] + static_cast<uint32_t>(new_row);
        }
        new_row -= rw.replacements[r].rows;
      }
      return number;
    });
  }
  // 2. Appended rows: row i of plan.appends is in the file covering it.
  // Many appended integer keys while the delta is empty: the keys the run
  // lacks are collected, and when there are as many as a delta merge takes
  // (a backfill), sorted and merged into the run in one pass instead of
  // going through the delta's hash map.
  const bool bulk = narrow_ && narrow_delta_.empty() && plan.append_keys.size() >= delta_max_;
  // (Renumbering happens in Reserve, before this; nothing renumbers rows
  // while `fresh` holds some.)
  std::vector<NarrowSlot> fresh;
  size_t first = 0;
  for (const auto& file : outcome.appended) {
    if (first + static_cast<size_t>(file.rows) > plan.append_keys.size()) {
      return Status::Invalid("key index: the commit wrote more rows than the plan appends");
    }
    std::span<const std::string> seqs(plan.append_seqs.data() + first,
                                      static_cast<size_t>(file.rows));
    const std::string* max_seq = nullptr;
    for (const auto& q : seqs) {
      if (max_seq == nullptr || *max_seq < q) max_seq = &q;
    }
    ARROW_ASSIGN_OR_RAISE(auto base,
                          AddFile(file.path, file.rows, max_seq ? *max_seq : std::string()));
    seqs_->Remember(file.path, 0, seqs);
    for (int64_t r = 0; r < file.rows; ++r) {
      const auto& key = plan.append_keys[first + static_cast<size_t>(r)];
      const uint64_t hash = HashKey(key);
      if (!tombstones_.empty()) tombstones_.erase(key);
      const uint64_t token = TokenOf(key, hash);
      const uint32_t row = base + static_cast<uint32_t>(r);
      if (!bulk) {
        SetRow(key, token, row);
        continue;
      }
      auto [lo, hi] = narrow_run_.Range(token);
      if (lo == hi) {
        fresh.push_back(NarrowSlot{token, row});
        continue;
      }
      if (lo->row == kRemovedRow) ++live_;
      lo->row = row;
    }
    first += static_cast<size_t>(file.rows);
  }
  if (first != plan.append_keys.size()) {
    return Status::Invalid("key index: the commit wrote fewer rows than the plan appends");
  }
  if (fresh.size() >= DeltaMergeAt()) {
    ARROW_ASSIGN_OR_RAISE(size_t added, MergeIntoNarrowRun(std::move(fresh)));
    live_ += static_cast<int64_t>(added);
  } else {
    // A few new keys (a CDC batch into a large table) go to the delta, as
    // SetRow would put them: an O(n) merge of the run each time costs more.
    for (const auto& slot : fresh) SetRow({}, slot.token, slot.row);
  }

  // 3. Tombstones.
  for (const auto& t : plan.tombstones) {
    EraseLive(t.key, TokenOf(t.key, HashKey(t.key)));
    tombstones_[t.key] = TombstoneInfo{t.seq, t.deleted_at_ms};
  }
  ARROW_RETURN_NOT_OK(MaybeMergeDelta());
  version_ = outcome.version;
  return Status::OK();
}

Status KeyIndex::ApplyCompaction(const delta::CompactionResult& result) {
  if (!result.committed) return Status::OK();
  if (result.read_version != version_ || result.version != version_ + 1) {
    return Status::Invalid("key index is at version ", version_, " but the compaction read ",
                           result.read_version, " and committed ", result.version,
                           "; rebuild the index");
  }
  // Per old file, its segments in old-row order (a file's survivors are
  // written in order, possibly split across consecutive new files).
  struct Piece {
    const std::vector<uint64_t>* rows;
    uint32_t new_base;
  };
  uint64_t new_rows = 0;
  for (const auto& file : result.files) new_rows += static_cast<uint64_t>(file.rows);
  ARROW_RETURN_NOT_OK(Reserve(new_rows));
  std::unordered_map<uint32_t, std::vector<Piece>> pieces;
  for (const auto& path : result.removed) {
    const int64_t id = FileIdOf(path);
    if (id >= 0) pieces[static_cast<uint32_t>(id)];
  }
  for (const auto& file : result.files) {
    std::string max_seq;
    for (const auto& seg : file.segments) {
      const int64_t old = FileIdOf(seg.old_path);
      if (old >= 0) max_seq = std::max(max_seq, files_[old].max_seq);
    }
    ARROW_ASSIGN_OR_RAISE(auto base, AddFile(file.path, file.rows, std::move(max_seq)));
    int64_t at = 0;
    for (const auto& seg : file.segments) {
      const int64_t old = FileIdOf(seg.old_path);
      if (!seg.rows.empty() && old >= 0) {
        pieces[static_cast<uint32_t>(old)].push_back({&seg.rows, base + static_cast<uint32_t>(at)});
      }
      at += static_cast<int64_t>(seg.rows.size());
    }
  }
  for (auto& [id, list] : pieces) {
    std::sort(list.begin(), list.end(),
              [](const Piece& a, const Piece& b) { return a.rows->front() < b.rows->front(); });
  }
  Status lost = Status::OK();
  ForEachRow([&](uint32_t number) {
    auto [id, in_file] = Locate(number);
    auto it = pieces.find(id);
    if (it == pieces.end()) return number;
    const auto row = static_cast<uint64_t>(in_file);
    const auto& list = it->second;
    // The last piece starting at or before the row.
    auto piece = std::upper_bound(list.begin(), list.end(), row,
                                  [](uint64_t r, const Piece& p) { return r < p.rows->front(); });
    if (piece != list.begin()) {
      --piece;
      auto pos = std::lower_bound(piece->rows->begin(), piece->rows->end(), row);
      if (pos != piece->rows->end() && *pos == row) {
        return piece->new_base + static_cast<uint32_t>(pos - piece->rows->begin());
      }
    }
    if (lost.ok()) {
      lost = Status::Invalid("key index: live row ", row, " of ", files_[id].path,
                             " is not among the rows the compaction kept; rebuild the index");
    }
    return number;
  });
  ARROW_RETURN_NOT_OK(lost);
  version_ = result.version;
  return Status::OK();
}

}  // namespace sluice::merge
