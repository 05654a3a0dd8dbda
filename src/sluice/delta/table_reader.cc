#include "sluice/delta/table_reader.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/filesystem/filesystem.h>
#include <parquet/arrow/reader.h>

#include "sluice/delta/data_writer.h"
#include "sluice/delta/deletion_vector.h"
#include "sluice/delta/partition_value.h"

namespace sluice::delta {

Result<std::string> ResolveDataPath(const io::TableLocation& location, const std::string& path) {
  auto scheme = path.find("://");
  if (scheme == std::string::npos) return io::JoinPath(location.root, DecodeAddPath(path));
  if (path.compare(0, scheme, "file") == 0) {
    // file:///abs/path or file:/abs/path
    return DecodeAddPath(path.substr(scheme + 3));
  }
  return Status::NotImplemented("data file outside local storage: ", path);
}

namespace {

Result<std::shared_ptr<arrow::Array>> NullsOf(const std::shared_ptr<arrow::DataType>& type,
                                              int64_t n) {
  return arrow::MakeArrayOfNull(type, n);
}

// Casts a column read from a file to the table's type; identical types pass.
Result<std::shared_ptr<arrow::ChunkedArray>> ToTableType(
    const std::shared_ptr<arrow::ChunkedArray>& column,
    const std::shared_ptr<arrow::DataType>& type, const std::string& name,
    const std::string& file) {
  if (column->type()->Equals(*type)) return column;
  auto cast = arrow::compute::Cast(column, type);
  if (!cast.ok()) {
    return Status::Invalid("file ", file, ": column '", name, "' has type ",
                           column->type()->ToString(), " which cannot be read as ",
                           type->ToString(), ": ", cast.status().message());
  }
  return cast->chunked_array();
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> ReadDataFile(const Snapshot& snapshot,
                                                   const io::TableLocation& location,
                                                   const Add& file) {
  ARROW_ASSIGN_OR_RAISE(std::string abs, ResolveDataPath(location, file.path));
  auto opened = location.fs->OpenInputFile(abs);
  if (!opened.ok()) {
    // Typically a version older than the last vacuum's retention.
    return opened.status().WithMessage(
        "data file ", file.path, " of table ", location.uri, " at version ", snapshot.version(),
        " cannot be opened (deleted by vacuum?): ", opened.status().message());
  }
  auto input = *opened;
  ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
  std::shared_ptr<arrow::Table> raw;
  ARROW_RETURN_NOT_OK(reader->ReadTable(&raw));

  // Apply the deletion vector.
  if (file.deletion_vector) {
    ARROW_ASSIGN_OR_RAISE(auto deleted,
                          ReadDeletionVector(*location.fs, location.root, *file.deletion_vector));
    arrow::BooleanBuilder keep;
    ARROW_RETURN_NOT_OK(keep.Reserve(raw->num_rows()));
    for (int64_t row = 0; row < raw->num_rows(); ++row) {
      keep.UnsafeAppend(!deleted.Contains(static_cast<uint64_t>(row)));
    }
    ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
    ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(raw, mask));
    raw = filtered.table();
  }

  const auto& schema = snapshot.schema();
  const auto& parts = snapshot.metadata().partition_columns;
  std::vector<std::shared_ptr<arrow::ChunkedArray>> columns;
  for (const auto& field : schema->fields()) {
    bool is_partition = std::find(parts.begin(), parts.end(), field->name()) != parts.end();
    if (is_partition) {
      auto it = file.partition_values.find(field->name());
      std::optional<std::string> value =
          it == file.partition_values.end() ? std::nullopt : it->second;
      ARROW_ASSIGN_OR_RAISE(auto scalar, ParsePartitionValue(value, field->type()));
      ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*scalar, raw->num_rows()));
      columns.push_back(std::make_shared<arrow::ChunkedArray>(array));
      continue;
    }
    auto column = raw->GetColumnByName(field->name());
    if (!column) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, NullsOf(field->type(), raw->num_rows()));
      columns.push_back(std::make_shared<arrow::ChunkedArray>(nulls));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto cast, ToTableType(column, field->type(), field->name(), abs));
    columns.push_back(cast);
  }
  return arrow::Table::Make(schema, columns, raw->num_rows());
}

Result<std::shared_ptr<arrow::Table>> ReadSnapshot(const Snapshot& snapshot,
                                                   const io::TableLocation& location) {
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const auto& file : snapshot.files()) {
    ARROW_ASSIGN_OR_RAISE(auto t, ReadDataFile(snapshot, location, file));
    tables.push_back(t);
  }
  if (tables.empty()) return arrow::Table::MakeEmpty(snapshot.schema());
  return arrow::ConcatenateTables(tables);
}

}  // namespace sluice::delta
