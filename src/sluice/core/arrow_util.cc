#include "sluice/core/arrow_util.h"

#include <arrow/array/concatenate.h>
#include <arrow/compute/api.h>

namespace sluice {

int64_t TicksPerSecond(arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return 1;
    case arrow::TimeUnit::MILLI:
      return 1000;
    case arrow::TimeUnit::MICRO:
      return 1000000;
    case arrow::TimeUnit::NANO:
      return 1000000000;
  }
  return 1;
}

bool IsBinaryLike(arrow::Type::type id) {
  switch (id) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY_VIEW:
      return true;
    default:
      return false;
  }
}

std::optional<std::string_view> BinaryLikeView(const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return std::nullopt;
  switch (array.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return static_cast<const arrow::BinaryArray&>(array).GetView(i);
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return static_cast<const arrow::LargeBinaryArray&>(array).GetView(i);
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY_VIEW:
      return static_cast<const arrow::BinaryViewArray&>(array).GetView(i);
    default:
      return std::nullopt;
  }
}

arrow::Result<std::shared_ptr<arrow::Array>> ColumnAs(
    const std::shared_ptr<arrow::ChunkedArray>& column,
    const std::shared_ptr<arrow::DataType>& type) {
  std::shared_ptr<arrow::Array> array;
  if (column->num_chunks() == 1) {
    array = column->chunk(0);
  } else {
    ARROW_ASSIGN_OR_RAISE(array, arrow::Concatenate(column->chunks()));
  }
  if (array->type()->Equals(*type)) return array;
  ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(*array, type));
  return cast;
}

}  // namespace sluice
