// libFuzzer target: arbitrary bytes through formats::csv::DecodeCsv, with
// options taken from the first four bytes (delimiter, quote, flags: header,
// null string, no-sup value, raw cap, quoting; column count). Bugs: a crash or sanitizer report; a
// Status other than Invalid (bad options or header); an invalid batch; offsets, errors or flags
// that break the contract of csv_decoder.h; and a round trip that differs (the decoded rows written
// back as CSV, every string quoted, must decode to themselves). Seed corpus: tests/data/fuzz/csv
// (four option bytes, then CSV text).
#include <arrow/array.h>
#include <arrow/record_batch.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "sluice/formats/csv/csv_decoder.h"

using sluice::formats::csv::CsvOptions;
using sluice::formats::csv::CsvTable;
using sluice::formats::csv::DecodeCsv;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

CsvOptions OptionsFrom(const uint8_t* head) {
  static constexpr char kDelimiters[] = {',', '|', '\t', ';'};
  static constexpr char kQuotes[] = {'"', '\''};
  CsvOptions options;
  // Mostly the usual bytes; sometimes any byte (bad ones must be refused).
  options.delimiter = head[0] < 192 ? kDelimiters[head[0] % 4] : static_cast<char>(head[0] & 0x7f);
  options.quote = head[1] < 192 ? kQuotes[head[1] % 2] : static_cast<char>(head[1]);
  const uint8_t flags = head[2];
  options.header = (flags & 1) != 0;
  static constexpr const char* kNulls[] = {"NULL", "", "\\N", "null"};
  options.null_value = kNulls[(flags >> 1) & 3];
  if (flags & 8) options.no_sup_value.emplace("*NOSUP*");
  options.max_error_raw_bytes = (flags & 16) ? 7 : 1 << 16;
  options.quoting = (flags & 32) == 0;
  if (!options.header) {
    const int columns = head[3] % 9;  // 0 must be refused
    for (int c = 0; c < columns; ++c) options.column_names.push_back("c" + std::to_string(c));
  }
  return options;
}

// The table as CSV: every string quoted (when quoting), NULL and no-sup
// cells unquoted. A BOM first, so that a first cell starting with one keeps
// it.
std::string Encode(const CsvTable& table, const CsvOptions& options) {
  std::string out = "\xEF\xBB\xBF";
  auto quoted = [&](std::string_view text) {
    if (!options.quoting) {
      // Decoded unquoted fields never hold the delimiter, CR or LF.
      out += text;
      return;
    }
    out += options.quote;
    for (char c : text) {
      out += c;
      if (c == options.quote) out += c;
    }
    out += options.quote;
  };
  if (options.header) {
    for (size_t c = 0; c < table.column_names.size(); ++c) {
      if (c > 0) out += options.delimiter;
      quoted(table.column_names[c]);
    }
    out += "\r\n";
  }
  const auto& batch = *table.batch;
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    for (int c = 0; c < batch.num_columns(); ++c) {
      if (c > 0) out += options.delimiter;
      const auto& column = static_cast<const arrow::StringArray&>(*batch.column(c));
      if (table.IsUnsupplied(c, r)) {
        out += *options.no_sup_value;
      } else if (column.IsNull(r)) {
        out += options.null_value;
      } else {
        quoted(column.GetView(r));
      }
    }
    out += '\n';
  }
  return out;
}

void CheckContract(const CsvTable& table, const CsvOptions& options, int64_t size) {
  const auto& batch = *table.batch;
  Check(batch.ValidateFull().ok());  // also checks that every cell is UTF-8
  Check(batch.num_columns() == static_cast<int>(table.column_names.size()));
  Check(static_cast<int64_t>(table.record_offsets.size()) == batch.num_rows());
  Check(table.unsupplied.size() == table.column_names.size());
  for (const auto& flags : table.unsupplied) {
    Check(flags.empty() || static_cast<int64_t>(flags.size()) == batch.num_rows());
  }
  for (size_t r = 0; r < table.record_offsets.size(); ++r) {
    Check(table.record_offsets[r] >= 0 && table.record_offsets[r] < size);
    Check(r == 0 || table.record_offsets[r] > table.record_offsets[r - 1]);
  }
  for (size_t e = 0; e < table.errors.size(); ++e) {
    const auto& error = table.errors[e];
    Check(!error.reason.empty());
    Check(error.byte_offset >= 0 && error.byte_offset < size);
    Check(error.line >= 1 && error.line <= error.byte_offset + 1);
    Check(static_cast<int64_t>(error.raw.size()) <= options.max_error_raw_bytes);
    Check(e == 0 || (error.record > table.errors[e - 1].record &&
                     error.byte_offset > table.errors[e - 1].byte_offset));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const CsvOptions options = OptionsFrom(data);
  const std::string_view text(reinterpret_cast<const char*>(data) + 4, size - 4);
  auto decoded = DecodeCsv(text, options);
  if (!decoded.ok()) {
    Check(decoded.status().IsInvalid());
    return 0;
  }
  CheckContract(*decoded, options, static_cast<int64_t>(text.size()));
  if (decoded->column_names.empty()) return 0;

  const std::string again_text = Encode(*decoded, options);
  auto again = DecodeCsv(again_text, options);
  Check(again.ok());
  Check(again->errors.empty());
  Check(again->column_names == decoded->column_names);
  Check(again->batch->Equals(*decoded->batch));
  Check(again->unsupplied == decoded->unsupplied);
  return 0;
}
