// Whole-file Parquet reads and writes for the CLI (inputs and outputs that
// are not Delta tables).
#pragma once

#include <arrow/type_fwd.h>

#include <string>

#include "sluice/core/status.h"

namespace sluice::cli {

Result<std::shared_ptr<arrow::Table>> ReadParquetFile(const std::string& path);
Status WriteParquetFile(const std::shared_ptr<arrow::Table>& table, const std::string& path);
/// "2024-01-02T03:04:05.678Z", "2024-01-02 03:04:05" (UTC) or epoch millis.
Result<int64_t> ParseTimestampMs(const std::string& text);

}  // namespace sluice::cli
