#include "sluice/pipeline/log_tail.h"

#include <arrow/api.h>
#include <arrow/util/byte_size.h>

#include "sluice/delta/commit_reader.h"
#include "sluice/delta/table_reader.h"
#include "sluice/pipeline/schema_evolution.h"

namespace sluice::pipeline {

namespace {

// The cached rows in the log's current schema (a later commit may have
// evolved it: added columns read NULL, widened ones are cast).
Result<std::shared_ptr<arrow::Table>> InSchema(const std::shared_ptr<arrow::Table>& rows,
                                               const std::shared_ptr<arrow::Schema>& schema,
                                               const std::string& table) {
  if (rows->schema()->Equals(*schema, false)) return rows;
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  arrow::TableBatchReader reader(*rows);
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(auto conformed, ConformBatch(table, batch, schema));
    out.push_back(std::move(conformed));
  }
  return arrow::Table::FromRecordBatches(schema, out);
}

}  // namespace

int64_t LogTail::BytesAfter(int64_t version) const {
  int64_t bytes = 0;
  for (auto it = cache_.upper_bound(version); it != cache_.end(); ++it) {
    if (it->second) bytes += arrow::util::TotalBufferSize(*it->second);
  }
  return bytes;
}

void LogTail::Remember(int64_t version, std::shared_ptr<arrow::Table> rows) {
  if (!rows) return;
  if (cached_rows_ + rows->num_rows() > max_cached_rows_) return;  // read back later
  cached_rows_ += rows->num_rows();
  cache_[version] = std::move(rows);
}

void LogTail::ForgetThrough(int64_t version) {
  while (!cache_.empty() && cache_.begin()->first <= version) {
    cached_rows_ -= cache_.begin()->second->num_rows();
    cache_.erase(cache_.begin());
  }
}

void LogTail::Clear() {
  cache_.clear();
  cached_rows_ = 0;
}

Result<std::vector<LogCommitRows>> LogTail::Read(const delta::Snapshot& log,
                                                 const io::TableLocation& location, int64_t after,
                                                 int64_t max_rows) {
  std::vector<LogCommitRows> out;
  int64_t rows = 0;
  const std::string& name = location.root;
  for (int64_t v = after + 1; v <= log.version() && (out.empty() || rows < max_rows); ++v) {
    std::shared_ptr<arrow::Table> table;
    if (auto it = cache_.find(v); it != cache_.end()) {
      ARROW_ASSIGN_OR_RAISE(table, InSchema(it->second, log.schema(), name));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto adds, delta::DataFilesAddedIn(log.store(), v));
      std::vector<std::shared_ptr<arrow::Table>> parts;
      for (const auto& add : adds) {
        auto part = delta::ReadDataFile(log, location, add);
        if (!part.ok()) {
          return part.status().WithMessage("log table ", name, " version ", v, ", file ", add.path,
                                           ": ", part.status().message());
        }
        parts.push_back(*part);
      }
      if (parts.empty()) {
        ARROW_ASSIGN_OR_RAISE(table, arrow::Table::MakeEmpty(log.schema()));
      } else {
        ARROW_ASSIGN_OR_RAISE(table, arrow::ConcatenateTables(parts));
      }
    }
    rows += table->num_rows();
    out.push_back({v, std::move(table)});
  }
  return out;
}

}  // namespace sluice::pipeline
