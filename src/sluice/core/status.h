// Sluice's error idiom: arrow::Status / arrow::Result<T> everywhere, with
// ARROW_RETURN_NOT_OK / ARROW_ASSIGN_OR_RAISE for propagation. Errors from
// other libraries (errno, libcurl, librdkafka) are translated at the edge.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <string>

namespace sluice {

using arrow::Result;
using arrow::Status;

/// \brief Status for a failed system call: the message names the operation,
/// the path and strerror(errno).
Status ErrnoStatus(int err, const std::string& op, const std::string& path);

}  // namespace sluice
