#include "sluice/formats/connect/connect_schema.h"

#include <arrow/type.h>
#include <simdjson.h>

#include <charconv>

namespace sluice::formats::connect {

namespace {

namespace dom = simdjson::dom;

struct TypeName {
  std::string_view name;
  ConnectType type;
};
constexpr TypeName kTypes[] = {
    {"int8", ConnectType::kInt8},       {"int16", ConnectType::kInt16},
    {"int32", ConnectType::kInt32},     {"int64", ConnectType::kInt64},
    {"float", ConnectType::kFloat32},   {"double", ConnectType::kFloat64},
    {"boolean", ConnectType::kBoolean}, {"string", ConnectType::kString},
    {"bytes", ConnectType::kBytes},     {"array", ConnectType::kArray},
    {"map", ConnectType::kMap},         {"struct", ConnectType::kStruct},
};

struct LogicalName {
  std::string_view name;
  LogicalType logical;
  ConnectType type;  // the type the logical type annotates
};
constexpr LogicalName kLogical[] = {
    {"org.apache.kafka.connect.data.Decimal", LogicalType::kDecimal, ConnectType::kBytes},
    {"org.apache.kafka.connect.data.Date", LogicalType::kDate, ConnectType::kInt32},
    {"org.apache.kafka.connect.data.Time", LogicalType::kTimeMillis, ConnectType::kInt32},
    {"org.apache.kafka.connect.data.Timestamp", LogicalType::kTimestampMillisUtc,
     ConnectType::kInt64},
    {"io.debezium.time.Date", LogicalType::kDate, ConnectType::kInt32},
    {"io.debezium.time.Time", LogicalType::kTimeMillis, ConnectType::kInt32},
    {"io.debezium.time.MicroTime", LogicalType::kTimeMicros, ConnectType::kInt64},
    {"io.debezium.time.NanoTime", LogicalType::kTimeNanos, ConnectType::kInt64},
    {"io.debezium.time.Timestamp", LogicalType::kTimestampMillis, ConnectType::kInt64},
    {"io.debezium.time.MicroTimestamp", LogicalType::kTimestampMicros, ConnectType::kInt64},
    {"io.debezium.time.NanoTimestamp", LogicalType::kTimestampNanos, ConnectType::kInt64},
    {"io.debezium.time.ZonedTimestamp", LogicalType::kZonedTimestamp, ConnectType::kString},
    {"io.debezium.data.VariableScaleDecimal", LogicalType::kVariableScaleDecimal,
     ConnectType::kStruct},
};

Status Bad(std::string_view where, const std::string& what) {
  return Status::Invalid("Connect schema", where.empty() ? "" : " at ", where, ": ", what);
}

Result<int32_t> ParseInt(std::string_view text, std::string_view where, const char* what) {
  int32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return Bad(where, std::string(what) + " is not an integer: '" + std::string(text) + "'");
  }
  return v;
}

class Parser {
 public:
  Result<ConnectSchemaPtr> Node(dom::element e, const std::string& where, int depth) {
    if (depth > kMaxDepth) return Bad(where, "nested deeper than " + std::to_string(kMaxDepth));
    dom::object obj;
    if (e.get_object().get(obj) != simdjson::SUCCESS) return Bad(where, "not an object");
    auto node = std::make_shared<ConnectSchema>();
    std::string_view type;
    if (obj["type"].get_string().get(type) != simdjson::SUCCESS) {
      return Bad(where, "no \"type\" string");
    }
    bool known = false;
    for (const auto& t : kTypes) {
      if (t.name == type) {
        node->type = t.type;
        known = true;
      }
    }
    if (!known) return Bad(where, "unknown type '" + std::string(type) + "'");
    bool optional = false;
    if (obj["optional"].get_bool().get(optional) == simdjson::SUCCESS) node->optional = optional;
    std::string_view name;
    if (obj["name"].get_string().get(name) == simdjson::SUCCESS) node->name = std::string(name);
    int64_t version = 0;
    if (obj["version"].get_int64().get(version) == simdjson::SUCCESS) {
      node->version = static_cast<int32_t>(version);
    }
    dom::object params;
    if (obj["parameters"].get_object().get(params) == simdjson::SUCCESS) {
      for (auto [k, v] : params) {
        std::string_view text;
        if (v.get_string().get(text) == simdjson::SUCCESS) {
          node->parameters.emplace(std::string(k), std::string(text));
        } else {
          node->parameters.emplace(std::string(k), simdjson::minify(v));
        }
      }
    }
    switch (node->type) {
      case ConnectType::kStruct: {
        dom::array fields;
        if (obj["fields"].get_array().get(fields) != simdjson::SUCCESS) {
          return Bad(where, "struct without a \"fields\" array");
        }
        for (dom::element f : fields) {
          std::string_view fname;
          if (f["field"].get_string().get(fname) != simdjson::SUCCESS) {
            return Bad(where, "struct field without a \"field\" name");
          }
          for (const auto& existing : node->fields) {
            if (existing.name == fname) {
              return Bad(where, "duplicate field '" + std::string(fname) + "'");
            }
          }
          ARROW_ASSIGN_OR_RAISE(auto child, Node(f, Join(where, fname), depth + 1));
          node->fields.push_back({std::string(fname), std::move(child)});
        }
        break;
      }
      case ConnectType::kArray: {
        dom::element items;
        if (obj["items"].get(items) != simdjson::SUCCESS) {
          return Bad(where, "array without \"items\"");
        }
        ARROW_ASSIGN_OR_RAISE(node->items, Node(items, Join(where, "[]"), depth + 1));
        break;
      }
      case ConnectType::kMap: {
        dom::element keys, values;
        if (obj["keys"].get(keys) != simdjson::SUCCESS ||
            obj["values"].get(values) != simdjson::SUCCESS) {
          return Bad(where, "map without \"keys\" and \"values\"");
        }
        ARROW_ASSIGN_OR_RAISE(node->keys, Node(keys, Join(where, "{key}"), depth + 1));
        ARROW_ASSIGN_OR_RAISE(node->values, Node(values, Join(where, "{value}"), depth + 1));
        break;
      }
      default:
        break;
    }
    ARROW_RETURN_NOT_OK(ResolveLogical(node.get(), where));
    return node;
  }

 private:
  static std::string Join(const std::string& where, std::string_view child) {
    return where.empty() ? std::string(child) : where + "." + std::string(child);
  }

  // A known name on another type than the one it annotates is read as its
  // type (as Connect's converters do with names they do not know).
  static Status ResolveLogical(ConnectSchema* node, const std::string& where) {
    for (const auto& l : kLogical) {
      if (l.name != node->name || l.type != node->type) continue;
      if (l.logical == LogicalType::kVariableScaleDecimal &&
          (!node->Field("scale") || !node->Field("value"))) {
        continue;
      }
      node->logical = l.logical;
    }
    if (node->logical == LogicalType::kDecimal) {
      auto scale = node->parameters.find("scale");
      if (scale == node->parameters.end()) return Bad(where, "Decimal without a scale parameter");
      ARROW_ASSIGN_OR_RAISE(node->scale, ParseInt(scale->second, where, "Decimal scale"));
      auto precision = node->parameters.find("connect.decimal.precision");
      if (precision != node->parameters.end()) {
        ARROW_ASSIGN_OR_RAISE(node->precision,
                              ParseInt(precision->second, where, "Decimal precision"));
      }
      if (node->scale < 0 || node->precision < 0 ||
          (node->precision > 0 && node->scale > node->precision)) {
        return Bad(where, "Decimal with precision " + std::to_string(node->precision) +
                              " and scale " + std::to_string(node->scale));
      }
    }
    return Status::OK();
  }
};

}  // namespace

std::string_view ConnectTypeName(ConnectType t) {
  for (const auto& n : kTypes) {
    if (n.type == t) return n.name;
  }
  return "?";
}

const ConnectField* ConnectSchema::Field(std::string_view field_name) const {
  for (const auto& f : fields) {
    if (f.name == field_name) return &f;
  }
  return nullptr;
}

Result<ConnectSchemaPtr> ParseConnectSchema(std::string_view json_text) {
  dom::parser parser;
  dom::element root;
  auto err = parser.parse(json_text.data(), json_text.size()).get(root);
  if (err != simdjson::SUCCESS) {
    return Status::Invalid("Connect schema is not JSON: ", simdjson::error_message(err));
  }
  return Parser().Node(root, "", 0);
}

Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(const ConnectSchema& s,
                                                      const ConnectArrowOptions& opts) {
  switch (s.logical) {
    case LogicalType::kDecimal: {
      const int32_t p = s.precision > 0 ? s.precision : 38;
      if (p > 38) {
        if (opts.decimal_overflow == DecimalOverflow::kString) return arrow::utf8();
        if (s.scale > 38) {
          return Status::Invalid("Decimal scale ", s.scale, " does not fit decimal128(38, s)");
        }
        return arrow::decimal128(38, s.scale);
      }
      if (s.scale > p) return Status::Invalid("Decimal scale ", s.scale, " above precision ", p);
      return arrow::decimal128(p, s.scale);
    }
    case LogicalType::kDate:
      return arrow::date32();
    case LogicalType::kTimeMillis:
    case LogicalType::kTimeMicros:
      return arrow::time64(arrow::TimeUnit::MICRO);
    case LogicalType::kTimeNanos:
      return arrow::time64(arrow::TimeUnit::NANO);
    case LogicalType::kTimestampMillisUtc:
    case LogicalType::kZonedTimestamp:
      return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
    case LogicalType::kTimestampMillis:
    case LogicalType::kTimestampMicros:
      return arrow::timestamp(arrow::TimeUnit::MICRO);
    case LogicalType::kTimestampNanos:
      return arrow::timestamp(arrow::TimeUnit::NANO);
    case LogicalType::kVariableScaleDecimal:
      return arrow::utf8();
    case LogicalType::kNone:
      break;
  }
  switch (s.type) {
    case ConnectType::kInt8:
      return arrow::int8();
    case ConnectType::kInt16:
      return arrow::int16();
    case ConnectType::kInt32:
      return arrow::int32();
    case ConnectType::kInt64:
      return arrow::int64();
    case ConnectType::kFloat32:
      return arrow::float32();
    case ConnectType::kFloat64:
      return arrow::float64();
    case ConnectType::kBoolean:
      return arrow::boolean();
    case ConnectType::kString:
      return arrow::utf8();
    case ConnectType::kBytes:
      return arrow::binary();
    case ConnectType::kArray: {
      ARROW_ASSIGN_OR_RAISE(auto item, ArrowTypeFor(*s.items, opts));
      return arrow::list(arrow::field("element", item, s.items->optional));
    }
    case ConnectType::kMap: {
      ARROW_ASSIGN_OR_RAISE(auto key, ArrowTypeFor(*s.keys, opts));
      ARROW_ASSIGN_OR_RAISE(auto value, ArrowTypeFor(*s.values, opts));
      return std::make_shared<arrow::MapType>(arrow::field("key", key, false),
                                              arrow::field("value", value, s.values->optional));
    }
    case ConnectType::kStruct: {
      arrow::FieldVector fields;
      for (const auto& f : s.fields) {
        ARROW_ASSIGN_OR_RAISE(auto field, ArrowFieldFor(f, opts));
        fields.push_back(std::move(field));
      }
      return arrow::struct_(std::move(fields));
    }
  }
  return Status::Invalid("unknown Connect type");
}

Result<std::shared_ptr<arrow::Field>> ArrowFieldFor(const ConnectField& field,
                                                    const ConnectArrowOptions& opts) {
  ARROW_ASSIGN_OR_RAISE(auto type, ArrowTypeFor(*field.schema, opts));
  return arrow::field(field.name, std::move(type), field.schema->optional);
}

}  // namespace sluice::formats::connect
