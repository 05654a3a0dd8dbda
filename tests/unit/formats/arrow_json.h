// Test helper: Arrow values rendered as JSON in the shape avro_expected.py
// writes (see its docstring), and a comparison that reports the first
// difference by path.
#pragma once

#include <arrow/api.h>
#include <arrow/util/decimal.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace sluice::formats::testing {

inline std::string Hex(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

inline nlohmann::json Float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

inline nlohmann::json ValueToJson(const arrow::Array& a, int64_t i) {
  using nlohmann::json;
  if (a.IsNull(i)) return nullptr;
  switch (a.type_id()) {
    case arrow::Type::NA:
      return nullptr;
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(a).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(a).Value(i);
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(a).Value(i);
    case arrow::Type::DATE32:
      return static_cast<const arrow::Date32Array&>(a).Value(i);
    case arrow::Type::TIME64:
      return static_cast<const arrow::Time64Array&>(a).Value(i);
    case arrow::Type::TIMESTAMP:
      return static_cast<const arrow::TimestampArray&>(a).Value(i);
    case arrow::Type::FLOAT:
      return Float(static_cast<const arrow::FloatArray&>(a).Value(i));
    case arrow::Type::DOUBLE:
      return Float(static_cast<const arrow::DoubleArray&>(a).Value(i));
    case arrow::Type::STRING:
      return std::string(static_cast<const arrow::StringArray&>(a).GetView(i));
    case arrow::Type::BINARY:
      return Hex(static_cast<const arrow::BinaryArray&>(a).GetView(i));
    case arrow::Type::FIXED_SIZE_BINARY:
      return Hex(static_cast<const arrow::FixedSizeBinaryArray&>(a).GetView(i));
    case arrow::Type::DECIMAL128:
      return arrow::Decimal128(static_cast<const arrow::Decimal128Array&>(a).GetValue(i))
          .ToIntegerString();
    case arrow::Type::DECIMAL256:
      return arrow::Decimal256(static_cast<const arrow::Decimal256Array&>(a).GetValue(i))
          .ToIntegerString();
    case arrow::Type::LIST: {
      const auto& l = static_cast<const arrow::ListArray&>(a);
      json out = json::array();
      for (int64_t j = l.value_offset(i); j < l.value_offset(i + 1); ++j) {
        out.push_back(ValueToJson(*l.values(), j));
      }
      return out;
    }
    case arrow::Type::MAP: {
      const auto& m = static_cast<const arrow::MapArray&>(a);
      json out = json::array();
      for (int64_t j = m.value_offset(i); j < m.value_offset(i + 1); ++j) {
        out.push_back(json::array({ValueToJson(*m.keys(), j), ValueToJson(*m.items(), j)}));
      }
      return out;
    }
    case arrow::Type::STRUCT: {
      const auto& s = static_cast<const arrow::StructArray&>(a);
      json out = json::object();
      for (int f = 0; f < s.num_fields(); ++f) {
        out[s.type()->field(f)->name()] = ValueToJson(*s.field(f), i);
      }
      return out;
    }
    default:
      return "<unsupported " + a.type()->ToString() + ">";
  }
}

/// \brief "" when equal, else the path and both values of the first
/// difference. {"$json": X} expected against a string parses the string.
inline std::string Diff(const nlohmann::json& want, const nlohmann::json& got,
                        const std::string& path) {
  if (want.is_object() && want.size() == 1 && want.contains("$json") && got.is_string()) {
    auto parsed = nlohmann::json::parse(got.get<std::string>(), nullptr, false);
    if (parsed.is_discarded()) return path + ": fallback is not JSON: " + got.dump();
    return Diff(want["$json"], parsed, path + "<json>");
  }
  if (want.is_object() && got.is_object()) {
    if (want.size() != got.size()) return path + ": " + want.dump() + " vs " + got.dump();
    for (const auto& [k, v] : want.items()) {
      if (!got.contains(k)) return path + "." + k + ": missing";
      auto d = Diff(v, got[k], path + "." + k);
      if (!d.empty()) return d;
    }
    return "";
  }
  if (want.is_array() && got.is_array()) {
    if (want.size() != got.size()) return path + ": " + want.dump() + " vs " + got.dump();
    for (size_t i = 0; i < want.size(); ++i) {
      auto d = Diff(want[i], got[i], path + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return "";
  }
  if (want == got) return "";
  return path + ": want " + want.dump() + " got " + got.dump();
}

}  // namespace sluice::formats::testing
