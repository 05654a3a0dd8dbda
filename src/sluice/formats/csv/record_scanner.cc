#include "sluice/formats/csv/record_scanner.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice::formats::csv {

namespace {
constexpr uint8_t kEnd = 1;    // ends an unquoted field: delimiter, CR, LF
constexpr uint8_t kQuote = 2;  // the quote byte
}  // namespace

RecordScanner::RecordScanner(std::string_view input, char delimiter, char quote, bool quoting)
    : data_(input.data()),
      size_(static_cast<int64_t>(input.size())),
      delimiter_(delimiter),
      quote_(quote),
      quoting_(quoting) {
  std::memset(special_, 0, sizeof(special_));
  special_[static_cast<uint8_t>(delimiter)] |= kEnd;
  special_[static_cast<uint8_t>('\r')] |= kEnd;
  special_[static_cast<uint8_t>('\n')] |= kEnd;
  if (quoting) special_[static_cast<uint8_t>(quote)] |= kQuote;
}

int64_t RecordScanner::FindSpecial(int64_t pos) const {
#if defined(__SSE2__)
  // Sixteen bytes at a time: most bytes of a CSV file are plain field content.
  const __m128i delimiter = _mm_set1_epi8(delimiter_);
  // Without quoting, the delimiter is compared twice instead.
  const __m128i quote = _mm_set1_epi8(quoting_ ? quote_ : delimiter_);
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  while (pos + 16 <= size_) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data_ + pos));
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, delimiter), _mm_cmpeq_epi8(block, quote)),
                     _mm_or_si128(_mm_cmpeq_epi8(block, cr), _mm_cmpeq_epi8(block, lf)));
    const int mask = _mm_movemask_epi8(hits);
    if (mask != 0) return pos + __builtin_ctz(static_cast<unsigned>(mask));
    pos += 16;
  }
#endif
  const auto* bytes = reinterpret_cast<const uint8_t*>(data_);
  while (pos < size_ && !special_[bytes[pos]]) ++pos;
  return pos;
}

int64_t RecordScanner::FindFieldEnd(int64_t pos) const {
  const auto* bytes = reinterpret_cast<const uint8_t*>(data_);
  while (pos < size_ && !(special_[bytes[pos]] & kEnd)) ++pos;
  return pos;
}

void RecordScanner::Scan(int64_t pos, FieldSpan* fields, int64_t max_fields,
                         ScannedRecord* record) const {
  *record = ScannedRecord{};
  record->begin = pos;
  auto note_problem = [&](RecordProblem problem, int64_t at) {
    if (record->problem != RecordProblem::kNone) return;
    record->problem = problem;
    record->problem_field = record->field_count;
    record->problem_offset = at;
  };
  for (;;) {
    FieldSpan field;
    if (quoting_ && pos < size_ && data_[pos] == quote_) {
      field.quoted = true;
      field.begin = ++pos;
      for (;;) {
        const void* hit = std::memchr(data_ + pos, quote_, static_cast<size_t>(size_ - pos));
        if (hit == nullptr) {
          // Never closed: the record (and the input) ends here.
          note_problem(RecordProblem::kUnclosedQuote, field.begin - 1);
          field.end = size_;
          if (record->field_count < max_fields) fields[record->field_count] = field;
          ++record->field_count;
          record->end = record->next = size_;
          return;
        }
        pos = static_cast<const char*>(hit) - data_;
        if (pos + 1 < size_ && data_[pos + 1] == quote_) {
          field.has_doubled_quote = true;
          pos += 2;
          continue;
        }
        break;
      }
      field.end = pos++;  // past the closing quote
      if (pos < size_ && !(special_[static_cast<uint8_t>(data_[pos])] & kEnd)) {
        note_problem(RecordProblem::kAfterQuote, pos);
        pos = FindFieldEnd(pos);
      }
    } else {
      field.begin = pos;
      pos = FindSpecial(pos);
      if (quoting_ && pos < size_ && data_[pos] == quote_) {
        note_problem(RecordProblem::kStrayQuote, pos);
        pos = FindFieldEnd(pos);
      }
      field.end = pos;
    }
    if (record->field_count < max_fields) fields[record->field_count] = field;
    ++record->field_count;
    if (pos >= size_) {
      record->end = record->next = size_;
      return;
    }
    if (data_[pos] == delimiter_) {
      ++pos;
      continue;
    }
    // CR, LF or CRLF ends the record.
    record->end = pos;
    pos += (data_[pos] == '\r' && pos + 1 < size_ && data_[pos + 1] == '\n') ? 2 : 1;
    record->next = pos;
    return;
  }
}

}  // namespace sluice::formats::csv
