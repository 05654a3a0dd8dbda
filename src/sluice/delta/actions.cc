#include "sluice/delta/actions.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sluice::delta {

using nlohmann::json;

bool Protocol::HasReaderFeature(const std::string& f) const {
  return reader_features &&
         std::find(reader_features->begin(), reader_features->end(), f) != reader_features->end();
}

bool Protocol::HasWriterFeature(const std::string& f) const {
  return writer_features &&
         std::find(writer_features->begin(), writer_features->end(), f) != writer_features->end();
}

std::string DeletionVectorDescriptor::UniqueId() const {
  std::string id(1, storage_type);
  id += path_or_inline_dv;
  if (offset) id += "@" + std::to_string(*offset);
  return id;
}

Remove RemoveActionFor(const Add& add, int64_t now_ms) {
  Remove r;
  r.path = add.path;
  r.deletion_timestamp = now_ms;
  r.data_change = true;
  r.extended_file_metadata = true;
  r.partition_values = add.partition_values;
  r.size = add.size;
  r.stats = add.stats;
  r.tags = add.tags;
  r.deletion_vector = add.deletion_vector;
  return r;
}

namespace {

// ---- to JSON ---------------------------------------------------------------

json PartitionValuesToJson(const PartitionValues& values) {
  json out = json::object();
  for (const auto& [k, v] : values) out[k] = v ? json(*v) : json(nullptr);
  return out;
}

json DvToJson(const DeletionVectorDescriptor& dv) {
  json out = {{"storageType", std::string(1, dv.storage_type)},
              {"pathOrInlineDv", dv.path_or_inline_dv},
              {"sizeInBytes", dv.size_in_bytes},
              {"cardinality", dv.cardinality}};
  if (dv.offset) out["offset"] = *dv.offset;
  return out;
}

template <typename T>
void PutOpt(json& out, const char* key, const std::optional<T>& v) {
  if (v) out[key] = *v;
}

json ToJsonValue(const Protocol& p) {
  json out = {{"minReaderVersion", p.min_reader_version},
              {"minWriterVersion", p.min_writer_version}};
  PutOpt(out, "readerFeatures", p.reader_features);
  PutOpt(out, "writerFeatures", p.writer_features);
  return out;
}

json ToJsonValue(const Metadata& m) {
  json out = {{"id", m.id},
              {"format", {{"provider", m.format.provider}, {"options", m.format.options}}},
              {"schemaString", m.schema_string},
              {"partitionColumns", m.partition_columns},
              {"configuration", m.configuration}};
  PutOpt(out, "name", m.name);
  PutOpt(out, "description", m.description);
  PutOpt(out, "createdTime", m.created_time);
  return out;
}

json ToJsonValue(const Add& a) {
  json out = {{"path", a.path},
              {"partitionValues", PartitionValuesToJson(a.partition_values)},
              {"size", a.size},
              {"modificationTime", a.modification_time},
              {"dataChange", a.data_change}};
  PutOpt(out, "stats", a.stats);
  PutOpt(out, "tags", a.tags);
  if (a.deletion_vector) out["deletionVector"] = DvToJson(*a.deletion_vector);
  PutOpt(out, "baseRowId", a.base_row_id);
  PutOpt(out, "defaultRowCommitVersion", a.default_row_commit_version);
  PutOpt(out, "clusteringProvider", a.clustering_provider);
  return out;
}

json ToJsonValue(const Remove& r) {
  json out = {{"path", r.path}, {"dataChange", r.data_change}};
  PutOpt(out, "deletionTimestamp", r.deletion_timestamp);
  PutOpt(out, "extendedFileMetadata", r.extended_file_metadata);
  if (r.partition_values) out["partitionValues"] = PartitionValuesToJson(*r.partition_values);
  PutOpt(out, "size", r.size);
  PutOpt(out, "stats", r.stats);
  PutOpt(out, "tags", r.tags);
  if (r.deletion_vector) out["deletionVector"] = DvToJson(*r.deletion_vector);
  PutOpt(out, "baseRowId", r.base_row_id);
  PutOpt(out, "defaultRowCommitVersion", r.default_row_commit_version);
  return out;
}

json ToJsonValue(const Txn& t) {
  json out = {{"appId", t.app_id}, {"version", t.version}};
  PutOpt(out, "lastUpdated", t.last_updated);
  return out;
}

// ---- from JSON -------------------------------------------------------------
// nlohmann throws on type mismatches; these helpers turn the document into
// Status errors naming the field instead.

struct Reader {
  const json& obj;
  std::string where;

  Status Missing(const char* key) const {
    return Status::Invalid(where, ": missing required field '", key, "'");
  }
  Status Wrong(const char* key, const char* want) const {
    return Status::Invalid(where, ": field '", key, "' is not ", want);
  }

  Result<std::string> Str(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) return Missing(key);
    if (!it->is_string()) return Wrong(key, "a string");
    return it->get<std::string>();
  }
  Result<std::optional<std::string>> OptStr(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<std::string>();
    if (!it->is_string()) return Wrong(key, "a string");
    return std::optional<std::string>(it->get<std::string>());
  }
  Result<int64_t> Int(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) return Missing(key);
    if (!it->is_number_integer()) return Wrong(key, "an integer");
    return it->get<int64_t>();
  }
  Result<std::optional<int64_t>> OptInt(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
    if (!it->is_number_integer()) return Wrong(key, "an integer");
    return std::optional<int64_t>(it->get<int64_t>());
  }
  Result<bool> Bool(const char* key, std::optional<bool> dflt = std::nullopt) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (dflt) return *dflt;
      return Missing(key);
    }
    if (!it->is_boolean()) return Wrong(key, "a boolean");
    return it->get<bool>();
  }
  Result<std::optional<bool>> OptBool(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<bool>();
    if (!it->is_boolean()) return Wrong(key, "a boolean");
    return std::optional<bool>(it->get<bool>());
  }
  Result<std::optional<std::vector<std::string>>> OptStrList(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<std::vector<std::string>>();
    if (!it->is_array()) return Wrong(key, "an array");
    std::vector<std::string> out;
    for (const auto& e : *it) {
      if (!e.is_string()) return Wrong(key, "an array of strings");
      out.push_back(e.get<std::string>());
    }
    return std::optional<std::vector<std::string>>(std::move(out));
  }
  Result<std::optional<std::map<std::string, std::string>>> OptStrMap(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null())
      return std::optional<std::map<std::string, std::string>>();
    if (!it->is_object()) return Wrong(key, "an object");
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : it->items()) {
      if (v.is_null()) continue;  // Spark writes null configuration values rarely; drop them
      if (!v.is_string()) return Wrong(key, "an object of strings");
      out[k] = v.get<std::string>();
    }
    return std::optional<std::map<std::string, std::string>>(std::move(out));
  }
  Result<std::optional<PartitionValues>> OptPartitionValues(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<PartitionValues>();
    if (!it->is_object()) return Wrong(key, "an object");
    PartitionValues out;
    for (const auto& [k, v] : it->items()) {
      if (v.is_null()) {
        out[k] = std::nullopt;
      } else if (v.is_string()) {
        out[k] = v.get<std::string>();
      } else {
        return Wrong(key, "an object of strings or nulls");
      }
    }
    return std::optional<PartitionValues>(std::move(out));
  }
  Result<std::optional<DeletionVectorDescriptor>> OptDv(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<DeletionVectorDescriptor>();
    if (!it->is_object()) return Wrong(key, "an object");
    Reader r{*it, where + "." + key};
    DeletionVectorDescriptor dv;
    ARROW_ASSIGN_OR_RAISE(std::string st, r.Str("storageType"));
    if (st.size() != 1) return r.Wrong("storageType", "a single character");
    dv.storage_type = st[0];
    ARROW_ASSIGN_OR_RAISE(dv.path_or_inline_dv, r.Str("pathOrInlineDv"));
    ARROW_ASSIGN_OR_RAISE(auto offset, r.OptInt("offset"));
    if (offset) dv.offset = static_cast<int32_t>(*offset);
    ARROW_ASSIGN_OR_RAISE(int64_t size, r.Int("sizeInBytes"));
    dv.size_in_bytes = static_cast<int32_t>(size);
    ARROW_ASSIGN_OR_RAISE(dv.cardinality, r.Int("cardinality"));
    return std::optional<DeletionVectorDescriptor>(std::move(dv));
  }
};

Result<Action> ParseProtocol(const Reader& r) {
  Protocol p;
  ARROW_ASSIGN_OR_RAISE(int64_t rv, r.Int("minReaderVersion"));
  ARROW_ASSIGN_OR_RAISE(int64_t wv, r.Int("minWriterVersion"));
  p.min_reader_version = static_cast<int32_t>(rv);
  p.min_writer_version = static_cast<int32_t>(wv);
  ARROW_ASSIGN_OR_RAISE(p.reader_features, r.OptStrList("readerFeatures"));
  ARROW_ASSIGN_OR_RAISE(p.writer_features, r.OptStrList("writerFeatures"));
  return p;
}

Result<Action> ParseMetadata(const Reader& r) {
  Metadata m;
  ARROW_ASSIGN_OR_RAISE(m.id, r.Str("id"));
  ARROW_ASSIGN_OR_RAISE(m.name, r.OptStr("name"));
  ARROW_ASSIGN_OR_RAISE(m.description, r.OptStr("description"));
  auto fmt = r.obj.find("format");
  if (fmt != r.obj.end() && fmt->is_object()) {
    Reader fr{*fmt, r.where + ".format"};
    ARROW_ASSIGN_OR_RAISE(auto provider, fr.OptStr("provider"));
    if (provider) m.format.provider = *provider;
    ARROW_ASSIGN_OR_RAISE(auto options, fr.OptStrMap("options"));
    if (options) m.format.options = *options;
  }
  ARROW_ASSIGN_OR_RAISE(m.schema_string, r.Str("schemaString"));
  ARROW_ASSIGN_OR_RAISE(auto parts, r.OptStrList("partitionColumns"));
  if (parts) m.partition_columns = *parts;
  ARROW_ASSIGN_OR_RAISE(auto conf, r.OptStrMap("configuration"));
  if (conf) m.configuration = *conf;
  ARROW_ASSIGN_OR_RAISE(m.created_time, r.OptInt("createdTime"));
  return m;
}

Result<Action> ParseAdd(const Reader& r) {
  Add a;
  ARROW_ASSIGN_OR_RAISE(a.path, r.Str("path"));
  ARROW_ASSIGN_OR_RAISE(auto pv, r.OptPartitionValues("partitionValues"));
  if (pv) a.partition_values = *pv;
  ARROW_ASSIGN_OR_RAISE(a.size, r.Int("size"));
  ARROW_ASSIGN_OR_RAISE(auto mtime, r.OptInt("modificationTime"));
  a.modification_time = mtime.value_or(0);
  ARROW_ASSIGN_OR_RAISE(a.data_change, r.Bool("dataChange", true));
  ARROW_ASSIGN_OR_RAISE(a.stats, r.OptStr("stats"));
  ARROW_ASSIGN_OR_RAISE(a.tags, r.OptStrMap("tags"));
  ARROW_ASSIGN_OR_RAISE(a.deletion_vector, r.OptDv("deletionVector"));
  ARROW_ASSIGN_OR_RAISE(a.base_row_id, r.OptInt("baseRowId"));
  ARROW_ASSIGN_OR_RAISE(a.default_row_commit_version, r.OptInt("defaultRowCommitVersion"));
  ARROW_ASSIGN_OR_RAISE(a.clustering_provider, r.OptStr("clusteringProvider"));
  return a;
}

Result<Action> ParseRemove(const Reader& r) {
  Remove m;
  ARROW_ASSIGN_OR_RAISE(m.path, r.Str("path"));
  ARROW_ASSIGN_OR_RAISE(m.deletion_timestamp, r.OptInt("deletionTimestamp"));
  ARROW_ASSIGN_OR_RAISE(m.data_change, r.Bool("dataChange", true));
  ARROW_ASSIGN_OR_RAISE(m.extended_file_metadata, r.OptBool("extendedFileMetadata"));
  ARROW_ASSIGN_OR_RAISE(m.partition_values, r.OptPartitionValues("partitionValues"));
  ARROW_ASSIGN_OR_RAISE(m.size, r.OptInt("size"));
  ARROW_ASSIGN_OR_RAISE(m.stats, r.OptStr("stats"));
  ARROW_ASSIGN_OR_RAISE(m.tags, r.OptStrMap("tags"));
  ARROW_ASSIGN_OR_RAISE(m.deletion_vector, r.OptDv("deletionVector"));
  ARROW_ASSIGN_OR_RAISE(m.base_row_id, r.OptInt("baseRowId"));
  ARROW_ASSIGN_OR_RAISE(m.default_row_commit_version, r.OptInt("defaultRowCommitVersion"));
  return m;
}

Result<Action> ParseTxn(const Reader& r) {
  Txn t;
  ARROW_ASSIGN_OR_RAISE(t.app_id, r.Str("appId"));
  ARROW_ASSIGN_OR_RAISE(t.version, r.Int("version"));
  ARROW_ASSIGN_OR_RAISE(t.last_updated, r.OptInt("lastUpdated"));
  return t;
}

}  // namespace

std::string ActionToJson(const Action& action) {
  json out;
  std::visit(
      [&out](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, Protocol>) {
          out["protocol"] = ToJsonValue(a);
        } else if constexpr (std::is_same_v<T, Metadata>) {
          out["metaData"] = ToJsonValue(a);
        } else if constexpr (std::is_same_v<T, Add>) {
          out["add"] = ToJsonValue(a);
        } else if constexpr (std::is_same_v<T, Remove>) {
          out["remove"] = ToJsonValue(a);
        } else if constexpr (std::is_same_v<T, Txn>) {
          out["txn"] = ToJsonValue(a);
        } else if constexpr (std::is_same_v<T, CommitInfo>) {
          json parsed = json::parse(a.json, nullptr, /*allow_exceptions=*/false);
          out["commitInfo"] = parsed.is_discarded() ? json::object() : parsed;
        } else {
          json parsed = json::parse(a.json, nullptr, /*allow_exceptions=*/false);
          out[a.kind] = parsed.is_discarded() ? json::object() : parsed;
        }
      },
      action);
  // Invalid UTF-8 in a value must not throw: replace it.
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Action> ActionFromJson(std::string_view line) {
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Invalid("not valid JSON");
  if (!doc.is_object() || doc.size() != 1) {
    return Status::Invalid("an action must be a JSON object with exactly one key");
  }
  auto first = doc.begin();  // iterators, not items(): the proxy must outlive key()
  const std::string key = first.key();
  const json& value = first.value();
  if (!value.is_object()) return Status::Invalid("action '", key, "' is not an object");
  Reader r{value, key};
  if (key == "protocol") return ParseProtocol(r);
  if (key == "metaData") return ParseMetadata(r);
  if (key == "add") return ParseAdd(r);
  if (key == "remove") return ParseRemove(r);
  if (key == "txn") return ParseTxn(r);
  if (key == "commitInfo")
    return CommitInfo{value.dump(-1, ' ', false, json::error_handler_t::replace)};
  return OtherAction{key, value.dump(-1, ' ', false, json::error_handler_t::replace)};
}

std::string CommitToJson(const std::vector<Action>& actions) {
  std::string out;
  for (const auto& a : actions) {
    out += ActionToJson(a);
    out += '\n';
  }
  return out;
}

Result<std::vector<Action>> CommitFromJson(std::string_view text, const std::string& where) {
  std::vector<Action> out;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) {
      auto action = ActionFromJson(line);
      if (!action.ok()) {
        return Status::Invalid(where, " line ", line_no, " (byte offset ", pos,
                               "): ", action.status().message());
      }
      out.push_back(std::move(*action));
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace sluice::delta
