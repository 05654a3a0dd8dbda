// Small helpers over Arrow types that several layers need.
#pragma once

#include <arrow/array.h>
#include <arrow/chunked_array.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

/// Number of `unit` ticks per second.
int64_t TicksPerSecond(arrow::TimeUnit::type unit);

/// The bytes of row `i` of a string or binary array (any of the plain,
/// large and view layouts); std::nullopt for a null row or another type.
std::optional<std::string_view> BinaryLikeView(const arrow::Array& array, int64_t i);

/// True for the string and binary types BinaryLikeView reads.
bool IsBinaryLike(arrow::Type::type id);

/// A column read from a data file as one array of `type`: chunks combined,
/// and cast when the file predates a widening (schema evolution).
arrow::Result<std::shared_ptr<arrow::Array>> ColumnAs(
    const std::shared_ptr<arrow::ChunkedArray>& column,
    const std::shared_ptr<arrow::DataType>& type);

}  // namespace sluice
