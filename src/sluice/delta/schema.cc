#include "sluice/delta/schema.h"

#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sluice::delta {

namespace {

using nlohmann::ordered_json;

constexpr int32_t kMaxDeltaDecimalPrecision = 38;

std::string ChildPath(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  std::string out(parent);
  out += '.';
  out += child;
  return out;
}

// Parses "decimal(p,s)" (spaces allowed) or bare "decimal".
Result<std::shared_ptr<arrow::DataType>> ParseDecimal(std::string_view name,
                                                      std::string_view column_path) {
  auto bad = [&]() {
    return Status::Invalid("Delta schema: column '", column_path, "' has malformed decimal type '",
                           name, "'");
  };
  if (name == "decimal") return arrow::decimal128(10, 0);
  std::string_view rest = name.substr(7);  // after "decimal"
  auto skip_spaces = [&]() {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  };
  auto parse_int = [&](int32_t* out) -> bool {
    skip_spaces();
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), *out);
    if (ec != std::errc() || ptr == rest.data()) return false;
    rest.remove_prefix(static_cast<size_t>(ptr - rest.data()));
    skip_spaces();
    return true;
  };
  int32_t precision = 0, scale = 0;
  if (rest.empty() || rest.front() != '(') return bad();
  rest.remove_prefix(1);
  if (!parse_int(&precision) || rest.empty() || rest.front() != ',') return bad();
  rest.remove_prefix(1);
  if (!parse_int(&scale) || rest != ")") return bad();
  if (precision < 1 || precision > kMaxDeltaDecimalPrecision || scale < 0 || scale > precision) {
    return Status::Invalid("Delta schema: column '", column_path, "' has decimal type '", name,
                           "' outside precision 1..38 / scale 0..precision");
  }
  return arrow::decimal128(precision, scale);
}

Result<std::shared_ptr<arrow::DataType>> PrimitiveFromDeltaName(std::string_view name,
                                                                std::string_view column_path) {
  if (name == "boolean") return arrow::boolean();
  if (name == "byte") return arrow::int8();
  if (name == "short") return arrow::int16();
  if (name == "integer") return arrow::int32();
  if (name == "long") return arrow::int64();
  if (name == "float") return arrow::float32();
  if (name == "double") return arrow::float64();
  if (name == "string") return arrow::utf8();
  if (name == "binary") return arrow::binary();
  if (name == "date") return arrow::date32();
  if (name == "timestamp") return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  if (name == "timestamp_ntz") return arrow::timestamp(arrow::TimeUnit::MICRO);
  if (name.starts_with("decimal")) return ParseDecimal(name, column_path);
  if (name == "variant") {
    return Status::NotImplemented("Delta schema: column '", column_path,
                                  "' has type 'variant', which Sluice does not support");
  }
  return Status::NotImplemented("Delta schema: column '", column_path, "' has unknown type '", name,
                                "'");
}

// Reads an optional boolean member, defaulting when absent.
Result<bool> BoolMember(const ordered_json& obj, const char* key, bool default_value,
                        std::string_view column_path) {
  auto it = obj.find(key);
  if (it == obj.end()) return default_value;
  if (!it->is_boolean()) {
    return Status::Invalid("Delta schema: column '", column_path, "': '", key,
                           "' is not a boolean");
  }
  return it->get<bool>();
}

Result<const ordered_json*> RequiredMember(const ordered_json& obj, const char* key,
                                           std::string_view column_path) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return Status::Invalid("Delta schema: column '", column_path, "': missing '", key, "'");
  }
  return &*it;
}

// Delta field "metadata" -> Arrow KeyValueMetadata (see header for encoding).
Result<std::shared_ptr<const arrow::KeyValueMetadata>> MetadataFromDelta(
    const ordered_json& field, std::string_view column_path) {
  auto it = field.find("metadata");
  if (it == field.end() || it->is_null()) return nullptr;
  if (!it->is_object()) {
    return Status::Invalid("Delta schema: column '", column_path, "': metadata is not an object");
  }
  if (it->empty()) return nullptr;
  std::vector<std::string> keys, values;
  for (auto m = it->begin(); m != it->end(); ++m) {
    if (m.value().is_string()) {
      keys.push_back(m.key());
      values.push_back(m.value().get<std::string>());
    } else {
      keys.push_back(std::string(kDeltaJsonMetadataPrefix) + m.key());
      try {
        values.push_back(m.value().dump());
      } catch (const std::exception& e) {
        return Status::Invalid("Delta schema: column '", column_path, "': metadata '", m.key(),
                               "': ", e.what());
      }
    }
  }
  return arrow::key_value_metadata(std::move(keys), std::move(values));
}

Result<std::shared_ptr<arrow::Field>> FieldFromDelta(const ordered_json& field,
                                                     std::string_view parent_path) {
  if (!field.is_object()) {
    return Status::Invalid("Delta schema: a field under '", parent_path, "' is not an object");
  }
  auto name_it = field.find("name");
  if (name_it == field.end() || !name_it->is_string()) {
    return Status::Invalid("Delta schema: a field under '", parent_path, "' has no string 'name'");
  }
  std::string name = name_it->get<std::string>();
  std::string path = ChildPath(parent_path, name);
  ARROW_ASSIGN_OR_RAISE(const ordered_json* type, RequiredMember(field, "type", path));
  ARROW_ASSIGN_OR_RAISE(auto arrow_type, ArrowTypeFromDeltaType(*type, path));
  ARROW_ASSIGN_OR_RAISE(bool nullable, BoolMember(field, "nullable", true, path));
  ARROW_ASSIGN_OR_RAISE(auto metadata, MetadataFromDelta(field, path));
  return arrow::field(std::move(name), std::move(arrow_type), nullable, std::move(metadata));
}

Result<std::vector<std::shared_ptr<arrow::Field>>> StructFieldsFromDelta(
    const ordered_json& type, std::string_view column_path) {
  ARROW_ASSIGN_OR_RAISE(const ordered_json* fields, RequiredMember(type, "fields", column_path));
  if (!fields->is_array()) {
    return Status::Invalid("Delta schema: column '", column_path, "': 'fields' is not an array");
  }
  std::vector<std::shared_ptr<arrow::Field>> out;
  out.reserve(fields->size());
  for (const auto& f : *fields) {
    ARROW_ASSIGN_OR_RAISE(auto field, FieldFromDelta(f, column_path));
    out.push_back(std::move(field));
  }
  return out;
}

// Arrow KeyValueMetadata -> Delta field "metadata" object.
Result<ordered_json> MetadataToDelta(const arrow::Field& field, std::string_view column_path) {
  ordered_json out = ordered_json::object();
  const auto& md = field.metadata();
  if (!md) return out;
  for (int64_t i = 0; i < md->size(); ++i) {
    const std::string& key = md->key(i);
    const std::string& value = md->value(i);
    if (key.starts_with(kDeltaJsonMetadataPrefix)) {
      auto parsed = ordered_json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) {
        return Status::Invalid("Arrow schema: column '", column_path, "': metadata key '", key,
                               "' does not hold valid JSON");
      }
      out[key.substr(kDeltaJsonMetadataPrefix.size())] = std::move(parsed);
    } else {
      out[key] = value;
    }
  }
  return out;
}

Result<ordered_json> FieldToDelta(const arrow::Field& field, std::string_view parent_path) {
  std::string path = ChildPath(parent_path, field.name());
  ordered_json out = ordered_json::object();
  out["name"] = field.name();
  ARROW_ASSIGN_OR_RAISE(out["type"], DeltaTypeFromArrowType(*field.type(), path));
  out["nullable"] = field.nullable();
  ARROW_ASSIGN_OR_RAISE(out["metadata"], MetadataToDelta(field, path));
  return out;
}

Result<ordered_json> StructToDelta(const arrow::FieldVector& fields, std::string_view path) {
  ordered_json out = ordered_json::object();
  out["type"] = "struct";
  ordered_json list = ordered_json::array();
  for (const auto& f : fields) {
    ARROW_ASSIGN_OR_RAISE(auto jf, FieldToDelta(*f, path));
    list.push_back(std::move(jf));
  }
  out["fields"] = std::move(list);
  return out;
}

ordered_json ArrayToDelta(ordered_json element, bool contains_null) {
  ordered_json out = ordered_json::object();
  out["type"] = "array";
  out["elementType"] = std::move(element);
  out["containsNull"] = contains_null;
  return out;
}

std::string DecimalName(int32_t precision, int32_t scale) {
  return "decimal(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
}

bool TypeUsesNtz(const arrow::DataType& type) {
  if (type.id() == arrow::Type::TIMESTAMP) {
    return static_cast<const arrow::TimestampType&>(type).timezone().empty();
  }
  if (type.id() == arrow::Type::DICTIONARY) {
    return TypeUsesNtz(*static_cast<const arrow::DictionaryType&>(type).value_type());
  }
  for (const auto& child : type.fields()) {
    if (TypeUsesNtz(*child->type())) return true;
  }
  return false;
}

}  // namespace

Result<std::shared_ptr<arrow::DataType>> ArrowTypeFromDeltaType(const ordered_json& type,
                                                                std::string_view column_path) {
  if (type.is_string()) return PrimitiveFromDeltaName(type.get<std::string>(), column_path);
  if (!type.is_object()) {
    return Status::Invalid("Delta schema: column '", column_path,
                           "' has a type that is neither a string nor an object");
  }
  auto kind_it = type.find("type");
  if (kind_it == type.end() || !kind_it->is_string()) {
    return Status::Invalid("Delta schema: column '", column_path,
                           "' has a complex type without a string 'type'");
  }
  const std::string kind = kind_it->get<std::string>();
  if (kind == "struct") {
    ARROW_ASSIGN_OR_RAISE(auto fields, StructFieldsFromDelta(type, column_path));
    return arrow::struct_(std::move(fields));
  }
  if (kind == "array") {
    std::string path = ChildPath(column_path, "element");
    ARROW_ASSIGN_OR_RAISE(const ordered_json* element,
                          RequiredMember(type, "elementType", column_path));
    ARROW_ASSIGN_OR_RAISE(auto element_type, ArrowTypeFromDeltaType(*element, path));
    ARROW_ASSIGN_OR_RAISE(bool contains_null, BoolMember(type, "containsNull", true, column_path));
    return arrow::list(arrow::field("element", std::move(element_type), contains_null));
  }
  if (kind == "map") {
    ARROW_ASSIGN_OR_RAISE(const ordered_json* key, RequiredMember(type, "keyType", column_path));
    ARROW_ASSIGN_OR_RAISE(const ordered_json* value,
                          RequiredMember(type, "valueType", column_path));
    ARROW_ASSIGN_OR_RAISE(auto key_type,
                          ArrowTypeFromDeltaType(*key, ChildPath(column_path, "key")));
    ARROW_ASSIGN_OR_RAISE(auto value_type,
                          ArrowTypeFromDeltaType(*value, ChildPath(column_path, "value")));
    ARROW_ASSIGN_OR_RAISE(bool value_null,
                          BoolMember(type, "valueContainsNull", true, column_path));
    return std::make_shared<arrow::MapType>(
        arrow::field("key", std::move(key_type), false),
        arrow::field("value", std::move(value_type), value_null));
  }
  // Some writers wrap a primitive as {"type":"long"}; accept it.
  return PrimitiveFromDeltaName(kind, column_path);
}

Result<ordered_json> DeltaTypeFromArrowType(const arrow::DataType& type,
                                            std::string_view column_path) {
  using arrow::Type;
  switch (type.id()) {
    case Type::BOOL:
      return "boolean";
    case Type::INT8:
      return "byte";
    case Type::INT16:
    case Type::UINT8:
      return "short";
    case Type::INT32:
    case Type::UINT16:
      return "integer";
    case Type::INT64:
    case Type::UINT32:
      return "long";
    case Type::UINT64:
      return DecimalName(20, 0);
    case Type::HALF_FLOAT:
    case Type::FLOAT:
      return "float";
    case Type::DOUBLE:
      return "double";
    case Type::DECIMAL32:
    case Type::DECIMAL64:
    case Type::DECIMAL128:
    case Type::DECIMAL256: {
      const auto& dec = static_cast<const arrow::DecimalType&>(type);
      if (dec.precision() > kMaxDeltaDecimalPrecision || dec.scale() < 0) {
        return Status::NotImplemented("column '", column_path, "' has type ", type.ToString(),
                                      ": Delta decimals need precision <= 38 and scale >= 0");
      }
      return DecimalName(dec.precision(), dec.scale());
    }
    case Type::STRING:
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
      return "string";
    case Type::BINARY:
    case Type::LARGE_BINARY:
    case Type::FIXED_SIZE_BINARY:
    case Type::BINARY_VIEW:
      return "binary";
    case Type::DATE32:
    case Type::DATE64:
      return "date";
    case Type::TIMESTAMP:
      return static_cast<const arrow::TimestampType&>(type).timezone().empty() ? "timestamp_ntz"
                                                                               : "timestamp";
    case Type::STRUCT:
      return StructToDelta(type.fields(), column_path);
    case Type::LIST:
    case Type::LARGE_LIST:
    case Type::FIXED_SIZE_LIST: {
      const auto& element = type.field(0);
      ARROW_ASSIGN_OR_RAISE(
          auto element_json,
          DeltaTypeFromArrowType(*element->type(), ChildPath(column_path, "element")));
      return ArrayToDelta(std::move(element_json), element->nullable());
    }
    case Type::MAP: {
      const auto& map = static_cast<const arrow::MapType&>(type);
      ordered_json out = ordered_json::object();
      out["type"] = "map";
      ARROW_ASSIGN_OR_RAISE(out["keyType"],
                            DeltaTypeFromArrowType(*map.key_type(), ChildPath(column_path, "key")));
      ARROW_ASSIGN_OR_RAISE(
          out["valueType"],
          DeltaTypeFromArrowType(*map.item_type(), ChildPath(column_path, "value")));
      out["valueContainsNull"] = map.item_field()->nullable();
      return out;
    }
    case Type::DICTIONARY:
      return DeltaTypeFromArrowType(*static_cast<const arrow::DictionaryType&>(type).value_type(),
                                    column_path);
    default:
      return Status::NotImplemented("column '", column_path, "' has type ", type.ToString(),
                                    ", which has no Delta Lake equivalent");
  }
}

Result<std::shared_ptr<arrow::Schema>> SchemaFromDeltaJson(std::string_view schema_string) {
  auto json = ordered_json::parse(schema_string, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::Invalid("Delta schema: schemaString is not valid JSON");
  if (!json.is_object()) return Status::Invalid("Delta schema: schemaString is not an object");
  auto kind = json.find("type");
  if (kind == json.end() || !kind->is_string() || kind->get<std::string>() != "struct") {
    return Status::Invalid("Delta schema: top-level type is not a struct");
  }
  ARROW_ASSIGN_OR_RAISE(auto fields, StructFieldsFromDelta(json, ""));
  return arrow::schema(std::move(fields));
}

Result<std::string> SchemaToDeltaJson(const arrow::Schema& schema) {
  ARROW_ASSIGN_OR_RAISE(auto json, StructToDelta(schema.fields(), ""));
  try {
    return json.dump();
  } catch (const std::exception& e) {
    // Invalid UTF-8 in a field name or metadata value.
    return Status::Invalid("Arrow schema cannot be written as Delta JSON: ", e.what());
  }
}

bool SchemaUsesTimestampNtz(const arrow::Schema& schema) {
  for (const auto& f : schema.fields()) {
    if (TypeUsesNtz(*f->type())) return true;
  }
  return false;
}

}  // namespace sluice::delta
