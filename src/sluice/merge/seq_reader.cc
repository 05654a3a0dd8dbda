#include "sluice/merge/seq_reader.h"

#include <arrow/api.h>

#include <algorithm>

#include "sluice/delta/table_reader.h"
#include "sluice/merge/change_event.h"

namespace sluice::merge {

SeqReader::SeqReader(std::optional<io::TableLocation> location, int64_t cache_bytes)
    : location_(std::move(location)), capacity_(cache_bytes) {}

void SeqReader::Remember(const std::string& path, int64_t first_row,
                         std::span<const std::string> seqs) {
  if (seqs.empty() || capacity_ <= 0) return;
  arrow::BinaryBuilder builder;
  int64_t bytes = 0;
  for (const auto& s : seqs) bytes += static_cast<int64_t>(s.size());
  if (!builder.Reserve(static_cast<int64_t>(seqs.size())).ok() ||
      !builder.ReserveData(bytes).ok()) {
    return;  // a cache: nothing lost by not filling it
  }
  for (const auto& s : seqs) builder.UnsafeAppend(s);
  std::shared_ptr<arrow::BinaryArray> array;
  if (!builder.Finish(&array).ok()) return;
  Insert(path, first_row, Chunk{std::move(array), bytes + static_cast<int64_t>(seqs.size()) * 4});
}

const SeqReader::Chunk* SeqReader::Lookup(const FileChunks& chunks, int64_t row,
                                          int64_t* offset) const {
  auto it = chunks.upper_bound(row);
  if (it == chunks.begin()) return nullptr;
  --it;
  const int64_t at = row - it->first;
  if (at >= it->second.seqs->length()) return nullptr;
  *offset = at;
  return &it->second;
}

void SeqReader::Insert(const std::string& path, int64_t first_row, Chunk chunk) {
  const int64_t bytes = chunk.bytes;
  auto [it, inserted] = files_[path].emplace(first_row, std::move(chunk));
  if (!inserted) return;
  cached_bytes_ += bytes;
  order_.emplace_back(path, first_row);
  // Oldest out first, but never the chunk just inserted (a read needs it).
  while (cached_bytes_ > capacity_ && order_.size() > 1) {
    auto [p, first] = order_.front();
    order_.pop_front();
    auto f = files_.find(p);
    if (f == files_.end()) continue;
    auto c = f->second.find(first);
    if (c != f->second.end()) {
      cached_bytes_ -= c->second.bytes;
      f->second.erase(c);
    }
    if (f->second.empty()) files_.erase(f);
  }
}

Status SeqReader::Load(const std::string& path, const std::vector<int64_t>& rows) {
  if (!location_) {
    return Status::Invalid("no sequence is known for row ", rows.front(), " of ", path);
  }
  // Only `_cdc_seq`, as bytes, with no snapshot at hand: files are read by
  // path, every physical row (the rows asked for are live ones).
  auto schema = arrow::schema({arrow::field(std::string(kSeqColumn), arrow::binary())});
  ARROW_ASSIGN_OR_RAISE(auto scan, delta::TableScan::Make(*location_, std::move(schema), {},
                                                          {{std::string(kSeqColumn)}, false}));
  delta::Add add;
  add.path = path;
  ARROW_ASSIGN_OR_RAISE(auto file, scan.Open(add));
  if (!file.absent_columns().empty()) {
    return Status::Invalid("data file ", path, " has no ", kSeqColumn, " column");
  }
  size_t next = 0;  // first row of `rows` not yet covered
  for (int part = 0; part < file.num_parts() && next < rows.size(); ++part) {
    const int64_t first = file.part_first_row(part);
    const int64_t n = file.part_rows(part);
    if (rows[next] < first + n) {
      ARROW_ASSIGN_OR_RAISE(auto batch, file.ReadPart(part));
      auto seqs = std::static_pointer_cast<arrow::BinaryArray>(batch.rows->column(0));
      const int64_t bytes = seqs->total_values_length() + seqs->length() * 4;
      rows_read_ += seqs->length();
      Insert(path, first, Chunk{std::move(seqs), bytes});
      while (next < rows.size() && rows[next] < first + n) ++next;
    }
  }
  if (next < rows.size()) {
    return Status::Invalid("data file ", path, " has ", file.num_rows(), " rows; row ", rows[next],
                           " is not among them");
  }
  return Status::OK();
}

Result<std::vector<std::string>> SeqReader::Read(const std::vector<Request>& requests) {
  std::vector<std::string> out(requests.size());
  // Misses, grouped by file, so each file is opened once.
  std::map<std::string, std::vector<size_t>> missing;
  for (size_t i = 0; i < requests.size(); ++i) {
    int64_t offset = 0;
    auto f = files_.find(*requests[i].path);
    const Chunk* c = f == files_.end() ? nullptr : Lookup(f->second, requests[i].row, &offset);
    if (c != nullptr) {
      out[i] = std::string(c->seqs->GetView(offset));
    } else {
      missing[*requests[i].path].push_back(i);
    }
  }
  for (auto& [path, which] : missing) {
    std::vector<int64_t> rows;
    for (size_t i : which) rows.push_back(requests[i].row);
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    ARROW_RETURN_NOT_OK(Load(path, rows));
    // Serve from what was just loaded (the cache may since have evicted
    // older chunks, so look each row up again and read what is gone).
    for (size_t i : which) {
      int64_t offset = 0;
      auto f = files_.find(path);
      const Chunk* c = f == files_.end() ? nullptr : Lookup(f->second, requests[i].row, &offset);
      if (c == nullptr) {
        ARROW_RETURN_NOT_OK(Load(path, {requests[i].row}));
        f = files_.find(path);
        c = Lookup(f->second, requests[i].row, &offset);
        if (c == nullptr) return Status::Invalid("sequence cache lost row ", requests[i].row);
      }
      out[i] = std::string(c->seqs->GetView(offset));
    }
  }
  return out;
}

}  // namespace sluice::merge
