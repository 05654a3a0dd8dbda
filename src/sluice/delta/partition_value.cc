#include "sluice/delta/partition_value.h"

#include <arrow/array.h>
#include <arrow/scalar.h>
#include <arrow/type.h>
#include <arrow/util/checked_cast.h>
#include <arrow/util/decimal.h>
#include <arrow/util/float16.h>

#include <cctype>
#include <charconv>
#include <cmath>

#include "sluice/delta/civil_time.h"

namespace sluice::delta {

namespace {

using arrow::internal::checked_cast;

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kNanosPerSecond = 1000000000;

std::string FormatFloating(double v, bool float32) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto res = float32 ? std::to_chars(buf, buf + sizeof(buf), static_cast<float>(v))
                     : std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

// Plain (never scientific) notation of unscaled `digits` with `scale`.
std::string PlainDecimal(std::string digits, int32_t scale) {
  bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.erase(0, 1);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), 1, '.');
  } else if (scale < 0 && digits != "0") {
    digits.append(static_cast<size_t>(-scale), '0');
  }
  return negative ? "-" + digits : digits;
}

Result<std::string> FormatTimestamp(int64_t ticks, arrow::TimeUnit::type unit) {
  const int64_t tps = TicksPerSecond(unit);
  const int64_t secs = FloorDiv(ticks, tps);
  const int64_t frac_nanos = (ticks - secs * tps) * (kNanosPerSecond / tps);
  const int64_t days = FloorDiv(secs, kSecondsPerDay);
  const int64_t sod = secs - days * kSecondsPerDay;
  ARROW_ASSIGN_OR_RAISE(auto date, FormatDate(days));
  int digits = frac_nanos == 0 ? 0 : (frac_nanos % 1000 == 0 ? 6 : 9);
  return date + " " + FormatTimeOfDay(sod * kNanosPerSecond + frac_nanos, digits);
}

template <typename ArrayType>
std::string IntegerText(const arrow::Array& array, int64_t row) {
  return std::to_string(checked_cast<const ArrayType&>(array).Value(row));
}

template <typename ArrayType, typename DecimalT>
std::string DecimalText(const arrow::Array& array, int64_t row) {
  const auto& a = checked_cast<const ArrayType&>(array);
  return PlainDecimal(DecimalT(a.GetValue(row)).ToIntegerString(),
                      checked_cast<const arrow::DecimalType&>(*a.type()).scale());
}

template <typename ArrayType>
std::optional<std::string> StringText(const arrow::Array& array, int64_t row) {
  std::string_view v = checked_cast<const ArrayType&>(array).GetView(row);
  if (v.empty()) return std::nullopt;  // Spark writes "" in a partition column as null
  return std::string(v);
}

template <typename ArrayType>
std::optional<std::string> BinaryText(const arrow::Array& array, int64_t row) {
  return std::string(checked_cast<const ArrayType&>(array).GetView(row));
}

bool ParseFixedDigits(std::string_view s, int64_t* out) {
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return !s.empty();
}

// See the header for the accepted forms.
Result<int64_t> ParseTimestamp(std::string_view text, const arrow::TimestampType& type) {
  auto bad = [&](const char* why) {
    return Status::Invalid("partition value '", text, "' is not a ", type.ToString(), ": ", why);
  };
  if (text.size() < 10) return bad("too short");
  ARROW_ASSIGN_OR_RAISE(int64_t days, ParseDate(text.substr(0, 10)));
  std::string_view rest = text.substr(10);
  int64_t sod = 0, frac_nanos = 0, offset_seconds = 0;
  bool has_zone = false;
  if (!rest.empty() && (rest[0] == ' ' || rest[0] == 'T')) {
    rest.remove_prefix(1);
    int64_t hh, mm, ss;
    if (rest.size() < 8 || rest[2] != ':' || rest[5] != ':' ||
        !ParseFixedDigits(rest.substr(0, 2), &hh) || !ParseFixedDigits(rest.substr(3, 2), &mm) ||
        !ParseFixedDigits(rest.substr(6, 2), &ss) || hh > 23 || mm > 59 || ss > 59) {
      return bad("expected HH:MM:SS");
    }
    sod = hh * 3600 + mm * 60 + ss;
    rest.remove_prefix(8);
    if (!rest.empty() && rest[0] == '.') {
      rest.remove_prefix(1);
      size_t n = 0;
      while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
      if (n == 0 || n > 9) return bad("expected 1 to 9 fraction digits");
      ParseFixedDigits(rest.substr(0, n), &frac_nanos);
      for (size_t k = n; k < 9; ++k) frac_nanos *= 10;
      rest.remove_prefix(n);
    }
  }
  if (rest == "Z") {
    has_zone = true;
    rest = {};
  } else if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
    int sign = rest[0] == '-' ? -1 : 1;
    rest.remove_prefix(1);
    int64_t oh = 0, om = 0;
    if (rest.size() == 5 && rest[2] == ':') {
      if (!ParseFixedDigits(rest.substr(0, 2), &oh) || !ParseFixedDigits(rest.substr(3, 2), &om)) {
        return bad("malformed offset");
      }
    } else if (rest.size() == 4 || rest.size() == 2) {
      if (!ParseFixedDigits(rest.substr(0, 2), &oh) ||
          (rest.size() == 4 && !ParseFixedDigits(rest.substr(2, 2), &om))) {
        return bad("malformed offset");
      }
    } else {
      return bad("malformed offset");
    }
    if (oh > 18 || om > 59) return bad("offset out of range");
    offset_seconds = sign * (oh * 3600 + om * 60);
    has_zone = true;
    rest = {};
  }
  if (!rest.empty()) return bad("unexpected trailing text");
  if (has_zone && type.timezone().empty()) {
    return bad("timestamp_ntz values carry no time zone");
  }
  const int64_t tps = TicksPerSecond(type.unit());
  const int64_t nanos_per_tick = kNanosPerSecond / tps;
  if (frac_nanos % nanos_per_tick != 0) return bad("more precision than the column's unit");
  const int64_t seconds = days * kSecondsPerDay + sod - offset_seconds;
  int64_t ticks;
  if (__builtin_mul_overflow(seconds, tps, &ticks) ||
      __builtin_add_overflow(ticks, frac_nanos / nanos_per_tick, &ticks)) {
    return bad("out of range for the unit");
  }
  return ticks;
}

template <typename DecimalT, typename ScalarT>
Result<std::shared_ptr<arrow::Scalar>> ParseDecimal(const std::string& text,
                                                    const std::shared_ptr<arrow::DataType>& type) {
  const auto& dec_type = checked_cast<const arrow::DecimalType&>(*type);
  DecimalT value;
  int32_t precision = 0, scale = 0;
  ARROW_RETURN_NOT_OK(DecimalT::FromString(text, &value, &precision, &scale));
  if (scale != dec_type.scale()) {
    auto rescaled = value.Rescale(scale, dec_type.scale());
    if (!rescaled.ok()) {
      return Status::Invalid("partition value '", text, "' does not fit ", type->ToString());
    }
    value = *rescaled;
  }
  if (!value.FitsInPrecision(dec_type.precision())) {
    return Status::Invalid("partition value '", text, "' does not fit ", type->ToString());
  }
  return std::make_shared<ScalarT>(value, type);
}

Result<double> ParseFloating(const std::string& text) {
  if (text == "NaN") return std::nan("");
  if (text == "Infinity" || text == "+Infinity") return HUGE_VAL;
  if (text == "-Infinity") return -HUGE_VAL;
  double v = 0;
  const char* begin = text.data();
  if (!text.empty() && text[0] == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::Invalid("partition value '", text, "' is not a floating-point number");
  }
  return v;
}

bool IsStringOrBinary(arrow::Type::type id) {
  using arrow::Type;
  return id == Type::STRING || id == Type::LARGE_STRING || id == Type::STRING_VIEW ||
         id == Type::BINARY || id == Type::LARGE_BINARY || id == Type::BINARY_VIEW ||
         id == Type::FIXED_SIZE_BINARY;
}

bool NeedsEscape(unsigned char c) {
  if (c < 0x20 || c == 0x7F) return true;
  switch (c) {
    case '"':
    case '#':
    case '%':
    case '\'':
    case '*':
    case '/':
    case ':':
    case '=':
    case '?':
    case '\\':
    case '{':
    case '[':
    case ']':
    case '^':
      return true;
    default:
      return false;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::optional<std::string>> SerializePartitionValue(const arrow::Array& array, int64_t row) {
  using arrow::Type;
  if (row < 0 || row >= array.length()) {
    return Status::IndexError("partition value row ", row, " out of range");
  }
  if (array.IsNull(row)) return std::nullopt;
  switch (array.type_id()) {
    case Type::BOOL:
      return std::string(checked_cast<const arrow::BooleanArray&>(array).Value(row) ? "true"
                                                                                    : "false");
    case Type::INT8:
      return IntegerText<arrow::Int8Array>(array, row);
    case Type::INT16:
      return IntegerText<arrow::Int16Array>(array, row);
    case Type::INT32:
      return IntegerText<arrow::Int32Array>(array, row);
    case Type::INT64:
      return IntegerText<arrow::Int64Array>(array, row);
    case Type::UINT8:
      return IntegerText<arrow::UInt8Array>(array, row);
    case Type::UINT16:
      return IntegerText<arrow::UInt16Array>(array, row);
    case Type::UINT32:
      return IntegerText<arrow::UInt32Array>(array, row);
    case Type::UINT64:
      return IntegerText<arrow::UInt64Array>(array, row);
    case Type::HALF_FLOAT:
      return FormatFloating(arrow::util::Float16::FromBits(
                                checked_cast<const arrow::HalfFloatArray&>(array).Value(row))
                                .ToFloat(),
                            true);
    case Type::FLOAT:
      return FormatFloating(checked_cast<const arrow::FloatArray&>(array).Value(row), true);
    case Type::DOUBLE:
      return FormatFloating(checked_cast<const arrow::DoubleArray&>(array).Value(row), false);
    case Type::DECIMAL32:
      return DecimalText<arrow::Decimal32Array, arrow::Decimal32>(array, row);
    case Type::DECIMAL64:
      return DecimalText<arrow::Decimal64Array, arrow::Decimal64>(array, row);
    case Type::DECIMAL128:
      return DecimalText<arrow::Decimal128Array, arrow::Decimal128>(array, row);
    case Type::DECIMAL256:
      return DecimalText<arrow::Decimal256Array, arrow::Decimal256>(array, row);
    case Type::STRING:
      return StringText<arrow::StringArray>(array, row);
    case Type::LARGE_STRING:
      return StringText<arrow::LargeStringArray>(array, row);
    case Type::STRING_VIEW:
      return StringText<arrow::StringViewArray>(array, row);
    case Type::BINARY:
      return BinaryText<arrow::BinaryArray>(array, row);
    case Type::LARGE_BINARY:
      return BinaryText<arrow::LargeBinaryArray>(array, row);
    case Type::BINARY_VIEW:
      return BinaryText<arrow::BinaryViewArray>(array, row);
    case Type::FIXED_SIZE_BINARY:
      return BinaryText<arrow::FixedSizeBinaryArray>(array, row);
    case Type::DATE32: {
      ARROW_ASSIGN_OR_RAISE(auto text,
                            FormatDate(checked_cast<const arrow::Date32Array&>(array).Value(row)));
      return text;
    }
    case Type::DATE64: {
      int64_t ms = checked_cast<const arrow::Date64Array&>(array).Value(row);
      ARROW_ASSIGN_OR_RAISE(auto text, FormatDate(FloorDiv(ms, kSecondsPerDay * 1000)));
      return text;
    }
    case Type::TIMESTAMP: {
      const auto& a = checked_cast<const arrow::TimestampArray&>(array);
      ARROW_ASSIGN_OR_RAISE(
          auto text, FormatTimestamp(a.Value(row),
                                     checked_cast<const arrow::TimestampType&>(*a.type()).unit()));
      return text;
    }
    case Type::DICTIONARY: {
      const auto& d = checked_cast<const arrow::DictionaryArray&>(array);
      return SerializePartitionValue(*d.dictionary(), d.GetValueIndex(row));
    }
    default:
      return Status::NotImplemented("partition column of type ", array.type()->ToString());
  }
}

Result<std::shared_ptr<arrow::Scalar>> ParsePartitionValue(
    const std::optional<std::string>& value, const std::shared_ptr<arrow::DataType>& type) {
  using arrow::Type;
  if (!value.has_value() || (value->empty() && !IsStringOrBinary(type->id()))) {
    return arrow::MakeNullScalar(type);
  }
  const std::string& text = *value;
  switch (type->id()) {
    case Type::BOOL: {
      std::string lower = text;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "true") return std::make_shared<arrow::BooleanScalar>(true);
      if (lower == "false") return std::make_shared<arrow::BooleanScalar>(false);
      return Status::Invalid("partition value '", text, "' is not a boolean");
    }
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
    case Type::UINT64:
    case Type::STRING:
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
    case Type::BINARY:
    case Type::LARGE_BINARY:
    case Type::BINARY_VIEW:
    case Type::FIXED_SIZE_BINARY:
      return arrow::Scalar::Parse(type, text);
    case Type::HALF_FLOAT: {
      ARROW_ASSIGN_OR_RAISE(double v, ParseFloating(text));
      return std::make_shared<arrow::HalfFloatScalar>(
          arrow::util::Float16::FromFloat(static_cast<float>(v)).bits());
    }
    case Type::FLOAT: {
      ARROW_ASSIGN_OR_RAISE(double v, ParseFloating(text));
      return std::make_shared<arrow::FloatScalar>(static_cast<float>(v));
    }
    case Type::DOUBLE: {
      ARROW_ASSIGN_OR_RAISE(double v, ParseFloating(text));
      return std::make_shared<arrow::DoubleScalar>(v);
    }
    case Type::DECIMAL32:
      return ParseDecimal<arrow::Decimal32, arrow::Decimal32Scalar>(text, type);
    case Type::DECIMAL64:
      return ParseDecimal<arrow::Decimal64, arrow::Decimal64Scalar>(text, type);
    case Type::DECIMAL128:
      return ParseDecimal<arrow::Decimal128, arrow::Decimal128Scalar>(text, type);
    case Type::DECIMAL256:
      return ParseDecimal<arrow::Decimal256, arrow::Decimal256Scalar>(text, type);
    case Type::DATE32: {
      ARROW_ASSIGN_OR_RAISE(int64_t days, ParseDate(text));
      return std::make_shared<arrow::Date32Scalar>(static_cast<int32_t>(days));
    }
    case Type::DATE64: {
      ARROW_ASSIGN_OR_RAISE(int64_t days, ParseDate(text));
      return std::make_shared<arrow::Date64Scalar>(days * kSecondsPerDay * 1000);
    }
    case Type::TIMESTAMP: {
      ARROW_ASSIGN_OR_RAISE(int64_t ticks,
                            ParseTimestamp(text, checked_cast<const arrow::TimestampType&>(*type)));
      return std::make_shared<arrow::TimestampScalar>(ticks, type);
    }
    default:
      return Status::NotImplemented("partition column of type ", type->ToString());
  }
}

std::string EscapePartitionPathSegment(std::string_view segment) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char ch : segment) {
    auto c = static_cast<unsigned char>(ch);
    if (NeedsEscape(c)) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string UnescapePartitionPathSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size() && HexValue(segment[i + 1]) >= 0 &&
        HexValue(segment[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(segment[i + 1]) * 16 + HexValue(segment[i + 2])));
      i += 2;
    } else {
      out.push_back(segment[i]);
    }
  }
  return out;
}

std::string PartitionPathSegment(std::string_view column, const std::optional<std::string>& value) {
  std::string out = EscapePartitionPathSegment(column);
  out += '=';
  out += value ? EscapePartitionPathSegment(*value) : std::string(kHiveDefaultPartition);
  return out;
}

}  // namespace sluice::delta
