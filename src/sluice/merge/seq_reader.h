// SeqReader: the exact `_cdc_seq` of given rows of a merged table's data
// files. The key index (key_index.h) keeps no sequence per key, only an
// upper bound per file; an event whose sequence is not above that bound
// (a late event, or a replay) is decided with the exact value read here.
//
// Row groups read, and the sequences of the files this process just wrote
// (Remember), are kept in a cache bounded by bytes (oldest out first): late
// events mostly hit rows written a few commits ago, so most lookups are
// served from memory. Files are immutable, so a cached value never goes
// stale; a file that left the table is simply never asked for again.
//
// Not thread-safe.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/io/table_location.h"

namespace sluice::merge {

class SeqReader {
 public:
  /// `location` may be empty (no table yet): then reads fail and only
  /// remembered files can be served.
  SeqReader(std::optional<io::TableLocation> location, int64_t cache_bytes);

  /// Remembers the sequences of rows [first_row, first_row + seqs.size())
  /// of `path` (a file just written).
  void Remember(const std::string& path, int64_t first_row, std::span<const std::string> seqs);

  struct Request {
    const std::string* path;  ///< add.path
    int64_t row;
  };
  /// The sequence of each requested row, in request order.
  Result<std::vector<std::string>> Read(const std::vector<Request>& requests);

  int64_t cached_bytes() const { return cached_bytes_; }
  int64_t rows_read() const { return rows_read_; }

 private:
  struct Chunk {
    std::shared_ptr<arrow::BinaryArray> seqs;
    int64_t bytes = 0;
  };
  // Rows of `path` held in the cache: first row -> chunk.
  using FileChunks = std::map<int64_t, Chunk>;

  /// The cached value of row `row`, or nullptr.
  const Chunk* Lookup(const FileChunks& chunks, int64_t row, int64_t* offset) const;
  void Insert(const std::string& path, int64_t first_row, Chunk chunk);
  /// Reads the row groups of `path` holding `rows` (sorted) into the cache.
  Status Load(const std::string& path, const std::vector<int64_t>& rows);

  std::optional<io::TableLocation> location_;
  int64_t capacity_;
  int64_t cached_bytes_ = 0;
  int64_t rows_read_ = 0;
  std::unordered_map<std::string, FileChunks> files_;
  std::deque<std::pair<std::string, int64_t>> order_;  // insertion order, for eviction
};

}  // namespace sluice::merge
