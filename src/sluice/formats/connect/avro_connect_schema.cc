#include "sluice/formats/connect/avro_connect_schema.h"

#include <simdjson.h>

#include <map>
#include <set>

namespace sluice::formats::connect {

namespace {

namespace dom = simdjson::dom;
using Kind = AvroLayout::Kind;

constexpr std::string_view kConnectDefault = "io.confluent.connect.avro.ConnectDefault";
constexpr std::string_view kMapEntry = "io.confluent.connect.avro.MapEntry";

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

std::string Quoted(std::string_view s) {
  std::string out;
  AppendQuoted(&out, s);
  return out;
}

// A converted node: the members of its JsonConverter schema object (without
// "optional" and "field", which depend on where it is used) and its layout
// (without union information, likewise).
struct Converted {
  Converted(std::string m, AvroLayoutPtr l, std::string full = "",
            std::vector<std::pair<std::string, std::string>> f = {})
      : members(std::move(m)),
        layout(std::move(l)),
        full_name(std::move(full)),
        fields(std::move(f)) {}
  std::string members;
  AvroLayoutPtr layout;
  std::string full_name;  ///< named types
  /// records: each field's name and members (with "optional")
  std::vector<std::pair<std::string, std::string>> fields;
};

class Converter {
 public:
  Result<Converted> Node(dom::element e, const std::string& ns, const std::string& where, int depth,
                         bool* optional) {
    *optional = false;
    if (depth > kMaxDepth) return Bad(where, "nested deeper than " + std::to_string(kMaxDepth));
    dom::array branches;
    if (e.get_array().get(branches) == simdjson::SUCCESS)
      return Union(branches, ns, where, depth, optional);
    return NonUnion(e, ns, where, depth);
  }

  size_t emitted() const { return emitted_; }

 private:
  static Status Bad(const std::string& where, const std::string& what) {
    return Status::Invalid("Avro schema", where.empty() ? "" : " at ", where, ": ", what);
  }

  static std::string Join(const std::string& where, std::string_view child) {
    return where.empty() ? std::string(child) : where + "." + std::string(child);
  }

  Result<Converted> Union(dom::array branches, const std::string& ns, const std::string& where,
                          int depth, bool* optional) {
    std::vector<dom::element> items;
    for (dom::element b : branches) items.push_back(b);
    int null_index = -1;
    int value_index = -1;
    for (size_t i = 0; i < items.size(); ++i) {
      std::string_view name;
      if (items[i].get_string().get(name) == simdjson::SUCCESS && name == "null") {
        if (null_index >= 0) return Bad(where, "union with two nulls");
        null_index = static_cast<int>(i);
      } else {
        if (value_index >= 0) {
          return Bad(where, "a union of " + std::to_string(items.size()) +
                                " types (AvroConverter writes only [null, T] for optional)");
        }
        value_index = static_cast<int>(i);
      }
    }
    if (value_index < 0) return Bad(where, "a union without a non-null type");
    dom::array nested;
    if (items[value_index].get_array().get(nested) == simdjson::SUCCESS) {
      return Bad(where, "a union inside a union");
    }
    ARROW_ASSIGN_OR_RAISE(auto inner, NonUnion(items[value_index], ns, where, depth));
    auto layout = std::make_shared<AvroLayout>(*inner.layout);
    layout->union_branches = static_cast<int32_t>(items.size());
    layout->null_branch = null_index;
    layout->min_bytes += 1;  // the branch index
    *optional = null_index >= 0;
    inner.layout = std::move(layout);
    return inner;
  }

  Result<Converted> NonUnion(dom::element e, const std::string& ns, const std::string& where,
                             int depth) {
    std::string_view type_name;
    dom::object obj;
    if (e.get_string().get(type_name) == simdjson::SUCCESS) {
      auto prim = Primitive(type_name, where, dom::object(), false);
      if (!prim.status().IsKeyError()) return prim;
      return Named(type_name, ns, where);
    }
    if (e.get_object().get(obj) != simdjson::SUCCESS) {
      return Bad(where, "neither a type name, an object nor a union");
    }
    dom::element type;
    if (obj["type"].get(type) != simdjson::SUCCESS) return Bad(where, "no \"type\"");
    if (type.get_string().get(type_name) != simdjson::SUCCESS) {
      // {"type": {...}} or {"type": [...]}: the inner schema (props lost, as
      // in Avro's own parser).
      bool optional = false;
      ARROW_ASSIGN_OR_RAISE(auto inner, Node(type, ns, where, depth + 1, &optional));
      if (optional) return Bad(where, "an optional type nested in a type object");
      return inner;
    }
    if (type_name == "record" || type_name == "error") return Record(obj, ns, where, depth);
    if (type_name == "enum") return Enum(obj, ns, where);
    if (type_name == "fixed") return Fixed(obj, ns, where);
    if (type_name == "array") return Array(obj, ns, where, depth);
    if (type_name == "map") return Map(obj, ns, where, depth);
    auto prim = Primitive(type_name, where, obj, true);
    if (!prim.status().IsKeyError()) return prim;
    return Named(type_name, ns, where);
  }

  // The Connect properties of a node: "name", "version", "parameters",
  // "doc" members for its JsonConverter form.
  static std::string ConnectProps(dom::object obj, std::string_view fallback_name) {
    std::string out;
    std::string_view name;
    if (obj["connect.name"].get_string().get(name) == simdjson::SUCCESS) {
      out += ",\"name\":" + Quoted(name);
    } else if (!fallback_name.empty()) {
      out += ",\"name\":" + Quoted(fallback_name);
    }
    int64_t version = 0;
    if (obj["connect.version"].get_int64().get(version) == simdjson::SUCCESS) {
      out += ",\"version\":" + std::to_string(version);
    }
    std::string_view doc;
    if (obj["connect.doc"].get_string().get(doc) == simdjson::SUCCESS) {
      out += ",\"doc\":" + Quoted(doc);
    }
    dom::object params;
    if (obj["connect.parameters"].get_object().get(params) == simdjson::SUCCESS) {
      out += ",\"parameters\":{";
      bool first = true;
      for (auto [k, v] : params) {
        if (!first) out += ",";
        first = false;
        AppendQuoted(&out, k);
        out += ":";
        std::string_view text;
        if (v.get_string().get(text) == simdjson::SUCCESS) {
          AppendQuoted(&out, text);
        } else {
          AppendQuoted(&out, simdjson::minify(v));
        }
      }
      out += "}";
    }
    return out;
  }

  static AvroLayoutPtr Leaf(Kind kind, int64_t min_bytes) {
    auto l = std::make_shared<AvroLayout>();
    l->kind = kind;
    l->min_bytes = min_bytes;
    return l;
  }

  Result<Converted> Primitive(std::string_view type_name, const std::string& where, dom::object obj,
                              bool has_props) {
    std::string props;
    std::string_view connect_name, logical;
    bool named = false;
    if (has_props) {
      props = ConnectProps(obj, "");
      named = obj["connect.name"].get_string().get(connect_name) == simdjson::SUCCESS;
      if (obj["logicalType"].get_string().get(logical) != simdjson::SUCCESS) logical = {};
    }
    if (type_name == "int") {
      std::string_view ctype;
      std::string connect_type = "int32";
      if (has_props && obj["connect.type"].get_string().get(ctype) == simdjson::SUCCESS &&
          (ctype == "int8" || ctype == "int16")) {
        connect_type = std::string(ctype);
      }
      if (!named && logical == "date") {
        props = ",\"name\":\"org.apache.kafka.connect.data.Date\",\"version\":1" + props;
      } else if (!named && logical == "time-millis") {
        props = ",\"name\":\"org.apache.kafka.connect.data.Time\",\"version\":1" + props;
      }
      return Converted{"\"type\":\"" + connect_type + "\"" + props, Leaf(Kind::kInt, 1)};
    }
    if (type_name == "long") {
      if (!named && logical == "timestamp-millis") {
        props = ",\"name\":\"org.apache.kafka.connect.data.Timestamp\",\"version\":1" + props;
      }
      return Converted{"\"type\":\"int64\"" + props, Leaf(Kind::kLong, 1)};
    }
    if (type_name == "float") return Converted{"\"type\":\"float\"" + props, Leaf(Kind::kFloat, 4)};
    if (type_name == "double") {
      return Converted{"\"type\":\"double\"" + props, Leaf(Kind::kDouble, 8)};
    }
    if (type_name == "boolean") {
      return Converted{"\"type\":\"boolean\"" + props, Leaf(Kind::kBoolean, 1)};
    }
    if (type_name == "string") {
      return Converted{"\"type\":\"string\"" + props, Leaf(Kind::kString, 1)};
    }
    if (type_name == "bytes") {
      if (!named && logical == "decimal") {
        int64_t scale = 0, precision = 0;
        if (obj["scale"].get_int64().get(scale) != simdjson::SUCCESS) scale = 0;
        std::string params = ",\"parameters\":{\"scale\":\"" + std::to_string(scale) + "\"";
        if (obj["precision"].get_int64().get(precision) == simdjson::SUCCESS) {
          params += ",\"connect.decimal.precision\":\"" + std::to_string(precision) + "\"";
        }
        params += "}";
        return Converted{
            "\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1" +
                params,
            Leaf(Kind::kBytes, 1)};
      }
      return Converted{"\"type\":\"bytes\"" + props, Leaf(Kind::kBytes, 1)};
    }
    if (type_name == "null") return Bad(where, "a null type outside a union");
    return Status::KeyError("not a primitive");
  }

  // The full name of a named type defined by `obj` inside namespace `ns`.
  static Result<std::string> FullName(dom::object obj, const std::string& ns,
                                      const std::string& where, std::string* own_ns) {
    std::string_view name;
    if (obj["name"].get_string().get(name) != simdjson::SUCCESS || name.empty()) {
      return Bad(where, "a named type without a \"name\"");
    }
    if (name.find('.') != std::string_view::npos) {
      *own_ns = std::string(name.substr(0, name.rfind('.')));
      return std::string(name);
    }
    std::string_view space;
    if (obj["namespace"].get_string().get(space) == simdjson::SUCCESS) {
      *own_ns = std::string(space);
    } else {
      *own_ns = ns;
    }
    return own_ns->empty() ? std::string(name) : *own_ns + "." + std::string(name);
  }

  Status Define(const std::string& full_name, const std::string& where) {
    if (defined_.count(full_name) || in_progress_.count(full_name)) {
      return Bad(where, "type '" + full_name + "' defined twice");
    }
    return Status::OK();
  }

  Result<Converted> Named(std::string_view ref, const std::string& ns, const std::string& where) {
    std::string name(ref);
    auto it = defined_.end();
    if (name.find('.') == std::string::npos && !ns.empty()) it = defined_.find(ns + "." + name);
    if (it == defined_.end()) it = defined_.find(name);
    if (it != defined_.end()) {
      ARROW_RETURN_NOT_OK(Count(it->second.members.size(), where));
      return it->second;
    }
    if (in_progress_.count(name) || in_progress_.count(ns + "." + name)) {
      return Bad(where, "record '" + name + "' contains itself (a Connect schema is a tree)");
    }
    return Bad(where, "unknown type '" + name + "'");
  }

  // Bounds the expanded size (each reference copies its definition).
  Status Count(size_t bytes, const std::string& where) {
    emitted_ += bytes;
    if (emitted_ > kMaxConnectSchemaBytes) {
      return Bad(where, "expands to more than " + std::to_string(kMaxConnectSchemaBytes) +
                            " bytes of Connect schema");
    }
    return Status::OK();
  }

  Result<Converted> Record(dom::object obj, const std::string& ns, const std::string& where,
                           int depth) {
    std::string own_ns;
    ARROW_ASSIGN_OR_RAISE(auto full, FullName(obj, ns, where, &own_ns));
    ARROW_RETURN_NOT_OK(Define(full, where));
    dom::array fields;
    if (obj["fields"].get_array().get(fields) != simdjson::SUCCESS) {
      return Bad(where, "record '" + full + "' without a \"fields\" array");
    }
    in_progress_.insert(full);
    const bool is_default = full.rfind(kConnectDefault, 0) == 0;
    std::string members = "\"type\":\"struct\"" + ConnectProps(obj, is_default ? "" : full);
    members += ",\"fields\":[";
    auto layout = std::make_shared<AvroLayout>();
    layout->kind = Kind::kRecord;
    std::set<std::string, std::less<>> names;
    std::vector<std::pair<std::string, std::string>> field_texts;
    bool first = true;
    for (dom::element f : fields) {
      std::string_view fname;
      if (f["name"].get_string().get(fname) != simdjson::SUCCESS) {
        return Bad(where, "a field without a \"name\" in '" + full + "'");
      }
      if (!names.insert(std::string(fname)).second) {
        return Bad(where, "duplicate field '" + std::string(fname) + "'");
      }
      dom::element ftype;
      if (f["type"].get(ftype) != simdjson::SUCCESS) {
        return Bad(where, "field '" + std::string(fname) + "' without a \"type\"");
      }
      bool optional = false;
      ARROW_ASSIGN_OR_RAISE(auto child,
                            Node(ftype, own_ns, Join(where, fname), depth + 1, &optional));
      if (!first) members += ",";
      first = false;
      std::string field_members = child.members + ",\"optional\":" + (optional ? "true" : "false");
      members += "{" + field_members + ",\"field\":" + Quoted(fname) + "}";
      field_texts.emplace_back(std::string(fname), std::move(field_members));
      ARROW_RETURN_NOT_OK(Count(child.members.size(), where));
      layout->min_bytes += child.layout->min_bytes;
      layout->children.push_back(std::move(child.layout));
    }
    members += "]";
    in_progress_.erase(full);
    Converted c{std::move(members), std::move(layout), full, std::move(field_texts)};
    defined_.emplace(full, c);
    return c;
  }

  Result<Converted> Enum(dom::object obj, const std::string& ns, const std::string& where) {
    std::string own_ns;
    ARROW_ASSIGN_OR_RAISE(auto full, FullName(obj, ns, where, &own_ns));
    ARROW_RETURN_NOT_OK(Define(full, where));
    dom::array symbols;
    if (obj["symbols"].get_array().get(symbols) != simdjson::SUCCESS) {
      return Bad(where, "enum '" + full + "' without \"symbols\"");
    }
    auto layout = std::make_shared<AvroLayout>();
    layout->kind = Kind::kEnum;
    layout->min_bytes = 1;
    for (dom::element s : symbols) {
      std::string_view text;
      if (s.get_string().get(text) != simdjson::SUCCESS) {
        return Bad(where, "enum '" + full + "' has a symbol that is not a string");
      }
      layout->symbols.emplace_back(text);
    }
    if (layout->symbols.empty()) return Bad(where, "enum '" + full + "' without symbols");
    Converted c{"\"type\":\"string\"" + ConnectProps(obj, ""), std::move(layout), full, {}};
    defined_.emplace(full, c);
    return c;
  }

  Result<Converted> Fixed(dom::object obj, const std::string& ns, const std::string& where) {
    std::string own_ns;
    ARROW_ASSIGN_OR_RAISE(auto full, FullName(obj, ns, where, &own_ns));
    ARROW_RETURN_NOT_OK(Define(full, where));
    int64_t size = -1;
    if (obj["size"].get_int64().get(size) != simdjson::SUCCESS || size < 0 ||
        size > (int64_t{1} << 30)) {
      return Bad(where, "fixed '" + full + "' without a usable \"size\"");
    }
    auto layout = std::make_shared<AvroLayout>();
    layout->kind = Kind::kFixed;
    layout->fixed_size = size;
    layout->min_bytes = size;
    std::string_view logical, connect_name;
    std::string members = "\"type\":\"bytes\"" + ConnectProps(obj, "");
    if (obj["connect.name"].get_string().get(connect_name) != simdjson::SUCCESS &&
        obj["logicalType"].get_string().get(logical) == simdjson::SUCCESS && logical == "decimal") {
      int64_t scale = 0, precision = 0;
      if (obj["scale"].get_int64().get(scale) != simdjson::SUCCESS) scale = 0;
      members =
          "\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,"
          "\"parameters\":{\"scale\":\"" +
          std::to_string(scale) + "\"";
      if (obj["precision"].get_int64().get(precision) == simdjson::SUCCESS) {
        members += ",\"connect.decimal.precision\":\"" + std::to_string(precision) + "\"";
      }
      members += "}";
    }
    Converted c{std::move(members), std::move(layout), full, {}};
    defined_.emplace(full, c);
    return c;
  }

  Result<Converted> Array(dom::object obj, const std::string& ns, const std::string& where,
                          int depth) {
    dom::element items;
    if (obj["items"].get(items) != simdjson::SUCCESS) return Bad(where, "array without \"items\"");
    bool optional = false;
    ARROW_ASSIGN_OR_RAISE(auto item, Node(items, ns, Join(where, "[]"), depth + 1, &optional));
    auto layout = std::make_shared<AvroLayout>();
    layout->min_bytes = 1;
    // AvroConverter's map with non-string keys: an array of MapEntry records.
    const AvroLayout& il = *item.layout;
    if (il.kind == Kind::kRecord && il.union_branches == 0 &&
        item.full_name.rfind(kMapEntry, 0) == 0 && item.fields.size() == 2) {
      const bool key_first = item.fields[0].first == "key" && item.fields[1].first == "value";
      const bool value_first = item.fields[0].first == "value" && item.fields[1].first == "key";
      if (key_first || value_first) {
        layout->kind = Kind::kMapEntries;
        layout->key_first = key_first;
        layout->children = {il.children[key_first ? 0 : 1], il.children[key_first ? 1 : 0]};
        std::string members = "\"type\":\"map\"" + ConnectProps(obj, "") + ",\"keys\":{" +
                              item.fields[key_first ? 0 : 1].second + "},\"values\":{" +
                              item.fields[key_first ? 1 : 0].second + "}";
        return Converted{std::move(members), std::move(layout), "", {}};
      }
    }
    layout->kind = Kind::kArray;
    layout->children.push_back(item.layout);
    std::string members = "\"type\":\"array\"" + ConnectProps(obj, "") + ",\"items\":{" +
                          item.members + ",\"optional\":" + (optional ? "true" : "false") + "}";
    return Converted{std::move(members), std::move(layout)};
  }

  Result<Converted> Map(dom::object obj, const std::string& ns, const std::string& where,
                        int depth) {
    dom::element values;
    if (obj["values"].get(values) != simdjson::SUCCESS) return Bad(where, "map without \"values\"");
    bool optional = false;
    ARROW_ASSIGN_OR_RAISE(auto value,
                          Node(values, ns, Join(where, "{value}"), depth + 1, &optional));
    auto layout = std::make_shared<AvroLayout>();
    layout->kind = Kind::kMap;
    layout->min_bytes = 1;
    layout->children.push_back(value.layout);
    std::string members = "\"type\":\"map\"" + ConnectProps(obj, "") +
                          ",\"keys\":{\"type\":\"string\",\"optional\":false},\"values\":{" +
                          value.members + ",\"optional\":" + (optional ? "true" : "false") + "}";
    return Converted{std::move(members), std::move(layout)};
  }

  std::map<std::string, Converted, std::less<>> defined_;
  std::set<std::string, std::less<>> in_progress_;
  size_t emitted_ = 0;
};

}  // namespace

Result<AvroConnectSchema> AvroToConnectSchema(std::string_view text,
                                              const std::vector<std::string>& references) {
  dom::parser parser;
  Converter converter;
  for (size_t i = 0; i < references.size(); ++i) {
    dom::element ref;
    auto err = parser.parse(references[i]).get(ref);
    if (err != simdjson::SUCCESS) {
      return Status::Invalid("Avro schema reference ", i,
                             " is not JSON: ", simdjson::error_message(err));
    }
    // Only its named types matter; an optional root is fine.
    bool optional = false;
    ARROW_RETURN_NOT_OK(
        converter.Node(ref, "", "reference " + std::to_string(i), 0, &optional).status());
  }
  dom::element root;
  auto err = parser.parse(text.data(), text.size()).get(root);
  if (err != simdjson::SUCCESS) {
    return Status::Invalid("Avro schema is not JSON: ", simdjson::error_message(err));
  }
  bool optional = false;
  ARROW_ASSIGN_OR_RAISE(auto c, converter.Node(root, "", "", 0, &optional));
  AvroConnectSchema out;
  out.connect_json = "{" + c.members + ",\"optional\":" + (optional ? "true" : "false") + "}";
  out.layout = std::move(c.layout);
  ARROW_ASSIGN_OR_RAISE(out.schema, ParseConnectSchema(out.connect_json));
  return out;
}

}  // namespace sluice::formats::connect
