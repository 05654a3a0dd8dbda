#include "sluice/formats/avro/avro_schema.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace sluice::formats::avro {

using nlohmann::json;

std::string_view AvroTypeName(AvroType t) {
  switch (t) {
    case AvroType::kNull:
      return "null";
    case AvroType::kBoolean:
      return "boolean";
    case AvroType::kInt:
      return "int";
    case AvroType::kLong:
      return "long";
    case AvroType::kFloat:
      return "float";
    case AvroType::kDouble:
      return "double";
    case AvroType::kBytes:
      return "bytes";
    case AvroType::kString:
      return "string";
    case AvroType::kRecord:
      return "record";
    case AvroType::kEnum:
      return "enum";
    case AvroType::kArray:
      return "array";
    case AvroType::kMap:
      return "map";
    case AvroType::kFixed:
      return "fixed";
    case AvroType::kUnion:
      return "union";
  }
  return "?";
}

namespace {

bool PrimitiveFromName(std::string_view s, AvroType* out) {
  static const std::pair<std::string_view, AvroType> kPrims[] = {
      {"null", AvroType::kNull},   {"boolean", AvroType::kBoolean}, {"int", AvroType::kInt},
      {"long", AvroType::kLong},   {"float", AvroType::kFloat},     {"double", AvroType::kDouble},
      {"bytes", AvroType::kBytes}, {"string", AvroType::kString}};
  for (const auto& [name, type] : kPrims) {
    if (s == name) {
      *out = type;
      return true;
    }
  }
  return false;
}

// Largest decimal precision a fixed of `size` bytes can hold (spec:
// floor(log10(2^(8*size-1) - 1))).
int64_t MaxFixedPrecision(int64_t size) {
  if (size <= 0) return 0;
  if (size > 64) return 1000;  // far beyond any precision we accept
  return static_cast<int64_t>(std::floor(std::log10(2.0) * static_cast<double>(8 * size - 1)));
}

}  // namespace

// Recursive-descent over the nlohmann document. nlohmann throws on type
// mismatches only through get<>, which we avoid by checking is_*() first.
class SchemaParser {
 public:
  explicit SchemaParser(AvroSchema* out) : out_(out) {}

  Result<const AvroNode*> Parse(const json& j, const std::string& ns, int depth) {
    if (depth > AvroSchema::kMaxDepth) {
      return Status::Invalid("Avro schema nests deeper than ", AvroSchema::kMaxDepth, " levels");
    }
    if (j.is_string()) return ParseName(j.get_ref<const std::string&>(), ns);
    if (j.is_array()) return ParseUnion(j, ns, depth);
    if (!j.is_object()) return Status::Invalid("Avro schema: expected a string, array or object");
    auto t = j.find("type");
    if (t == j.end()) return Status::Invalid("Avro schema: object without \"type\"");
    if (t->is_object() || t->is_array()) return Parse(*t, ns, depth + 1);
    if (!t->is_string()) return Status::Invalid("Avro schema: \"type\" is not a string");
    const std::string& tn = t->get_ref<const std::string&>();
    AvroType prim;
    if (PrimitiveFromName(tn, &prim)) {
      ARROW_ASSIGN_OR_RAISE(AvroNode * n, NewNode(prim));
      n->logical = LogicalFor(j, prim, n);
      return n;
    }
    if (tn == "record" || tn == "error") return ParseRecord(j, ns, depth);
    if (tn == "enum") return ParseEnum(j, ns);
    if (tn == "fixed") return ParseFixed(j, ns);
    if (tn == "array" || tn == "map") {
      const char* key = tn == "array" ? "items" : "values";
      auto it = j.find(key);
      if (it == j.end()) return Status::Invalid("Avro schema: ", tn, " without \"", key, "\"");
      ARROW_ASSIGN_OR_RAISE(AvroNode * n,
                            NewNode(tn == "array" ? AvroType::kArray : AvroType::kMap));
      ARROW_ASSIGN_OR_RAISE(n->items, Parse(*it, ns, depth + 1));
      return n;
    }
    // {"type": "SomeNamedType"} is a reference written as an object.
    return ParseName(tn, ns);
  }

 private:
  Result<AvroNode*> NewNode(AvroType t) {
    if (out_->nodes_.size() >= AvroSchema::kMaxNodes) {
      return Status::Invalid("Avro schema has more than ", AvroSchema::kMaxNodes, " nodes");
    }
    out_->nodes_.push_back(std::make_unique<AvroNode>());
    out_->nodes_.back()->type = t;
    return out_->nodes_.back().get();
  }

  Result<const AvroNode*> ParseName(const std::string& name, const std::string& ns) {
    AvroType prim;
    if (PrimitiveFromName(name, &prim)) return NewNode(prim);
    if (name.find('.') == std::string::npos && !ns.empty()) {
      auto it = named_.find(ns + "." + name);
      if (it != named_.end()) return it->second;
    }
    auto it = named_.find(name);
    if (it != named_.end()) return it->second;
    return Status::Invalid("Avro schema: unknown type \"", name, "\"");
  }

  // Splits a (possibly dotted) name, registers it, and returns the namespace
  // its members resolve relative names in.
  Result<std::string> DefineName(const json& j, AvroNode* n, const std::string& ns) {
    auto it = j.find("name");
    if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return Status::Invalid("Avro schema: ", AvroTypeName(n->type), " without a name");
    }
    const std::string& name = it->get_ref<const std::string&>();
    std::string space = ns;
    auto nsit = j.find("namespace");
    if (nsit != j.end() && nsit->is_string()) space = nsit->get<std::string>();
    size_t dot = name.rfind('.');
    if (dot != std::string::npos) {
      space = name.substr(0, dot);
      n->name = name.substr(dot + 1);
    } else {
      n->name = name;
    }
    n->full_name = space.empty() ? n->name : space + "." + n->name;
    AvroType prim;
    if (PrimitiveFromName(n->full_name, &prim)) {
      return Status::Invalid("Avro schema: cannot redefine primitive type \"", name, "\"");
    }
    if (!named_.emplace(n->full_name, n).second) {
      return Status::Invalid("Avro schema: type \"", n->full_name, "\" defined twice");
    }
    return space;
  }

  Result<const AvroNode*> ParseRecord(const json& j, const std::string& ns, int depth) {
    ARROW_ASSIGN_OR_RAISE(AvroNode * n, NewNode(AvroType::kRecord));
    ARROW_ASSIGN_OR_RAISE(std::string space, DefineName(j, n, ns));
    auto fit = j.find("fields");
    if (fit == j.end() || !fit->is_array()) {
      return Status::Invalid("Avro schema: record \"", n->full_name, "\" without a fields array");
    }
    std::set<std::string> seen;
    for (const auto& f : *fit) {
      if (!f.is_object()) return Status::Invalid("Avro schema: record field is not an object");
      auto name = f.find("name");
      auto type = f.find("type");
      if (name == f.end() || !name->is_string() || type == f.end()) {
        return Status::Invalid("Avro schema: field of \"", n->full_name, "\" without name or type");
      }
      AvroField field;
      field.name = name->get<std::string>();
      if (!seen.insert(field.name).second) {
        return Status::Invalid("Avro schema: field \"", field.name, "\" repeated in \"",
                               n->full_name, "\"");
      }
      ARROW_ASSIGN_OR_RAISE(field.type, Parse(*type, space, depth + 1));
      n->fields.push_back(std::move(field));
    }
    return n;
  }

  Result<const AvroNode*> ParseEnum(const json& j, const std::string& ns) {
    ARROW_ASSIGN_OR_RAISE(AvroNode * n, NewNode(AvroType::kEnum));
    ARROW_RETURN_NOT_OK(DefineName(j, n, ns).status());
    auto sit = j.find("symbols");
    if (sit == j.end() || !sit->is_array()) {
      return Status::Invalid("Avro schema: enum \"", n->full_name, "\" without symbols");
    }
    for (const auto& s : *sit) {
      if (!s.is_string()) return Status::Invalid("Avro schema: enum symbol is not a string");
      n->symbols.push_back(s.get<std::string>());
    }
    return n;
  }

  Result<const AvroNode*> ParseFixed(const json& j, const std::string& ns) {
    ARROW_ASSIGN_OR_RAISE(AvroNode * n, NewNode(AvroType::kFixed));
    ARROW_RETURN_NOT_OK(DefineName(j, n, ns).status());
    auto sit = j.find("size");
    if (sit == j.end() || !sit->is_number_integer() || sit->get<int64_t>() < 0 ||
        sit->get<int64_t>() > (int64_t{1} << 30)) {
      return Status::Invalid("Avro schema: fixed \"", n->full_name, "\" without a valid size");
    }
    n->fixed_size = sit->get<int64_t>();
    n->logical = LogicalFor(j, AvroType::kFixed, n);
    return n;
  }

  Result<const AvroNode*> ParseUnion(const json& j, const std::string& ns, int depth) {
    ARROW_ASSIGN_OR_RAISE(AvroNode * n, NewNode(AvroType::kUnion));
    if (j.empty()) return Status::Invalid("Avro schema: empty union");
    std::set<std::string> seen;
    for (const auto& b : j) {
      ARROW_ASSIGN_OR_RAISE(const AvroNode* branch, Parse(b, ns, depth + 1));
      if (branch->type == AvroType::kUnion) {
        return Status::Invalid("Avro schema: a union may not directly contain a union");
      }
      std::string key =
          branch->is_named() ? branch->full_name : std::string(AvroTypeName(branch->type));
      if (!seen.insert(key).second) {
        return Status::Invalid("Avro schema: union contains \"", key, "\" twice");
      }
      n->branches.push_back(branch);
    }
    return n;
  }

  // The logical type of a primitive or fixed, or kNone when absent, unknown
  // or invalid for the underlying type (spec: fall back to the underlying type).
  static LogicalType LogicalFor(const json& j, AvroType t, AvroNode* n) {
    auto it = j.find("logicalType");
    if (it == j.end() || !it->is_string()) return LogicalType::kNone;
    const std::string& lt = it->get_ref<const std::string&>();
    if (lt == "decimal" && (t == AvroType::kBytes || t == AvroType::kFixed)) {
      auto p = j.find("precision");
      auto s = j.find("scale");
      if (p == j.end() || !p->is_number_integer()) return LogicalType::kNone;
      int64_t precision = p->get<int64_t>();
      int64_t scale = 0;
      if (s != j.end()) {
        if (!s->is_number_integer()) return LogicalType::kNone;
        scale = s->get<int64_t>();
      }
      // decimal256 is the widest Arrow decimal: 76 digits.
      if (precision <= 0 || precision > 76 || scale < 0 || scale > precision) {
        return LogicalType::kNone;
      }
      if (t == AvroType::kFixed && precision > MaxFixedPrecision(n->fixed_size)) {
        return LogicalType::kNone;
      }
      n->precision = static_cast<int32_t>(precision);
      n->scale = static_cast<int32_t>(scale);
      return LogicalType::kDecimal;
    }
    struct Rule {
      std::string_view name;
      AvroType on;
      LogicalType logical;
    };
    static const Rule kRules[] = {
        {"date", AvroType::kInt, LogicalType::kDate},
        {"time-millis", AvroType::kInt, LogicalType::kTimeMillis},
        {"time-micros", AvroType::kLong, LogicalType::kTimeMicros},
        {"timestamp-millis", AvroType::kLong, LogicalType::kTimestampMillis},
        {"timestamp-micros", AvroType::kLong, LogicalType::kTimestampMicros},
        {"timestamp-nanos", AvroType::kLong, LogicalType::kTimestampNanos},
        {"local-timestamp-millis", AvroType::kLong, LogicalType::kLocalTimestampMillis},
        {"local-timestamp-micros", AvroType::kLong, LogicalType::kLocalTimestampMicros},
        {"local-timestamp-nanos", AvroType::kLong, LogicalType::kLocalTimestampNanos},
        {"uuid", AvroType::kString, LogicalType::kUuid},
        {"number", AvroType::kString, LogicalType::kNumber},
    };
    for (const auto& r : kRules) {
      if (lt == r.name && t == r.on) return r.logical;
    }
    return LogicalType::kNone;
  }

  AvroSchema* out_;
  std::map<std::string, const AvroNode*> named_;
};

Result<std::shared_ptr<AvroSchema>> AvroSchema::Parse(std::string_view json_text) {
  // nlohmann's parser recurses per nesting level: refuse absurd nesting
  // before handing it untrusted text.
  int depth = 0;
  for (char c : json_text) {
    if (c == '[' || c == '{') {
      if (++depth > 4 * kMaxDepth) return Status::Invalid("Avro schema JSON nests too deeply");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Invalid("Avro schema is not valid JSON");
  std::shared_ptr<AvroSchema> schema(new AvroSchema());
  schema->json_ = std::string(json_text);
  SchemaParser parser(schema.get());
  try {
    ARROW_ASSIGN_OR_RAISE(schema->root_, parser.Parse(doc, "", 0));
  } catch (const std::exception& e) {
    return Status::Invalid("Avro schema: ", e.what());
  }
  return schema;
}

}  // namespace sluice::formats::avro
