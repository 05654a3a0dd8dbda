// KeyIndex::Build: the index from a snapshot's key columns and `_cdc_seq`
// (key_index_scan.h) plus the persisted tombstones.
#include <arrow/api.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "sluice/merge/key_index.h"
#include "sluice/merge/key_index_scan.h"

namespace sluice::merge {

Result<std::unique_ptr<KeyIndex>> KeyIndex::Build(const delta::Snapshot& snapshot,
                                                  const io::TableLocation& location,
                                                  KeyEncoder encoder,
                                                  const std::vector<Tombstone>& tombstones,
                                                  IndexBuildStats* stats) {
  auto start = std::chrono::steady_clock::now();
  auto index = std::make_unique<KeyIndex>(std::move(encoder), location);
  KeyIndex& ix = *index;
  ix.version_ = snapshot.version();
  const auto& config = snapshot.metadata().configuration;
  if (auto it = config.find(kTruncateSeqProperty); it != config.end()) {
    auto seq = DecodeTruncateSeq(it->second);
    if (!seq.ok()) {
      return Status::Invalid("table property ", kTruncateSeqProperty, " of ", location.uri, ": ",
                             seq.status().message());
    }
    ix.truncate_seq_ = std::move(*seq);
  }
  IndexBuildStats local;
  IndexBuildStats& s = stats ? *stats : local;
  s = IndexBuildStats{};
  // Slots collected straight into a malloc'd buffer the run then owns
  // (grown with realloc; pre-sized from the stats when they exist).
  const size_t slot_size = ix.narrow_ ? sizeof(NarrowSlot) : sizeof(WideSlot);
  size_t capacity = 1024;
  if (auto records = snapshot.NumRecords()) capacity = std::max<size_t>(capacity, *records);
  void* buffer = std::malloc(capacity * slot_size);
  if (buffer == nullptr) return Status::OutOfMemory("key index: ", capacity, " keys");
  size_t count = 0;
  auto push = [&](const auto& slot) {
    if (count == capacity) {
      void* grown = std::realloc(buffer, capacity * 2 * slot_size);
      if (grown == nullptr) return false;
      buffer = grown;
      capacity *= 2;
    }
    std::memcpy(static_cast<char*>(buffer) + count * slot_size, &slot, slot_size);
    ++count;
    return true;
  };
  // Each file's rows are numbered from the next free number; the file is
  // added (AddFile) once all its parts are in.
  auto scan_files = [&]() -> Status {
    ARROW_ASSIGN_OR_RAISE(auto scan, KeyScan::Make(snapshot, location, ix.encoder_));
    for (const auto& add : snapshot.files()) {
      ++s.files;
      ARROW_ASSIGN_OR_RAISE(auto file, scan.Open(add));
      const uint64_t base = ix.next_row_;
      if (base + static_cast<uint64_t>(file.num_rows()) > ix.row_space_) {
        return Status::CapacityError(
            "key index: the merged table's data files hold more than ", ix.row_space_,
            " rows (deleted rows included); compact the table (sluice compact)");
      }
      std::string max_seq;
      for (int part = 0; part < file.num_parts(); ++part) {
        ARROW_ASSIGN_OR_RAISE(auto rows, scan.Read(file, part));
        s.rows_read += file.part_rows(part);
        const EncodedKeys& keys = rows.keys;
        const arrow::BinaryArray& seqs = *rows.seqs;
        for (int64_t i = 0; i < keys.size(); ++i) {
          if (!seqs.IsNull(i) && seqs.GetView(i) > max_seq) max_seq = seqs.GetView(i);
          if (!keys.valid(i)) {
            ++s.null_keys;
            continue;
          }
          const auto number =
              static_cast<uint32_t>(base + static_cast<uint64_t>(rows.positions[i]));
          bool ok;
          if (ix.narrow_) {
            ok = push(NarrowSlot{ix.TokenOf(keys.key(i), keys.hash(i)), number});
          } else {
            std::string_view key = keys.key(i);
            ok = push(WideSlot{keys.hash(i), number, static_cast<uint32_t>(key.size()),
                               ix.arena_.size()});
            ix.arena_.append(key);
          }
          if (!ok) return Status::OutOfMemory("key index: cannot hold ", count, " keys");
        }
      }
      ARROW_RETURN_NOT_OK(ix.AddFile(add.path, file.num_rows(), std::move(max_seq)).status());
    }
    return Status::OK();
  };
  Status scanned = scan_files();
  if (!scanned.ok()) {
    std::free(buffer);
    return scanned;
  }
  // Sorted by token; equal keys next to each other are duplicates (a table
  // written by something else): the row with the greater sequence wins.
  std::vector<std::pair<size_t, size_t>> dups;  // (kept, dropped) slot indexes
  auto dedup = [&](auto* slots, auto& run, auto same_key) -> Status {
    run.Assign(slots, count);
    auto* data = run.data();
    for (size_t i = 1; i < count; ++i) {
      for (size_t j = i; j-- > 0 && data[j].token == data[i].token;) {
        if (data[j].row == kRemovedRow || !same_key(data[i], data[j])) continue;
        ++s.duplicate_keys;
        auto [fi, ri] = ix.Locate(data[i].row);
        auto [fj, rj] = ix.Locate(data[j].row);
        ARROW_ASSIGN_OR_RAISE(auto exact,
                              ix.ExactSeqs({{&ix.files_[fi].path, ri}, {&ix.files_[fj].path, rj}}));
        // Greater sequence wins; on a tie the earlier file (lower number).
        const bool i_wins =
            exact[0] > exact[1] || (exact[0] == exact[1] && data[i].row < data[j].row);
        if (i_wins) {
          data[j].row = kRemovedRow;
        } else {
          data[i].row = kRemovedRow;
          break;
        }
      }
    }
    return Status::OK();
  };
  Status deduped;
  if (ix.narrow_) {
    deduped = dedup(static_cast<NarrowSlot*>(buffer), ix.narrow_run_,
                    [](const NarrowSlot&, const NarrowSlot&) { return true; });
  } else {
    deduped = dedup(static_cast<WideSlot*>(buffer), ix.wide_run_,
                    [&](const WideSlot& a, const WideSlot& b) {
                      return std::string_view(ix.arena_.data() + a.key_at, a.key_len) ==
                             std::string_view(ix.arena_.data() + b.key_at, b.key_len);
                    });
  }
  ARROW_RETURN_NOT_OK(deduped);
  ix.live_ = static_cast<int64_t>(count) - s.duplicate_keys;
  if (s.duplicate_keys > 0) {
    // Drop the holes now (Merge with nothing added compacts).
    if (ix.narrow_) {
      ix.narrow_run_.Merge({});
    } else {
      ix.wide_run_.Merge({});
    }
  }
  for (const auto& t : tombstones) {
    // A live row of the key (re-inserted at or after the delete, or older
    // because the delete's main commit never landed, which the caller's
    // batch_version filter rules out) keeps the key live.
    if (!ix.Fits(t.key)) continue;  // not a key of this table's key type
    if (ix.LookupRow(t.key, ix.TokenOf(t.key, HashKey(t.key))) != kRemovedRow) continue;
    auto& info = ix.tombstones_[t.key];
    if (info.seq.empty() || t.seq > info.seq) info = TombstoneInfo{t.seq, t.deleted_at_ms};
  }
  s.live_rows = ix.live_count();
  s.tombstones = ix.tombstone_count();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return index;
}

}  // namespace sluice::merge
