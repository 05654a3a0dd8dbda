#include "sluice/merge/history_index.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <unordered_set>

#include "sluice/core/arrow_util.h"
#include "sluice/delta/table_reader.h"
#include "sluice/merge/change_event.h"
#include "sluice/merge/history_orphans.h"

namespace sluice::merge {

namespace {

std::string SeqAt(const arrow::BinaryArray& a, int64_t i) {
  return a.IsNull(i) ? std::string() : std::string(a.GetView(i));
}

}  // namespace

HistoryIndex::HistoryIndex(KeyEncoder encoder) : encoder_(std::move(encoder)) {}

uint32_t HistoryIndex::FileId(const std::string& path) {
  auto [it, inserted] = file_ids_.emplace(path, static_cast<uint32_t>(files_.size()));
  if (inserted) files_.push_back(path);
  return it->second;
}

void HistoryIndex::SortChain(std::vector<Version>& chain) {
  std::sort(chain.begin(), chain.end(),
            [](const Version& a, const Version& b) { return a.seqs.start_seq < b.seqs.start_seq; });
}

Result<std::unique_ptr<HistoryIndex>> HistoryIndex::Build(const delta::Snapshot& snapshot,
                                                          const io::TableLocation& location,
                                                          KeyEncoder encoder,
                                                          HistoryIndexStats* stats,
                                                          int64_t orphan_cutoff_ms) {
  auto start = std::chrono::steady_clock::now();
  auto index = std::make_unique<HistoryIndex>(std::move(encoder));
  index->version_ = snapshot.version();
  const auto& config = snapshot.metadata().configuration;
  if (auto it = config.find(kHistoryTruncatesProperty); it != config.end()) {
    auto truncates = DecodeHistoryTruncates(it->second);
    if (!truncates.ok()) {
      return Status::Invalid("table property ", kHistoryTruncatesProperty, " of ", location.uri,
                             ": ", truncates.status().message());
    }
    index->truncates_ = std::move(*truncates);
  }
  HistoryIndexStats local;
  HistoryIndexStats& s = stats ? *stats : local;
  s = HistoryIndexStats{};
  if (!snapshot.metadata().partition_columns.empty()) {
    return Status::NotImplemented("history table ", location.uri, " is partitioned");
  }
  const auto& names = index->encoder_.key_columns();
  const auto& types = index->encoder_.key_types();
  const std::string seq_names[] = {std::string(kSeqColumn), std::string(kLastSeqColumn),
                                   std::string(kEndSeqColumn)};
  // Only the key and sequence columns are read (a projected scan).
  delta::ScanOptions options;
  options.columns = names;
  options.columns.insert(options.columns.end(), std::begin(seq_names), std::end(seq_names));
  options.positions = true;
  ARROW_ASSIGN_OR_RAISE(auto scan, delta::TableScan::Make(snapshot, location, std::move(options)));
  for (const auto& add : snapshot.files()) {
    ++s.files;
    const uint32_t file_id = index->FileId(add.path);
    ARROW_ASSIGN_OR_RAISE(auto file, scan.Open(add));
    for (const auto& name : file.absent_columns()) {
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return Status::Invalid("history file ", add.path, " lacks key column ", name);
      }
      return Status::Invalid("data file ", add.path, " has no ", name,
                             " column; it is not a history table written by Sluice");
    }
    s.rows_read += file.num_rows();
    for (int part = 0; part < file.num_parts(); ++part) {
      ARROW_ASSIGN_OR_RAISE(auto batch, file.ReadPart(part));
      const int64_t n = batch.rows->num_rows();
      std::vector<std::shared_ptr<arrow::Array>> key_columns;
      for (size_t k = 0; k < names.size(); ++k) {
        auto column = batch.rows->column(static_cast<int>(k));
        ARROW_ASSIGN_OR_RAISE(auto array,
                              ColumnAs(std::make_shared<arrow::ChunkedArray>(column), types[k]));
        key_columns.push_back(std::move(array));
      }
      std::shared_ptr<arrow::BinaryArray> seqs[3];
      for (int c = 0; c < 3; ++c) {
        auto column = batch.rows->column(static_cast<int>(names.size()) + c);
        ARROW_ASSIGN_OR_RAISE(
            auto array, ColumnAs(std::make_shared<arrow::ChunkedArray>(column), arrow::binary()));
        seqs[c] = std::static_pointer_cast<arrow::BinaryArray>(array);
      }
      ARROW_ASSIGN_OR_RAISE(auto keys, index->encoder_.EncodeColumns(key_columns, n));
      for (int64_t i = 0; i < n; ++i) {
        if (!keys.valid(i)) {
          ++s.null_keys;
          continue;
        }
        Version v;
        v.seqs = {SeqAt(*seqs[0], i), SeqAt(*seqs[1], i), SeqAt(*seqs[2], i)};
        v.file = file_id;
        v.row = batch.positions[static_cast<size_t>(i)];
        index->chains_[std::string(keys.key(i))].push_back(std::move(v));
        ++index->versions_;
      }
    }
  }
  for (auto& [key, chain] : index->chains_) SortChain(chain);
  // Orphan deletes of batches whose history commit landed (history_orphans.h).
  int64_t through = -1;
  for (const auto& [app, txn] : snapshot.txns()) through = std::max(through, txn.version);
  ARROW_ASSIGN_OR_RAISE(auto orphans, LoadOrphanDeletes(location, through, orphan_cutoff_ms));
  for (const auto& o : orphans) index->AddOrphan(o);
  s.orphans = index->orphans_count_;
  s.versions = index->versions_;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return index;
}

const std::vector<HistoryIndex::Version>* HistoryIndex::Find(std::string_view key) const {
  auto it = chains_.find(std::string(key));
  return it == chains_.end() ? nullptr : &it->second;
}

const std::vector<HistoryIndex::Orphan>* HistoryIndex::FindOrphans(std::string_view key) const {
  if (orphans_.empty()) return nullptr;
  auto it = orphans_.find(std::string(key));
  return it == orphans_.end() ? nullptr : &it->second;
}

void HistoryIndex::AddOrphan(const HistoryOrphan& orphan) {
  auto& list = orphans_[orphan.key];
  auto at = std::lower_bound(list.begin(), list.end(), orphan.seq,
                             [](const Orphan& o, const std::string& seq) { return o.seq < seq; });
  // The same delete recorded twice (orphaned, consumed, orphaned again, all
  // within the retention): one entry, the newest record, is enough.
  if (at != list.end() && at->seq == orphan.seq) {
    at->recorded_at_ms = std::max(at->recorded_at_ms, orphan.recorded_at_ms);
    return;
  }
  list.insert(at, Orphan{orphan.seq, orphan.ts_us, orphan.recorded_at_ms});
  ++orphans_count_;
}

void HistoryIndex::PurgeOrphans(int64_t cutoff_ms) {
  for (auto it = orphans_.begin(); it != orphans_.end();) {
    auto& list = it->second;
    const size_t before = list.size();
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const Orphan& o) { return o.recorded_at_ms < cutoff_ms; }),
               list.end());
    orphans_count_ -= static_cast<int64_t>(before - list.size());
    it = list.empty() ? orphans_.erase(it) : std::next(it);
  }
}

Status HistoryIndex::Apply(const HistoryPlan& plan, const MergeOutcome& outcome) {
  if (outcome.already_applied) return Status::OK();
  if (plan.base_version != version_) {
    return Status::Invalid("history index is at version ", version_, " but the plan was made at ",
                           plan.base_version, "; rebuild the index");
  }
  // 1. Deleted rows leave their keys' chains.
  std::unordered_set<std::string> touched(plan.removed_keys.begin(), plan.removed_keys.end());
  for (const auto& key : touched) {
    auto it = chains_.find(key);
    if (it == chains_.end()) continue;
    auto& chain = it->second;
    auto gone = [&](const Version& v) {
      auto d = plan.deletes.find(files_[v.file]);
      return d != plan.deletes.end() && d->second.Contains(static_cast<uint64_t>(v.row));
    };
    const size_t before = chain.size();
    chain.erase(std::remove_if(chain.begin(), chain.end(), gone), chain.end());
    versions_ -= static_cast<int64_t>(before - chain.size());
    if (chain.empty()) chains_.erase(it);
  }
  // 2. Copy-on-write: surviving rows of rewritten files move (new row = old
  // row - rows deleted before it, split across the replacements in order).
  if (!outcome.rewrites.empty()) {
    std::unordered_map<uint32_t, const FileRewrite*> moved;
    for (const auto& rw : outcome.rewrites) moved[FileId(rw.old_path)] = &rw;
    for (auto& [key, chain] : chains_) {
      for (auto& v : chain) {
        auto it = moved.find(v.file);
        if (it == moved.end()) continue;
        const FileRewrite& rw = *it->second;
        auto before =
            std::lower_bound(rw.deleted.begin(), rw.deleted.end(), static_cast<uint64_t>(v.row));
        int64_t new_row = v.row - (before - rw.deleted.begin());
        for (const auto& f : rw.replacements) {
          if (new_row < f.rows) {
            v.file = FileId(f.path);
            v.row = new_row;
            break;
          }
          new_row -= f.rows;
        }
      }
    }
  }
  // 3. Appended rows: row i of plan.appends is in the file covering it.
  size_t file_index = 0;
  int64_t in_file = 0;
  std::unordered_set<std::string> grown;
  for (size_t i = 0; i < plan.append_keys.size(); ++i) {
    while (file_index < outcome.appended.size() && in_file >= outcome.appended[file_index].rows) {
      ++file_index;
      in_file = 0;
    }
    if (file_index >= outcome.appended.size()) {
      return Status::Invalid("history index: the commit wrote fewer rows than the plan appends");
    }
    Version v;
    v.seqs = plan.append_versions[i];
    v.file = FileId(outcome.appended[file_index].path);
    v.row = in_file++;
    chains_[plan.append_keys[i]].push_back(std::move(v));
    grown.insert(plan.append_keys[i]);
    ++versions_;
  }
  for (const auto& key : grown) SortChain(chains_[key]);
  for (const auto& o : plan.orphans) AddOrphan(o);
  version_ = outcome.version;
  if (!plan.truncates.empty()) truncates_ = plan.truncates;
  return Status::OK();
}

int64_t HistoryIndex::MemoryBytes() const {
  int64_t bytes = static_cast<int64_t>(chains_.bucket_count() * sizeof(void*));
  auto heap = [](const std::string& s) {
    return s.capacity() > 15 ? static_cast<int64_t>(s.capacity() + 1) : 0;
  };
  for (const auto& [key, chain] : chains_) {
    bytes += 32 + static_cast<int64_t>(sizeof(key) + sizeof(chain)) + heap(key);
    bytes += static_cast<int64_t>(chain.capacity() * sizeof(Version));
    for (const auto& v : chain) {
      bytes += heap(v.seqs.start_seq) + heap(v.seqs.last_seq) + heap(v.seqs.end_seq);
    }
  }
  for (const auto& f : files_) bytes += static_cast<int64_t>(sizeof(f) + f.capacity() + 48);
  bytes += static_cast<int64_t>(orphans_.bucket_count() * sizeof(void*));
  for (const auto& [key, list] : orphans_) {
    bytes += 32 + static_cast<int64_t>(sizeof(key) + sizeof(list)) + heap(key);
    bytes += static_cast<int64_t>(list.capacity() * sizeof(Orphan));
    for (const auto& o : list) bytes += heap(o.seq);
  }
  return bytes;
}

std::vector<HistoryIndexEntry> HistoryIndex::Entries() const {
  std::vector<HistoryIndexEntry> out;
  out.reserve(static_cast<size_t>(versions_));
  for (const auto& [key, chain] : chains_) {
    for (const auto& v : chain) out.push_back({key, v.seqs, files_[v.file], v.row});
  }
  std::sort(out.begin(), out.end(), [](const HistoryIndexEntry& a, const HistoryIndexEntry& b) {
    return std::tie(a.key, a.version.start_seq) < std::tie(b.key, b.version.start_seq);
  });
  return out;
}

std::vector<HistoryOrphan> HistoryIndex::Orphans() const {
  std::vector<HistoryOrphan> out;
  out.reserve(static_cast<size_t>(orphans_count_));
  for (const auto& [key, list] : orphans_) {
    for (const auto& o : list) out.push_back({key, o.seq, o.ts_us, o.recorded_at_ms, 0});
  }
  std::sort(out.begin(), out.end(), [](const HistoryOrphan& a, const HistoryOrphan& b) {
    return std::tie(a.key, a.seq) < std::tie(b.key, b.seq);
  });
  return out;
}

}  // namespace sluice::merge
