// A time of day (or a MySQL TIME span) as the text every source stores it
// as (storable_types.h): "[-]HH:MM:SS[.ffffff]".
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "sluice/core/status.h"

namespace sluice::sources {

/// \brief Value i of a time32/time64/int32/int64 array as a count of
/// 1/`*per_second` seconds; `*per_second` is set from a time type's unit
/// and left as it is for a bare integer (the caller's default unit).
int64_t TimeTicks(const arrow::Array& a, int64_t i, int64_t* per_second);

/// \brief Appends "[-]HH:MM:SS[.ffffff]" for a signed count of 1/per_second
/// seconds. Hours are not wrapped: a MySQL TIME of 838 hours stays
/// "838:59:59"; nine fraction digits only for nanoseconds that are not
/// whole microseconds.
void AppendTimeText(int64_t value, int64_t per_second, std::string* out);

/// \brief A time32/time64 column as utf8 text (nulls kept).
Result<std::shared_ptr<arrow::Array>> TimesAsText(const arrow::Array& a);

}  // namespace sluice::sources
