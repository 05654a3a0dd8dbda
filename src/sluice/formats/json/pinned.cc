#include "sluice/formats/json/pinned.h"

#include <arrow/builder.h>
#include <arrow/type.h>

#include <limits>

#include "sluice/formats/json/number_text.h"
#include "sluice/formats/json/timestamp_text.h"

namespace sluice::formats::json {

namespace {

// The JSON value reduced to what conversions look at.
struct Source {
  od::json_type type;
  std::string_view text;  // number token, or unescaped string
  bool boolean = false;
};

Status Fail(const Source& s, const arrow::DataType& type) {
  std::string shown;
  if (s.type == od::json_type::boolean) {
    shown = s.boolean ? "true" : "false";
  } else if (s.type == od::json_type::string) {
    shown = "\"" + std::string(s.text.substr(0, 64)) + (s.text.size() > 64 ? "...\"" : "\"");
  } else if (s.type == od::json_type::number) {
    shown = std::string(s.text.substr(0, 64));
  } else {
    shown = s.type == od::json_type::object ? "an object" : "an array";
  }
  return ContentError("cannot convert " + shown + " to " + type.ToString());
}

// Number text of a number, or of a string holding one.
bool AsNumber(const Source& s, NumberText* n) {
  if (s.type != od::json_type::number && s.type != od::json_type::string) return false;
  return ScanNumber(s.text, n) && s.text == TrimNumberToken(s.text);
}

template <typename Builder, typename CType>
Status AppendInt(const Source& s, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  NumberText n;
  int64_t v;
  if (!AsNumber(s, &n) ||
      !ToInteger(n, std::numeric_limits<CType>::min(), std::numeric_limits<CType>::max(), &v)) {
    return Fail(s, type);
  }
  return b ? static_cast<Builder*>(b)->Append(static_cast<CType>(v)) : Status::OK();
}

Status AppendUInt64(const Source& s, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  NumberText n;
  arrow::Decimal128 d;
  if (!AsNumber(s, &n) || !ToDecimal128(n, 20, 0, &d) || d.high_bits() != 0) {
    return Fail(s, type);
  }
  return b ? static_cast<arrow::UInt64Builder*>(b)->Append(d.low_bits()) : Status::OK();
}

Status AppendFloat(const Source& s, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  double v;
  NumberText n;
  if (AsNumber(s, &n)) {
    v = ToDouble(s.text);
  } else if (s.type == od::json_type::string && s.text == "NaN") {
    v = std::numeric_limits<double>::quiet_NaN();
  } else if (s.type == od::json_type::string && s.text == "Infinity") {
    v = std::numeric_limits<double>::infinity();
  } else if (s.type == od::json_type::string && s.text == "-Infinity") {
    v = -std::numeric_limits<double>::infinity();
  } else {
    return Fail(s, type);
  }
  if (!b) return Status::OK();
  if (type.id() == arrow::Type::FLOAT) {
    return static_cast<arrow::FloatBuilder*>(b)->Append(static_cast<float>(v));
  }
  return static_cast<arrow::DoubleBuilder*>(b)->Append(v);
}

Status AppendBool(const Source& s, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  bool v;
  if (s.type == od::json_type::boolean) {
    v = s.boolean;
  } else if (s.text == "1" || (s.type == od::json_type::string && s.text == "true")) {
    v = true;
  } else if (s.text == "0" || (s.type == od::json_type::string && s.text == "false")) {
    v = false;
  } else {
    return Fail(s, type);
  }
  return b ? static_cast<arrow::BooleanBuilder*>(b)->Append(v) : Status::OK();
}

Status AppendDecimal(const Source& s, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  const auto& dt = static_cast<const arrow::Decimal128Type&>(type);
  NumberText n;
  arrow::Decimal128 d;
  if (!AsNumber(s, &n) || !ToDecimal128(n, dt.precision(), dt.scale(), &d)) return Fail(s, type);
  return b ? static_cast<arrow::Decimal128Builder*>(b)->Append(d) : Status::OK();
}

Status AppendTimestamp(const Source& s, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  const auto& tt = static_cast<const arrow::TimestampType&>(type);
  static const int64_t kPerSecond[] = {1, 1000, 1000000, 1000000000};
  int64_t v;
  NumberText n;
  TimePoint tp;
  if (s.type == od::json_type::number) {
    if (!ScanNumber(s.text, &n) || !ToInteger(n, std::numeric_limits<int64_t>::min(),
                                              std::numeric_limits<int64_t>::max(), &v)) {
      return Fail(s, type);
    }
  } else if (s.type != od::json_type::string || !ParseTimePoint(s.text, &tp) ||
             !TimePointToUnits(tp, kPerSecond[static_cast<int>(tt.unit())], &v)) {
    return Fail(s, type);
  }
  return b ? static_cast<arrow::TimestampBuilder*>(b)->Append(v) : Status::OK();
}

Status AppendDate(const Source& s, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  int32_t days;
  NumberText n;
  int64_t v;
  if (s.type == od::json_type::number && ScanNumber(s.text, &n) &&
      ToInteger(n, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), &v)) {
    days = static_cast<int32_t>(v);
  } else if (s.type != od::json_type::string || !ParseDate(s.text, &days)) {
    return Fail(s, type);
  }
  return b ? static_cast<arrow::Date32Builder*>(b)->Append(days) : Status::OK();
}

}  // namespace

Status CheckPinnedSupported(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL:
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::DECIMAL128:
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::DATE32:
    case arrow::Type::TIMESTAMP:
      return Status::OK();
    default:
      return Status::NotImplemented("JSON decoder: pinned type ", type.ToString(),
                                    " is not supported");
  }
}

Status ConvertPinned(od::value v, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  Source s;
  ARROW_ASSIGN_OR_RAISE(s.type, TypeOf(v));
  std::string json_text;  // only for containers bound for a string column
  switch (s.type) {
    case od::json_type::null:
      return b ? b->AppendNull() : Status::OK();
    case od::json_type::boolean:
      SLUICE_SJ(v.get_bool().get(s.boolean));
      s.text = s.boolean ? "true" : "false";
      break;
    case od::json_type::number: {
      ARROW_ASSIGN_OR_RAISE(s.text, NumberToken(v));
      break;
    }
    case od::json_type::string:
      SLUICE_SJ(v.get_string().get(s.text));
      break;
    case od::json_type::object:
    case od::json_type::array:
      if (type.id() != arrow::Type::STRING && type.id() != arrow::Type::LARGE_STRING) {
        ARROW_RETURN_NOT_OK(ValidateValue(v));  // a syntax error wins over the type error
        return Fail(s, type);
      }
      if (!b) return ValidateValue(v);
      ARROW_RETURN_NOT_OK(AppendJsonText(v, s.type, &json_text));
      s.text = json_text;
      break;
  }
  switch (type.id()) {
    case arrow::Type::BOOL:
      return AppendBool(s, type, b);
    case arrow::Type::INT8:
      return AppendInt<arrow::Int8Builder, int8_t>(s, type, b);
    case arrow::Type::INT16:
      return AppendInt<arrow::Int16Builder, int16_t>(s, type, b);
    case arrow::Type::INT32:
      return AppendInt<arrow::Int32Builder, int32_t>(s, type, b);
    case arrow::Type::INT64:
      return AppendInt<arrow::Int64Builder, int64_t>(s, type, b);
    case arrow::Type::UINT8:
      return AppendInt<arrow::UInt8Builder, uint8_t>(s, type, b);
    case arrow::Type::UINT16:
      return AppendInt<arrow::UInt16Builder, uint16_t>(s, type, b);
    case arrow::Type::UINT32:
      return AppendInt<arrow::UInt32Builder, uint32_t>(s, type, b);
    case arrow::Type::UINT64:
      return AppendUInt64(s, type, b);
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
      return AppendFloat(s, type, b);
    case arrow::Type::DECIMAL128:
      return AppendDecimal(s, type, b);
    case arrow::Type::DATE32:
      return AppendDate(s, type, b);
    case arrow::Type::TIMESTAMP:
      return AppendTimestamp(s, type, b);
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY: {
      // Numbers and booleans keep their JSON text in a string column
      // ("12.50", "true"); binary columns take strings only.
      const bool binary =
          type.id() == arrow::Type::BINARY || type.id() == arrow::Type::LARGE_BINARY;
      if (binary && s.type != od::json_type::string) return Fail(s, type);
      if (!b) return Status::OK();
      switch (type.id()) {
        case arrow::Type::STRING:
          return static_cast<arrow::StringBuilder*>(b)->Append(s.text);
        case arrow::Type::LARGE_STRING:
          return static_cast<arrow::LargeStringBuilder*>(b)->Append(s.text);
        case arrow::Type::BINARY:
          return static_cast<arrow::BinaryBuilder*>(b)->Append(s.text);
        default:
          return static_cast<arrow::LargeBinaryBuilder*>(b)->Append(s.text);
      }
    }
    default:
      return CheckPinnedSupported(type);
  }
}

}  // namespace sluice::formats::json
