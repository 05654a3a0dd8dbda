#include "sluice/merge/partial_image.h"

#include <arrow/api.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "sluice/delta/table_reader.h"
#include "sluice/merge/change_event.h"

namespace sluice::merge {

Result<std::vector<std::vector<std::string>>> ReadUnchanged(const arrow::RecordBatch& batch) {
  std::vector<std::vector<std::string>> out;
  auto column = batch.GetColumnByName(std::string(kUnchangedColumn));
  if (!column) return out;
  if (column->type_id() != arrow::Type::LIST ||
      static_cast<const arrow::ListType&>(*column->type()).value_type()->id() !=
          arrow::Type::STRING) {
    return Status::Invalid(kUnchangedColumn, " must be list<string>, not ",
                           column->type()->ToString());
  }
  const auto& lists = static_cast<const arrow::ListArray&>(*column);
  const auto& names = static_cast<const arrow::StringArray&>(*lists.values());
  out.resize(static_cast<size_t>(batch.num_rows()));
  for (int64_t row = 0; row < batch.num_rows(); ++row) {
    if (lists.IsNull(row)) continue;
    for (int64_t i = lists.value_offset(row); i < lists.value_offset(row + 1); ++i) {
      if (names.IsValid(i)) out[row].emplace_back(names.GetView(i));
    }
  }
  return out;
}

Result<std::shared_ptr<arrow::RecordBatch>> PatchCells(
    const std::shared_ptr<arrow::RecordBatch>& images, const arrow::RecordBatch& source,
    std::vector<BatchCell> cells) {
  if (cells.empty()) return images;
  std::sort(cells.begin(), cells.end(), [](const BatchCell& a, const BatchCell& b) {
    return std::tie(a.column, a.append_row) < std::tie(b.column, b.append_row);
  });
  std::vector<std::shared_ptr<arrow::Array>> columns = images->columns();
  size_t i = 0;
  while (i < cells.size()) {
    const int column = cells[i].column;
    const auto& original = images->column(column);
    const auto& from = source.column(column);
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(
        arrow::MakeBuilder(arrow::default_memory_pool(), original->type(), &builder));
    ARROW_RETURN_NOT_OK(builder->Reserve(original->length()));
    int64_t next = 0;
    for (; i < cells.size() && cells[i].column == column; ++i) {
      const BatchCell& cell = cells[i];
      if (cell.append_row > next) {
        ARROW_RETURN_NOT_OK(builder->AppendArraySlice(arrow::ArraySpan(*original->data()), next,
                                                      cell.append_row - next));
      }
      if (cell.batch_row < 0) {
        ARROW_RETURN_NOT_OK(builder->AppendNull());
      } else {
        ARROW_RETURN_NOT_OK(
            builder->AppendArraySlice(arrow::ArraySpan(*from->data()), cell.batch_row, 1));
      }
      next = cell.append_row + 1;
    }
    if (next < original->length()) {
      ARROW_RETURN_NOT_OK(builder->AppendArraySlice(arrow::ArraySpan(*original->data()), next,
                                                    original->length() - next));
    }
    ARROW_ASSIGN_OR_RAISE(columns[column], builder->Finish());
  }
  return arrow::RecordBatch::Make(images->schema(), images->num_rows(), std::move(columns));
}

Result<std::shared_ptr<arrow::Table>> FillCarriedValues(
    const io::TableLocation& location, const std::shared_ptr<arrow::Table>& appends,
    const std::vector<CarriedValue>& carried) {
  if (carried.empty()) return appends;
  // column -> append row -> the value kept from the table.
  std::map<std::string, std::map<int64_t, std::shared_ptr<arrow::Scalar>>> values;
  std::map<std::string, std::vector<const CarriedValue*>> by_file;
  for (const auto& c : carried) by_file[c.file].push_back(&c);
  for (const auto& [file, wanted] : by_file) {
    // Only the carried columns, typed as the appends; read by path, so row
    // numbers are physical.
    delta::ScanOptions options;
    for (const CarriedValue* c : wanted) {
      if (!appends->schema()->GetFieldByName(c->column)) continue;
      if (std::find(options.columns.begin(), options.columns.end(), c->column) ==
          options.columns.end()) {
        options.columns.push_back(c->column);
      }
    }
    if (options.columns.empty()) continue;
    ARROW_ASSIGN_OR_RAISE(auto scan,
                          delta::TableScan::Make(location, appends->schema(), {}, options));
    delta::Add add;
    add.path = file;
    ARROW_ASSIGN_OR_RAISE(auto rows, scan.Open(add));
    const auto& absent = rows.absent_columns();
    std::map<int, std::shared_ptr<arrow::RecordBatch>> parts;  // read once each
    for (const CarriedValue* c : wanted) {
      const int column = scan.schema()->GetFieldIndex(c->column);
      if (column < 0) continue;
      // An older file without the column: NULL.
      if (std::find(absent.begin(), absent.end(), c->column) != absent.end()) continue;
      if (c->file_row < 0 || c->file_row >= rows.num_rows()) {
        return Status::Invalid("data file ", file, " has no row ", c->file_row,
                               " (key index out of date)");
      }
      int part = 0;
      while (c->file_row >= rows.part_first_row(part) + rows.part_rows(part)) ++part;
      auto it = parts.find(part);
      if (it == parts.end()) {
        ARROW_ASSIGN_OR_RAISE(auto batch, rows.ReadPart(part));
        it = parts.emplace(part, std::move(batch.rows)).first;
      }
      ARROW_ASSIGN_OR_RAISE(auto scalar, it->second->column(column)->GetScalar(
                                             c->file_row - rows.part_first_row(part)));
      values[c->column][c->append_row] = std::move(scalar);
    }
  }
  std::vector<std::shared_ptr<arrow::ChunkedArray>> out_columns = appends->columns();
  for (const auto& [name, rows] : values) {
    int index = appends->schema()->GetFieldIndex(name);
    ARROW_ASSIGN_OR_RAISE(auto original, arrow::Concatenate(appends->column(index)->chunks()));
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(
        arrow::MakeBuilder(arrow::default_memory_pool(), original->type(), &builder));
    ARROW_RETURN_NOT_OK(builder->Reserve(original->length()));
    int64_t next = 0;
    for (const auto& [row, scalar] : rows) {
      if (row > next) {
        ARROW_RETURN_NOT_OK(
            builder->AppendArraySlice(arrow::ArraySpan(*original->data()), next, row - next));
      }
      ARROW_RETURN_NOT_OK(builder->AppendScalar(*scalar));
      next = row + 1;
    }
    if (next < original->length()) {
      ARROW_RETURN_NOT_OK(builder->AppendArraySlice(arrow::ArraySpan(*original->data()), next,
                                                    original->length() - next));
    }
    ARROW_ASSIGN_OR_RAISE(auto patched, builder->Finish());
    out_columns[index] = std::make_shared<arrow::ChunkedArray>(patched);
  }
  return arrow::Table::Make(appends->schema(), std::move(out_columns), appends->num_rows());
}

}  // namespace sluice::merge
