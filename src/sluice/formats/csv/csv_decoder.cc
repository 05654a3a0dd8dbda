#include "sluice/formats/csv/csv_decoder.h"

#include <arrow/array/builder_binary.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/utf8.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

#include "sluice/formats/csv/record_scanner.h"

namespace sluice::formats::csv {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
// Rows decoded before the columns are sized for the whole input.
constexpr size_t kSampleRows = 4096;

bool IsValidUtf8(std::string_view text) {
  return arrow::util::ValidateUTF8(reinterpret_cast<const uint8_t*>(text.data()),
                                   static_cast<int64_t>(text.size()));
}

std::string Printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
  return hex;
}

Status CheckOptions(const CsvOptions& options) {
  auto check_byte = [](const char* what, char c) {
    if (c == '\r' || c == '\n' || static_cast<uint8_t>(c) >= 0x80) {
      return Status::Invalid("CSV ", what, " ", Printable(c),
                             " is not allowed (an ASCII byte other than CR and LF is)");
    }
    return Status::OK();
  };
  ARROW_RETURN_NOT_OK(check_byte("delimiter", options.delimiter));
  std::string unmatchable = {options.delimiter, '\r', '\n'};
  if (options.quoting) {
    ARROW_RETURN_NOT_OK(check_byte("quote", options.quote));
    if (options.delimiter == options.quote) {
      return Status::Invalid("CSV delimiter and quote are the same byte ",
                             Printable(options.delimiter));
    }
    unmatchable += options.quote;
  }
  if (options.no_sup_value && *options.no_sup_value == options.null_value) {
    return Status::Invalid("CSV null value and no-sup value are both '", options.null_value, "'");
  }
  // An unquoted field never holds these bytes, so such a value never matches.
  if (options.null_value.find_first_of(unmatchable) != std::string::npos) {
    return Status::Invalid("CSV null value '", options.null_value,
                           "' holds the delimiter, the quote, CR or LF");
  }
  if (options.no_sup_value &&
      options.no_sup_value->find_first_of(unmatchable) != std::string::npos) {
    return Status::Invalid("CSV no-sup value '", *options.no_sup_value,
                           "' holds the delimiter, the quote, CR or LF");
  }
  if (options.max_error_raw_bytes < 0) {
    return Status::Invalid("CSV max_error_raw_bytes is negative");
  }
  return Status::OK();
}

Status CheckColumnNames(const std::vector<std::string>& names, std::string_view where) {
  if (names.empty()) return Status::Invalid(where, " names no column");
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      return Status::Invalid(where, ": column ", i + 1, " has an empty name");
    }
    auto [it, inserted] = seen.emplace(names[i], i);
    if (!inserted) {
      return Status::Invalid(where, ": column name '", names[i], "' appears twice (columns ",
                             it->second + 1, " and ", i + 1, ")");
    }
  }
  return Status::OK();
}

// The text of a field: quoted content with each doubled quote collapsed.
std::string FieldText(std::string_view input, const FieldSpan& field, char quote) {
  std::string_view content =
      input.substr(static_cast<size_t>(field.begin), static_cast<size_t>(field.end - field.begin));
  if (!field.has_doubled_quote) return std::string(content);
  std::string text;
  text.reserve(content.size());
  for (size_t i = 0; i < content.size(); ++i) {
    text.push_back(content[i]);
    if (content[i] == quote) ++i;  // the second quote of the pair
  }
  return text;
}

std::string ProblemText(const ScannedRecord& record, int64_t input_size, int64_t offset) {
  const int64_t field = record.problem_field + 1;
  switch (record.problem) {
    case RecordProblem::kStrayQuote:
      return "field " + std::to_string(field) + ": quote inside an unquoted field (byte " +
             std::to_string(record.problem_offset + offset) + ")";
    case RecordProblem::kAfterQuote:
      return "field " + std::to_string(field) +
             ": bytes after the closing quote, before the next delimiter or end of line "
             "(byte " +
             std::to_string(record.problem_offset + offset) + ")";
    case RecordProblem::kUnclosedQuote:
      return "field " + std::to_string(field) + ": the quote opened at byte " +
             std::to_string(record.problem_offset + offset) +
             " is never closed; the rest of the input (" +
             std::to_string(input_size - record.begin) + " bytes) is one error";
    case RecordProblem::kNone:
      break;
  }
  return "";
}

// 1-based line numbers of increasing offsets, counted lazily (only malformed
// records need them). CRLF, LF and a lone CR each end a line.
class LineCounter {
 public:
  explicit LineCounter(std::string_view input) : input_(input) {}

  int64_t LineAt(int64_t offset) {
    const auto size = static_cast<int64_t>(input_.size());
    for (; pos_ < offset; ++pos_) {
      const char c = input_[static_cast<size_t>(pos_)];
      if (c == '\n' ||
          (c == '\r' && !(pos_ + 1 < size && input_[static_cast<size_t>(pos_ + 1)] == '\n'))) {
        ++line_;
      }
    }
    return line_;
  }

 private:
  std::string_view input_;
  int64_t pos_ = 0;
  int64_t line_ = 1;
};

Result<std::vector<std::string>> HeaderNames(std::string_view input,
                                             const std::vector<FieldSpan>& fields,
                                             const ScannedRecord& record, char quote) {
  if (record.problem != RecordProblem::kNone) {
    return Status::Invalid("CSV header: ",
                           ProblemText(record, static_cast<int64_t>(input.size()), 0));
  }
  if (record.begin == record.end) return Status::Invalid("CSV header: the first line is blank");
  std::vector<std::string> names;
  names.reserve(fields.size());
  for (const auto& field : fields) {
    names.push_back(FieldText(input, field, quote));
    if (!IsValidUtf8(names.back())) {
      return Status::Invalid("CSV header: column ", names.size(), " is not valid UTF-8");
    }
  }
  ARROW_RETURN_NOT_OK(CheckColumnNames(names, "CSV header"));
  return names;
}

// Builds the utf8 columns, one row per well-formed record.
class ColumnsBuilder {
 public:
  ColumnsBuilder(std::string_view input, const CsvOptions& options,
                 const std::vector<std::string>& names, arrow::MemoryPool* pool)
      : input_(input), options_(options), names_(names), unsupplied_rows_(names.size()) {
    builders_.reserve(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      builders_.push_back(std::make_unique<arrow::StringBuilder>(pool));
    }
  }

  // Appends one row; `fields` has one span per column.
  Status AppendRow(const std::vector<FieldSpan>& fields) {
    const char* data = input_.data();
    const std::string& null_value = options_.null_value;
    for (size_t c = 0; c < builders_.size(); ++c) {
      const FieldSpan& field = fields[c];
      const char* text = data + field.begin;
      const int64_t length = field.end - field.begin;
      arrow::StringBuilder& builder = *builders_[c];
      if (length > kMaxLength) return TooLarge(c);
      if (!field.quoted) {
        if (static_cast<size_t>(length) == null_value.size() &&
            std::memcmp(text, null_value.data(), null_value.size()) == 0) {
          ARROW_RETURN_NOT_OK(builder.AppendNull());
          continue;
        }
        if (options_.no_sup_value && static_cast<size_t>(length) == options_.no_sup_value->size() &&
            std::memcmp(text, options_.no_sup_value->data(), options_.no_sup_value->size()) == 0) {
          ARROW_RETURN_NOT_OK(builder.AppendNull());
          unsupplied_rows_[c].push_back(rows_);
          continue;
        }
      }
      Status st = field.has_doubled_quote ? AppendCollapsed(&builder, text, length)
                                          : builder.Append(text, static_cast<int32_t>(length));
      if (!st.ok()) return st.IsCapacityError() ? TooLarge(c) : st;
    }
    ++rows_;
    return Status::OK();
  }

  // Grows every column to `scale` times its current content (plus 5%). A
  // guess: appends past it still grow the buffers as usual.
  Status Reserve(double scale) {
    const double more = scale * 1.05 - 1;
    for (auto& builder : builders_) {
      const double rows = static_cast<double>(builder->length()) * more;
      const double bytes = static_cast<double>(builder->value_data_length()) * more;
      const double room = static_cast<double>(kMaxLength - builder->value_data_length());
      ARROW_RETURN_NOT_OK(builder->Reserve(static_cast<int64_t>(rows)));
      ARROW_RETURN_NOT_OK(builder->ReserveData(static_cast<int64_t>(std::min(bytes, room))));
    }
    return Status::OK();
  }

  // Sets table->batch and table->unsupplied.
  Status Finish(CsvTable* table) {
    arrow::FieldVector schema_fields;
    arrow::ArrayVector arrays;
    for (size_t c = 0; c < builders_.size(); ++c) {
      schema_fields.push_back(arrow::field(names_[c], arrow::utf8()));
      std::shared_ptr<arrow::Array> array;
      ARROW_RETURN_NOT_OK(builders_[c]->Finish(&array));
      arrays.push_back(std::move(array));
      std::vector<bool> flags;
      if (!unsupplied_rows_[c].empty()) {
        flags.assign(static_cast<size_t>(rows_), false);
        for (int64_t row : unsupplied_rows_[c]) flags[static_cast<size_t>(row)] = true;
      }
      table->unsupplied.push_back(std::move(flags));
    }
    table->batch =
        arrow::RecordBatch::Make(arrow::schema(std::move(schema_fields)), rows_, std::move(arrays));
    return Status::OK();
  }

 private:
  static constexpr int64_t kMaxLength = std::numeric_limits<int32_t>::max() - 1;

  // Quoted content holding doubled quotes: each pair becomes one quote.
  Status AppendCollapsed(arrow::StringBuilder* builder, const char* text, int64_t length) {
    const char quote = options_.quote;
    const char* end = text + length;
    const char* hit = static_cast<const char*>(std::memchr(text, quote, length));
    // The scanner guarantees quotes come in pairs here, so `hit` is a pair.
    ARROW_RETURN_NOT_OK(builder->Append(text, static_cast<int32_t>(hit - text + 1)));
    text = hit + 2;
    while (text < end) {
      hit = static_cast<const char*>(std::memchr(text, quote, static_cast<size_t>(end - text)));
      if (hit == nullptr) {
        return builder->ExtendCurrent(reinterpret_cast<const uint8_t*>(text),
                                      static_cast<int32_t>(end - text));
      }
      ARROW_RETURN_NOT_OK(builder->ExtendCurrent(reinterpret_cast<const uint8_t*>(text),
                                                 static_cast<int32_t>(hit - text + 1)));
      text = hit + 2;
    }
    return Status::OK();
  }

  Status TooLarge(size_t column) const {
    return Status::CapacityError("CSV column '", names_[column],
                                 "' holds more than 2 GiB of text (utf8 offsets are 32-bit); "
                                 "split the input");
  }
  std::string_view input_;
  const CsvOptions& options_;
  const std::vector<std::string>& names_;
  std::vector<std::unique_ptr<arrow::StringBuilder>> builders_;
  std::vector<std::vector<int64_t>> unsupplied_rows_;
  int64_t rows_ = 0;
};

}  // namespace

Result<CsvTable> DecodeCsv(std::string_view bytes, const CsvOptions& options) {
  ARROW_RETURN_NOT_OK(CheckOptions(options));
  arrow::MemoryPool* pool = options.pool ? options.pool : arrow::default_memory_pool();
  const auto size = static_cast<int64_t>(bytes.size());
  int64_t pos = bytes.substr(0, kBom.size()) == kBom ? static_cast<int64_t>(kBom.size()) : 0;

  arrow::util::InitializeUTF8();  // idempotent; ValidateUTF8 needs its tables
  // Delimiter and quote are ASCII, so records split valid UTF-8 into valid
  // pieces: one check of the whole input spares the per-record checks.
  const bool all_utf8 = IsValidUtf8(bytes.substr(static_cast<size_t>(pos)));

  RecordScanner scanner(bytes, options.delimiter, options.quote, options.quoting);
  std::vector<FieldSpan> fields;
  ScannedRecord record;
  CsvTable table;
  if (options.header) {
    if (pos < size) {
      // Once to count the names, once to find them.
      scanner.Scan(pos, nullptr, 0, &record);
      fields.resize(static_cast<size_t>(record.field_count));
      scanner.Scan(pos, fields.data(), record.field_count, &record);
      ARROW_ASSIGN_OR_RAISE(table.column_names, HeaderNames(bytes, fields, record, options.quote));
      pos = record.next;
    }
  } else {
    ARROW_RETURN_NOT_OK(CheckColumnNames(options.column_names, "CSV column_names"));
    table.column_names = options.column_names;
  }

  const size_t num_columns = table.column_names.size();
  ColumnsBuilder columns(bytes, options, table.column_names, pool);
  LineCounter lines(bytes);
  fields.resize(num_columns);
  const int64_t data_start = pos;
  int64_t record_index = 0;
  auto add_error = [&](const ScannedRecord& bad, std::string reason) {
    CsvRowError error;
    error.record = record_index;
    error.line = lines.LineAt(bad.begin);
    error.byte_offset = bad.begin + options.offset;
    error.reason = std::move(reason);
    error.raw = std::string(bytes.substr(
        static_cast<size_t>(bad.begin),
        static_cast<size_t>(std::min(bad.end - bad.begin, options.max_error_raw_bytes))));
    table.errors.push_back(std::move(error));
  };

  while (pos < size && num_columns > 0) {
    scanner.Scan(pos, fields.data(), static_cast<int64_t>(num_columns), &record);
    pos = record.next;
    // A blank line can only be a record of a one-column table.
    if (record.begin == record.end && num_columns != 1) continue;
    if (record.problem != RecordProblem::kNone) {
      add_error(record, ProblemText(record, size, options.offset));
    } else if (record.field_count != static_cast<int64_t>(num_columns)) {
      add_error(record, "expected " + std::to_string(num_columns) + " fields, found " +
                            std::to_string(record.field_count));
    } else if (!all_utf8 &&
               !IsValidUtf8(bytes.substr(static_cast<size_t>(record.begin),
                                         static_cast<size_t>(record.end - record.begin)))) {
      size_t bad_field = 0;
      while (bad_field + 1 < num_columns &&
             IsValidUtf8(bytes.substr(
                 static_cast<size_t>(fields[bad_field].begin),
                 static_cast<size_t>(fields[bad_field].end - fields[bad_field].begin)))) {
        ++bad_field;
      }
      add_error(record, "field " + std::to_string(bad_field + 1) + " ('" +
                            table.column_names[bad_field] + "') is not valid UTF-8");
    } else {
      ARROW_RETURN_NOT_OK(columns.AppendRow(fields));
      table.record_offsets.push_back(record.begin + options.offset);
      if (table.record_offsets.size() == kSampleRows && pos < size) {
        // Size the columns for the whole input from what the sample holds:
        // growing by doubling would copy every column buffer ~log2(n) times.
        const double scale =
            static_cast<double>(size - data_start) / static_cast<double>(pos - data_start);
        ARROW_RETURN_NOT_OK(columns.Reserve(scale));
        table.record_offsets.reserve(static_cast<size_t>(kSampleRows * scale * 1.05));
      }
    }
    ++record_index;
  }
  ARROW_RETURN_NOT_OK(columns.Finish(&table));
  return table;
}

}  // namespace sluice::formats::csv
