#include "sluice/sources/dms/dms_file_parts.h"

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

namespace sluice::sources::dms {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view View(const arrow::Buffer& b) {
  return {reinterpret_cast<const char*>(b.data()), static_cast<size_t>(b.size())};
}

// Record starts, fed in file order, into the bounds of each part boundary.
class BoundsBuilder {
 public:
  BoundsBuilder(int64_t size, int64_t part_bytes) : size_(size), part_bytes_(part_bytes) {
    const int64_t parts = (size + part_bytes - 1) / part_bytes;
    bounds_.starts.reserve(static_cast<size_t>(parts + 1));
    parts_ = parts;
    bounds_.head_end = size;
  }

  void RecordAt(int64_t start, bool blank) {
    while (next_ < parts_ && next_ * part_bytes_ <= start) Close(start);
    if (records_ == 1) bounds_.head_end = start;
    ++records_;
    if (!blank) ++filled_;
  }

  CsvPartBounds Finish() {
    while (next_ <= parts_) Close(size_);
    return std::move(bounds_);
  }

 private:
  void Close(int64_t start) {
    bounds_.starts.push_back(start);
    bounds_.records_before.push_back(records_);
    bounds_.filled_before.push_back(filled_);
    ++next_;
  }

  int64_t size_, part_bytes_, parts_ = 0;
  int64_t next_ = 0;  // the next boundary to close
  int64_t records_ = 0, filled_ = 0;
  CsvPartBounds bounds_;
};

}  // namespace

CsvRecordRules DmsCsvRules(const DmsSettings& settings, bool cdc_txn) {
  CsvRecordRules rules;
  rules.delimiter = settings.csv_delimiter;
  rules.quoting = settings.csv_rfc4180;
  rules.quote_anywhere = cdc_txn;
  return rules;
}

// One pass over the bytes with the state of the record grammar
// (formats/csv/csv_decoder.h), carried across chunks: a line end outside a
// quoted field ends a record (CRLF is one line end).
Result<CsvPartBounds> ScanCsvPartBounds(arrow::io::RandomAccessFile* file, int64_t size,
                                        int64_t part_bytes, const CsvRecordRules& rules,
                                        int64_t chunk_bytes) {
  if (chunk_bytes <= 0) return Status::Invalid("chunk size ", chunk_bytes, " is not positive");
  if (part_bytes <= 0) return Status::Invalid("part size ", part_bytes, " is not positive");
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted, kAfterCr };
  BoundsBuilder builder(size, part_bytes);
  State state = State::kFieldStart;
  bool record_next = true;  // the next byte starts a record
  bool first = true;
  // The bytes that end a run of unquoted bytes.
  bool special[256] = {};
  special[static_cast<uint8_t>(rules.delimiter)] = special['\r'] = special['\n'] = true;
  if (rules.quoting && rules.quote_anywhere) special[static_cast<uint8_t>(rules.quote)] = true;
  // The byte order mark belongs to the first record (which starts at 0).
  int64_t from = 0;
  if (size >= static_cast<int64_t>(kBom.size())) {
    ARROW_ASSIGN_OR_RAISE(auto head, file->ReadAt(0, static_cast<int64_t>(kBom.size())));
    if (View(*head) == kBom) from = static_cast<int64_t>(kBom.size());
  }
  for (int64_t at = from; at < size; at += chunk_bytes) {
    ARROW_ASSIGN_OR_RAISE(auto chunk, file->ReadAt(at, std::min(chunk_bytes, size - at)));
    std::string_view bytes = View(*chunk);
    size_t i = 0;
    for (; i < bytes.size(); ++i) {
      char c = bytes[i];
      if (state == State::kAfterCr) {
        state = State::kFieldStart;
        record_next = true;
        if (c == '\n') continue;  // CRLF
      }
      if (record_next) {
        builder.RecordAt(first ? 0 : at + static_cast<int64_t>(i), c == '\n' || c == '\r');
        record_next = first = false;
      }
      switch (state) {
        case State::kQuoted: {
          // Runs of quoted bytes are skipped whole (no record starts there).
          const void* hit = std::memchr(bytes.data() + i, rules.quote, bytes.size() - i);
          if (hit == nullptr) {
            i = bytes.size();
            continue;
          }
          i = static_cast<size_t>(static_cast<const char*>(hit) - bytes.data());
          state = State::kQuoteInQuoted;
          continue;
        }
        case State::kQuoteInQuoted:
          if (c == rules.quote) {  // a doubled quote: still quoted
            state = State::kQuoted;
            continue;
          }
          state = State::kUnquoted;  // closed; what follows is unquoted
          break;
        case State::kFieldStart:
          if (rules.quoting && c == rules.quote) {
            state = State::kQuoted;
            continue;
          }
          state = State::kUnquoted;
          break;
        case State::kUnquoted:
          while (i < bytes.size() && !special[static_cast<uint8_t>(bytes[i])]) ++i;
          if (i == bytes.size()) continue;
          c = bytes[i];
          if (rules.quoting && rules.quote_anywhere && c == rules.quote) {
            state = State::kQuoted;
            continue;
          }
          break;
        case State::kAfterCr:
          break;
      }
      // Unquoted bytes: a delimiter starts a field, a line end a record.
      if (c == rules.delimiter) {
        state = State::kFieldStart;
      } else if (c == '\n') {
        state = State::kFieldStart;
        record_next = true;
      } else if (c == '\r') {
        state = State::kAfterCr;
      }
    }
  }
  return builder.Finish();
}

Result<std::shared_ptr<const CsvPartBounds>> CsvPartBoundsCache::Get(
    const Unit& unit, arrow::io::RandomAccessFile* file, const CsvRecordRules& rules) const {
  Key key{unit.name, unit.file_bytes, unit.mtime_ms, unit.part_bytes};
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, added] = entries_.try_emplace(key);
    if (added) {
      it->second = std::make_shared<Entry>();
      order_.push_back(key);
      if (order_.size() > kMaxFiles) {
        entries_.erase(order_.front());
        order_.pop_front();
      }
    }
    entry = it->second;
  }
  // Other parts of the file wait for this scan instead of scanning too.
  std::lock_guard<std::mutex> lock(entry->mutex);
  if (!entry->bounds) {
    ARROW_ASSIGN_OR_RAISE(auto bounds,
                          ScanCsvPartBounds(file, unit.file_bytes, unit.part_bytes, rules));
    entry->bounds = std::make_shared<const CsvPartBounds>(std::move(bounds));
  }
  return entry->bounds;
}

Result<DmsFileRows> ReadDmsCsvPart(arrow::io::RandomAccessFile* file, const Unit& unit,
                                   const CsvPartBounds& bounds, const DmsFileName& name,
                                   const std::string& where, const DmsSettings& settings,
                                   const DmsTableSchema& schema) {
  const size_t k = static_cast<size_t>(unit.part);
  const int64_t base = bounds.starts[k];
  const int64_t end = bounds.starts[k + 1];
  if (base >= end) return DmsFileRows{};
  ARROW_ASSIGN_OR_RAISE(auto records, file->ReadAt(base, end - base));
  if (base == 0) {
    // The file's start: its header (or first record) is here already.
    return ReadDmsCsvText(View(*records), View(*records), 0, name, where, settings, schema);
  }
  ARROW_ASSIGN_OR_RAISE(auto head, file->ReadAt(0, bounds.head_end));
  ARROW_ASSIGN_OR_RAISE(
      auto rows, ReadDmsCsvText(View(*records), View(*head), base, name, where, settings, schema));
  // File-level problems (no raw record: the header, the layout) are the
  // first part's to report.
  std::erase_if(rows.bad, [](const BadRecord& b) { return b.raw.empty(); });
  if (rows.parts.empty()) return rows;
  // Row numbers: the data records before the part (the decoder skips blank
  // lines unless the table has one column), then the part's.
  const bool one_column = rows.parts.front().batch->num_columns() == 1;
  rows.first_row = (one_column ? bounds.records_before[k] : bounds.filled_before[k]) -
                   (settings.csv_header ? 1 : 0);
  for (auto& part : rows.parts) {
    for (auto& row : part.row_numbers) row += rows.first_row;
  }
  return rows;
}

Result<DmsTxnRows> ReadCdcTxnPart(arrow::io::RandomAccessFile* file, const Unit& unit,
                                  const CsvPartBounds& bounds, const std::string& where,
                                  const DmsSettings& settings,
                                  const std::map<std::string, DmsTableSchema>& schemas) {
  const size_t k = static_cast<size_t>(unit.part);
  const int64_t base = bounds.starts[k];
  const int64_t end = bounds.starts[k + 1];
  if (base >= end) return DmsTxnRows{};
  ARROW_ASSIGN_OR_RAISE(auto records, file->ReadAt(base, end - base));
  ARROW_ASSIGN_OR_RAISE(auto rows, ReadCdcTxnFile(records, where, settings, schemas));
  // Offsets and record numbers of the part's text are the file's from base.
  const int64_t before = bounds.filled_before[k];
  for (auto& b : rows.bad) b.offset += base;
  for (auto& [qualified, entry] : rows.tables) {
    for (auto& b : entry.second.bad) b.offset += base;
    for (auto& part : entry.second.parts) {
      for (auto& off : part.offsets) off += base;
      for (auto& row : part.row_numbers) row += before;
    }
  }
  return rows;
}

}  // namespace sluice::sources::dms
