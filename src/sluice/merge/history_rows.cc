#include "sluice/merge/history_rows.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <unordered_map>

#include "sluice/delta/table_reader.h"

namespace sluice::merge {

Result<VersionRows> ReadVersionRows(
    const delta::Snapshot* snapshot, const io::TableLocation& location,
    const std::map<std::string, std::vector<int64_t>>& rows_by_file) {
  VersionRows result;
  if (!snapshot) {
    ARROW_ASSIGN_OR_RAISE(result.table, arrow::Table::MakeEmpty(arrow::schema({})));
    if (!rows_by_file.empty()) return Status::Invalid("history rows requested of no table");
    return result;
  }
  std::unordered_map<std::string, const delta::Add*> files;
  for (const auto& f : snapshot->files()) files[f.path] = &f;
  std::vector<std::shared_ptr<arrow::Table>> parts;
  int64_t next = 0;
  for (const auto& [path, rows] : rows_by_file) {
    auto it = files.find(path);
    if (it == files.end()) {
      return Status::Invalid("history file ", path, " is not in table version ",
                             snapshot->version(), "; rebuild the index");
    }
    // Row numbers are positions in the file, so read it without its DV.
    delta::Add raw = *it->second;
    raw.deletion_vector.reset();
    ARROW_ASSIGN_OR_RAISE(auto table, delta::ReadDataFile(*snapshot, location, raw));
    arrow::Int64Builder take;
    for (int64_t row : rows) {
      if (row < 0 || row >= table->num_rows()) {
        return Status::Invalid("history file ", path, " has no row ", row);
      }
      ARROW_RETURN_NOT_OK(take.Append(row));
      result.at[{path, row}] = next++;
    }
    ARROW_ASSIGN_OR_RAISE(auto indices, take.Finish());
    ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(table, indices));
    parts.push_back(taken.table());
  }
  if (parts.empty()) {
    ARROW_ASSIGN_OR_RAISE(result.table, arrow::Table::MakeEmpty(snapshot->schema()));
  } else {
    ARROW_ASSIGN_OR_RAISE(result.table, arrow::ConcatenateTables(parts));
  }
  return result;
}

}  // namespace sluice::merge
