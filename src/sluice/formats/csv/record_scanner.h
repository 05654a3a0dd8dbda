// Tokenizer of delimited text (the grammar in csv_decoder.h): finds each
// record's extent and its fields' extents without copying anything. Internal
// to formats/csv; DecodeCsv is the public entry point.
//
// Malformed records keep a well-defined extent so that scanning can resume
// after them: a quote inside an unquoted field is taken as a literal byte, and
// bytes after a closing quote continue the field as unquoted bytes (both are
// reported as the record's problem). A quoted field that is never closed
// extends the record to the end of the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::formats::csv {

/// One field's content: for a quoted field, the bytes between its quotes
/// (doubled quotes not yet collapsed).
struct FieldSpan {
  int64_t begin = 0;
  int64_t end = 0;
  bool quoted = false;
  bool has_doubled_quote = false;  // holds Q Q pairs, each one quote
};

enum class RecordProblem {
  kNone,
  kStrayQuote,     // a quote inside an unquoted field
  kAfterQuote,     // bytes between a closing quote and D / EOL
  kUnclosedQuote,  // a quoted field runs to the end of the input
};

struct ScannedRecord {
  int64_t begin = 0;  // first byte
  int64_t end = 0;    // one past the last byte, EOL excluded
  int64_t next = 0;   // where the next record starts (after the EOL)
  int64_t field_count = 0;
  RecordProblem problem = RecordProblem::kNone;
  int64_t problem_field = 0;   // 0-based field where the first problem is
  int64_t problem_offset = 0;  // input offset of the first problem
};

class RecordScanner {
 public:
  /// `input` must outlive the scanner. Delimiter and quote are distinct and
  /// neither CR nor LF (DecodeCsv checks). Without `quoting` the quote is a
  /// plain byte: every field is unquoted and no record has a problem.
  RecordScanner(std::string_view input, char delimiter, char quote, bool quoting);

  /// \brief Scans the record starting at `pos` (< input size). Stores the
  /// spans of its first `max_fields` fields in fields[0..max_fields);
  /// record->field_count counts them all.
  void Scan(int64_t pos, FieldSpan* fields, int64_t max_fields, ScannedRecord* record) const;

 private:
  // Index of the first delimiter, quote (when quoting), CR or LF at or
  // after pos (or the input size).
  int64_t FindSpecial(int64_t pos) const;
  // Index of the first delimiter, CR or LF at or after pos (or the input
  // size); quotes are skipped as literal bytes.
  int64_t FindFieldEnd(int64_t pos) const;

  const char* data_;
  int64_t size_;
  char delimiter_;
  char quote_;
  bool quoting_;
  // kSpecial[b]: bit 0 = delimiter, CR or LF; bit 1 = quote.
  uint8_t special_[256];
};

}  // namespace sluice::formats::csv
