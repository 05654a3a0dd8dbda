#include "sluice/delta/table_reader.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/filesystem/filesystem.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include <algorithm>

#include "sluice/delta/data_writer.h"
#include "sluice/delta/deletion_vector.h"
#include "sluice/delta/partition_value.h"
#include "sluice/io/storage_uri.h"

namespace sluice::delta {

Result<std::string> ResolveDataPath(const io::TableLocation& location, const std::string& path) {
  auto scheme = path.find("://");
  if (scheme == std::string::npos) return io::JoinPath(location.root, DecodeAddPath(path));
  if (path.compare(0, scheme, "file") == 0) {
    // file:///abs/path or file:/abs/path
    return DecodeAddPath(path.substr(scheme + 3));
  }
  // An absolute URI (a shallow clone, another writer): usable when it names
  // the table's own store and bucket, as "bucket/key" in location.fs.
  auto file = io::ParseStorageUri(path);
  auto table = io::ParseStorageUri(location.uri);
  if (file.ok() && table.ok() && file->kind != io::StorageKind::kLocal &&
      file->kind == table->kind && file->bucket == table->bucket &&
      (file->account.empty() || table->account.empty() || file->account == table->account)) {
    return DecodeAddPath(file->bucket + "/" + file->key);
  }
  return Status::NotImplemented("data file ", path, " is not on the store of table ", location.uri);
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

// ---- Projected scan -------------------------------------------------------

namespace {

// Where a projected column's values come from in one file.
enum class Source { kFile, kPartition, kAbsent };

// Leaf (Parquet column) indexes under a manifest field, nested ones included.
void CollectLeaves(const parquet::arrow::SchemaField& field, std::vector<int>* leaves) {
  if (field.is_leaf()) {
    leaves->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeaves(child, leaves);
}

}  // namespace

struct FileScan::State {
  Add file;
  std::string abs;
  std::unique_ptr<parquet::arrow::FileReader> reader;
  std::shared_ptr<arrow::Schema> projected;
  bool positions = false;
  std::vector<Source> sources;                         // per projected column
  std::vector<std::shared_ptr<arrow::Scalar>> values;  // partition values, per column
  std::vector<int> leaves;                             // Parquet columns to read
  std::vector<int64_t> part_start;                     // num_parts + 1 entries
  std::vector<uint64_t> deleted;                       // sorted physical rows
  std::vector<std::string> absent;
};

FileScan::FileScan(std::unique_ptr<State> state) : state_(std::move(state)) {}
FileScan::FileScan(FileScan&&) noexcept = default;
FileScan& FileScan::operator=(FileScan&&) noexcept = default;
FileScan::~FileScan() = default;

const Add& FileScan::file() const { return state_->file; }
int64_t FileScan::num_rows() const { return state_->part_start.back(); }
int64_t FileScan::num_deleted() const { return static_cast<int64_t>(state_->deleted.size()); }
int FileScan::num_parts() const { return static_cast<int>(state_->part_start.size()) - 1; }
int64_t FileScan::part_first_row(int part) const { return state_->part_start[part]; }
int64_t FileScan::part_rows(int part) const {
  return state_->part_start[part + 1] - state_->part_start[part];
}
const std::vector<std::string>& FileScan::absent_columns() const { return state_->absent; }

Result<ScanBatch> FileScan::ReadPart(int part) {
  State& s = *state_;
  if (part < 0 || part >= num_parts()) {
    return Status::IndexError("data file ", s.file.path, " has ", num_parts(), " parts, not ",
                              part + 1);
  }
  const int64_t first = part_first_row(part);
  const int64_t n = part_rows(part);
  std::shared_ptr<arrow::Table> read;
  if (!s.leaves.empty()) ARROW_RETURN_NOT_OK(s.reader->ReadRowGroup(part, s.leaves, &read));

  // Rows of this part the deletion vector removes.
  auto lo = std::lower_bound(s.deleted.begin(), s.deleted.end(), static_cast<uint64_t>(first));
  auto hi = std::lower_bound(lo, s.deleted.end(), static_cast<uint64_t>(first + n));
  const bool filter = lo != hi;
  ScanBatch batch;
  std::shared_ptr<arrow::Array> mask;
  if (filter || s.positions) {
    arrow::BooleanBuilder keep;
    if (filter) ARROW_RETURN_NOT_OK(keep.Reserve(n));
    if (s.positions) batch.positions.reserve(static_cast<size_t>(n - (hi - lo)));
    auto next = lo;
    for (int64_t row = first; row < first + n; ++row) {
      const bool gone = next != hi && *next == static_cast<uint64_t>(row);
      if (gone) ++next;
      if (filter) keep.UnsafeAppend(!gone);
      if (!gone && s.positions) batch.positions.push_back(row);
    }
    if (filter) {
      ARROW_ASSIGN_OR_RAISE(mask, keep.Finish());
    }
  }
  const int64_t kept = n - (hi - lo);

  std::vector<std::shared_ptr<arrow::Array>> columns;
  columns.reserve(s.sources.size());
  for (size_t c = 0; c < s.sources.size(); ++c) {
    const auto& field = s.projected->field(static_cast<int>(c));
    switch (s.sources[c]) {
      case Source::kPartition: {
        ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*s.values[c], kept));
        columns.push_back(std::move(array));
        break;
      }
      case Source::kAbsent: {
        ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayOfNull(field->type(), kept));
        columns.push_back(std::move(array));
        break;
      }
      case Source::kFile: {
        auto chunked = read->GetColumnByName(field->name());
        if (!chunked) return Status::Invalid("data file ", s.abs, " lost column ", field->name());
        ARROW_ASSIGN_OR_RAISE(chunked, ToTableType(chunked, field->type(), field->name(), s.abs));
        std::shared_ptr<arrow::Array> array;
        if (chunked->num_chunks() == 1) {
          array = chunked->chunk(0);
        } else {
          ARROW_ASSIGN_OR_RAISE(array, arrow::Concatenate(chunked->chunks()));
        }
        if (filter) {
          ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(array, mask));
          array = filtered.make_array();
        }
        columns.push_back(std::move(array));
        break;
      }
    }
  }
  batch.rows = arrow::RecordBatch::Make(s.projected, kept, std::move(columns));
  return batch;
}

Result<TableScan> TableScan::Make(const Snapshot& snapshot, io::TableLocation location,
                                  ScanOptions options) {
  return Make(std::move(location), snapshot.schema(), snapshot.metadata().partition_columns,
              std::move(options));
}

Result<TableScan> TableScan::Make(io::TableLocation location, std::shared_ptr<arrow::Schema> schema,
                                  std::vector<std::string> partition_columns, ScanOptions options) {
  TableScan scan;
  scan.location_ = std::move(location);
  scan.positions_ = options.positions;
  std::vector<std::shared_ptr<arrow::Field>> fields;
  for (const auto& name : options.columns) {
    auto field = schema->GetFieldByName(name);
    if (!field) {
      return Status::Invalid("scan of table ", scan.location_.uri, ": no column '", name,
                             "' in the table schema");
    }
    for (const auto& f : fields) {
      if (f->name() == name) {
        return Status::Invalid("scan of table ", scan.location_.uri, ": column '", name,
                               "' projected twice");
      }
    }
    fields.push_back(field);
    scan.is_partition_.push_back(std::find(partition_columns.begin(), partition_columns.end(),
                                           name) != partition_columns.end());
  }
  scan.projected_ = arrow::schema(std::move(fields));
  return scan;
}

Result<FileScan> TableScan::Open(const Add& file) const {
  auto state = std::make_unique<FileScan::State>();
  FileScan::State& s = *state;
  s.file = file;
  s.projected = projected_;
  s.positions = positions_;
  ARROW_ASSIGN_OR_RAISE(s.abs, ResolveDataPath(location_, file.path));
  auto opened = location_.fs->OpenInputFile(s.abs);
  if (!opened.ok()) {
    // Typically a version older than the last vacuum's retention.
    return opened.status().WithMessage(
        "data file ", file.path, " of table ", location_.uri,
        " cannot be opened (deleted by vacuum?): ", opened.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(s.reader, parquet::arrow::OpenFile(*opened, arrow::default_memory_pool()));
  auto metadata = s.reader->parquet_reader()->metadata();
  s.part_start.push_back(0);
  for (int rg = 0; rg < metadata->num_row_groups(); ++rg) {
    s.part_start.push_back(s.part_start.back() + metadata->RowGroup(rg)->num_rows());
  }
  if (file.deletion_vector) {
    ARROW_ASSIGN_OR_RAISE(auto bitmap,
                          ReadDeletionVector(*location_.fs, location_.root, *file.deletion_vector));
    s.deleted = bitmap.ToSortedVector();
  }
  const auto& manifest = s.reader->manifest();
  for (int c = 0; c < projected_->num_fields(); ++c) {
    const auto& field = projected_->field(c);
    s.values.emplace_back();
    if (is_partition_[c]) {
      auto it = file.partition_values.find(field->name());
      std::optional<std::string> value =
          it == file.partition_values.end() ? std::nullopt : it->second;
      ARROW_ASSIGN_OR_RAISE(s.values.back(), ParsePartitionValue(value, field->type()));
      s.sources.push_back(Source::kPartition);
      continue;
    }
    const parquet::arrow::SchemaField* found = nullptr;
    for (const auto& top : manifest.schema_fields) {
      if (top.field->name() == field->name()) found = &top;
    }
    if (found == nullptr) {
      s.sources.push_back(Source::kAbsent);
      s.absent.push_back(field->name());
      continue;
    }
    CollectLeaves(*found, &s.leaves);
    s.sources.push_back(Source::kFile);
  }
  std::sort(s.leaves.begin(), s.leaves.end());
  return FileScan(std::move(state));
}

Status TableScan::ScanFile(const Add& file,
                           const std::function<Status(const ScanBatch&)>& fn) const {
  ARROW_ASSIGN_OR_RAISE(auto scan, Open(file));
  for (int part = 0; part < scan.num_parts(); ++part) {
    ARROW_ASSIGN_OR_RAISE(auto batch, scan.ReadPart(part));
    ARROW_RETURN_NOT_OK(fn(batch));
  }
  return Status::OK();
}

}  // namespace sluice::delta
