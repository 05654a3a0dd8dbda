// Small helpers over simdjson On-Demand values shared by inference (pass 1)
// and building (pass 2).
//
// Error convention inside the JSON decoder: a Status of code Invalid means the
// bytes are not JSON (syntax); TypeError means the JSON is fine but the event
// cannot be decoded (wrong shape, a value that does not convert to a pinned
// type, a duplicate key). The reader needs the difference: a syntax error in
// a JSON-array file condemns the whole file, a content error only the event.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::formats::json {

namespace od = simdjson::ondemand;

/// Objects and arrays nested deeper than this become JSON text (utf8):
/// Arrow / Parquet nesting that deep is useless and costly.
constexpr int kMaxNesting = 32;

Status SyntaxError(simdjson::error_code e);
Status ContentError(std::string message);
inline bool IsSyntaxError(const Status& st) { return st.IsInvalid(); }

/// \brief simdjson call -> Status (syntax error on failure).
#define SLUICE_SJ(expr)                                                                       \
  do {                                                                                        \
    ::simdjson::error_code _sj_err = (expr);                                                  \
    if (_sj_err != ::simdjson::SUCCESS) return ::sluice::formats::json::SyntaxError(_sj_err); \
  } while (false)

/// \brief The JSON type of `v`, with `null` fully checked (On-Demand only
/// looks at the first byte).
Result<od::json_type> TypeOf(od::value& v);

/// \brief Reads `v` completely, checking the syntax of everything inside
/// (numbers against the JSON grammar, strings' escapes, literals).
Status ValidateValue(od::value v);

/// \brief Appends the JSON text of an already validated value, without
/// insignificant whitespace: strings keep their quotes and escapes as
/// written, numbers their digits as written.
Status AppendJsonText(od::value v, od::json_type type, std::string* out);

/// The text of a number token without trailing whitespace.
Result<std::string_view> NumberToken(od::value& v);

}  // namespace sluice::formats::json
