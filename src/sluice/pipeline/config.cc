#include "sluice/pipeline/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <tuple>

#include "sluice/core/setting_text.h"
#include "sluice/io/storage_uri.h"
#include "sluice/pipeline/table_snapshot.h"
#include "sluice/sources/source_registry.h"

extern char** environ;

namespace sluice::pipeline {

namespace {

Result<bool> ParseBool(const std::string& key, const std::string& value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return Status::Invalid("configuration ", key, ": expected true or false, got '", value, "'");
}

Result<int64_t> ParseInt(const std::string& key, const std::string& value) {
  if (auto v = ParseInt64(value)) return *v;
  return Status::Invalid("configuration ", key, ": expected an integer, got '", value, "'");
}

// Applies one setting given as text, from the file or the environment.
// `key` is "section.key".
Status Apply(Config& c, const std::string& key, const std::string& value) {
  if (key == "pipeline.name") {
    c.name = value;
  } else if (key == "pipeline.merge_interval") {
    ARROW_ASSIGN_OR_RAISE(c.merge_interval_ms, ParseDurationMs(value));
  } else if (key == "pipeline.batch_interval") {
    ARROW_ASSIGN_OR_RAISE(c.batch_interval_ms, ParseDurationMs(value));
  } else if (key == "pipeline.merge_overlap_bytes") {
    ARROW_ASSIGN_OR_RAISE(c.merge_overlap_bytes, ParseInt(key, value));
    if (c.merge_overlap_bytes < 0) return Status::Invalid(key, " must be at least 0");
  } else if (key == "pipeline.merge_max_rows") {
    ARROW_ASSIGN_OR_RAISE(c.merge_max_rows, ParseInt(key, value));
    if (c.merge_max_rows < 1) return Status::Invalid(key, " must be at least 1");
  } else if (key == "pipeline.schema_evolution") {
    ARROW_ASSIGN_OR_RAISE(c.schema_evolution, ParseSchemaEvolution(value));
  } else if (key == "source.kind") {
    // Checked against the registered sources when the run starts
    // (sources/source_registry.h).
    if (value.empty()) return Status::Invalid("source.kind is empty");
    c.source_kind = value;
  } else if (key == "source.format") {
    // Which formats a source reads is its own check (e.g. dms: csv | parquet).
    if (value != "avro" && value != "json" && value != "csv" && value != "parquet") {
      return Status::Invalid("source.format: expected avro, json, csv or parquet, got '", value,
                             "'");
    }
    c.format = value;
  } else if (key == "source.path") {
    c.source_path = value;
  } else if (key == "source.table_source_type") {
    if (value != "local-directory" && value != "discovery-bucket") {
      return Status::Invalid("DATASTREAM_TABLE_SOURCE_TYPE: expected local-directory or ",
                             "discovery-bucket, got '", value, "'");
    }
    c.table_source_type = value;
  } else if (key == "source.list_concurrency") {
    ARROW_ASSIGN_OR_RAISE(int64_t n, ParseInt(key, value));
    if (n < 1 || n > 256) return Status::Invalid(key, " must be between 1 and 256");
    c.list_concurrency = static_cast<int>(n);
  } else if (key == "source.max_files_per_batch") {
    ARROW_ASSIGN_OR_RAISE(c.max_files_per_batch, ParseInt(key, value));
    if (c.max_files_per_batch < 1) return Status::Invalid(key, " must be at least 1");
  } else if (key == "source.poll_interval") {
    ARROW_ASSIGN_OR_RAISE(c.poll_interval_ms, ParseDurationMs(value));
  } else if (key == "source.spool_dir") {
    c.spool_dir = value;
  } else if (key == "source.file_part_bytes") {
    ARROW_ASSIGN_OR_RAISE(c.file_part_bytes, ParseInt(key, value));
    if (c.file_part_bytes < 0) return Status::Invalid(key, " must be at least 0");
  } else if (key == "source.settle_interval") {
    ARROW_ASSIGN_OR_RAISE(c.settle_ms, ParseDurationMs(value));
  } else if (key == "source.incomplete_timeout") {
    ARROW_ASSIGN_OR_RAISE(c.incomplete_timeout_ms, ParseDurationMs(value));
  } else if (key == "source.late_window") {
    ARROW_ASSIGN_OR_RAISE(c.late_window_ms, ParseDurationMs(value));
  } else if (key == "source.late_check_interval") {
    ARROW_ASSIGN_OR_RAISE(c.late_check_interval_ms, ParseDurationMs(value));
  } else if (key == "source.datastream.number_type") {
    if (value != "decimal" && value != "string") {
      return Status::Invalid(key, ": expected decimal or string, got '", value, "'");
    }
    c.number_type = value;
  } else if (key == "sink.path") {
    c.sink_path = value;
  } else if (key == "sink.table_prefix") {
    c.table_prefix = value;
  } else if (key == "sink.log_tables") {
    ARROW_ASSIGN_OR_RAISE(c.log_tables, ParseBool(key, value));
  } else if (key == "sink.history_tables") {
    ARROW_ASSIGN_OR_RAISE(c.history_tables, ParseBool(key, value));
  } else if (key == "sink.merge_mode") {
    if (value != "deletion_vectors" && value != "copy_on_write") {
      return Status::Invalid(key, ": expected deletion_vectors or copy_on_write, got '", value,
                             "'");
    }
    c.merge_mode = value;
  } else if (key == "sink.tombstone_retention") {
    ARROW_ASSIGN_OR_RAISE(c.tombstone_retention_ms, ParseDurationMs(value));
  } else if (key == "sink.checkpoint_dir") {
    c.checkpoint_dir = value;
  } else if (key == "sink.maintenance") {
    ARROW_ASSIGN_OR_RAISE(c.maintenance, ParseBool(key, value));
  } else if (key == "sink.maintenance_interval") {
    ARROW_ASSIGN_OR_RAISE(c.maintenance_interval_ms, ParseDurationMs(value));
  } else if (key == "sink.compact_deleted_ratio") {
    char* end = nullptr;
    double ratio = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !(ratio > 0 && ratio <= 1)) {
      return Status::Invalid(key, ": expected a share between 0 and 1, got '", value, "'");
    }
    c.compact_deleted_ratio = ratio;
  } else if (key == "sink.vacuum_interval") {
    ARROW_ASSIGN_OR_RAISE(c.vacuum_interval_ms, ParseDurationMs(value));
  } else if (key == "sink.vacuum_retention") {
    ARROW_ASSIGN_OR_RAISE(int64_t ms, ParseDurationMs(value));
    c.vacuum_retention_ms = ms;
  } else if (key == "sink.compression") {
    c.compression = value;
    std::transform(c.compression.begin(), c.compression.end(), c.compression.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
  } else if (key == "sink.compression_level") {
    ARROW_ASSIGN_OR_RAISE(int64_t level, ParseInt(key, value));
    if (level < INT32_MIN || level > INT32_MAX) {
      return Status::Invalid("configuration ", key, ": ", value, " is out of range");
    }
    c.compression_level = static_cast<int>(level);
  } else if (key == "sink.checkpoint_interval") {
    ARROW_ASSIGN_OR_RAISE(c.checkpoint_interval, ParseInt(key, value));
  } else if (key == "sink.background_checkpoints") {
    ARROW_ASSIGN_OR_RAISE(c.background_checkpoints, ParseBool(key, value));
  } else if (key == "snapshot.start_date") {
    if (!value.empty()) {
      auto date = ParseSnapshotDate(value);
      if (!date.ok()) return Status::Invalid(key, ": ", date.status().message());
    }
    c.snapshot_start_date = value;
  } else if (key == "snapshot.partitioned") {
    ARROW_ASSIGN_OR_RAISE(c.snapshot_partitioned, ParseBool(key, value));
  } else if (key == "snapshot.partition_column") {
    if (value.empty()) return Status::Invalid(key, " must not be empty");
    c.snapshot_partition_column = value;
  } else {
    // A key of a section a source declares ([source.dms], [source.kafka],
    // ...): an undeclared one is refused with the known ones.
    ARROW_ASSIGN_OR_RAISE(auto source_key, sources::SourceSettingName(key));
    if (!source_key) return Status::Invalid("unknown configuration key '", key, "'");
    c.source_settings[key] = value;
  }
  return Status::OK();
}

std::string NodeToText(const toml::node& node) {
  if (auto s = node.as_string()) return s->get();
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  if (auto f = node.as_floating_point()) {
    std::ostringstream os;
    os << f->get();
    return os.str();
  }
  if (auto a = node.as_array()) {
    std::string out;
    for (const auto& e : *a) out += (out.empty() ? "" : ",") + NodeToText(e);
    return out;
  }
  return "";
}

Status ApplyNested(Config& c, const std::string& prefix, const toml::table& t) {
  for (const auto& [k, v] : t) {
    std::string key = prefix + "." + std::string(k.str());
    if (v.is_table()) {
      ARROW_RETURN_NOT_OK(ApplyNested(c, key, *v.as_table()));
    } else {
      ARROW_RETURN_NOT_OK(Apply(c, key, NodeToText(v)));
    }
  }
  return Status::OK();
}

Status ApplyTable(Config& c, const std::string& table, const toml::table& t) {
  TableConfig& tc = c.tables[table];
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    std::string where = "tables.\"" + table + "\"." + key;
    if (key == "primary_keys") {
      tc.primary_keys = SplitList(NodeToText(v));
    } else if (key == "history") {
      ARROW_ASSIGN_OR_RAISE(bool h, ParseBool(where, NodeToText(v)));
      tc.history = h;
    } else if (key == "track_history") {
      tc.track_history = SplitList(NodeToText(v));
    } else if (key == "schema_evolution") {
      ARROW_ASSIGN_OR_RAISE(auto s, ParseSchemaEvolution(NodeToText(v)));
      tc.schema_evolution = s;
    } else if (key == "column_types" && v.is_table()) {
      for (const auto& [col, type] : *v.as_table())
        tc.column_types[std::string(col.str())] = NodeToText(type);
    } else if (key == "columns" && v.is_table()) {
      // An enforced schema whose order matters (CSV without a header):
      // toml++ keeps keys sorted, so restore the order they were written in.
      std::vector<std::tuple<toml::source_position, std::string, std::string>> cols;
      for (const auto& [col, type] : *v.as_table()) {
        cols.emplace_back(col.source().begin, std::string(col.str()), NodeToText(type));
      }
      std::sort(cols.begin(), cols.end(), [](const auto& a, const auto& b) {
        const auto &pa = std::get<0>(a), &pb = std::get<0>(b);
        return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
      });
      tc.columns.clear();
      for (auto& [pos, col, type] : cols) tc.columns.emplace_back(col, type);
    } else {
      return Status::Invalid("unknown configuration key '", where, "'");
    }
  }
  return Status::OK();
}

// A `[storage]` key: the lower-case name of a standard variable.
Status ApplyStorage(Config& c, const std::string& key, const std::string& value) {
  std::string var = key;
  std::transform(var.begin(), var.end(), var.begin(),
                 [](unsigned char ch) { return std::toupper(ch); });
  const auto& known = StorageVariables();
  if (std::find(known.begin(), known.end(), var) == known.end()) {
    std::string names;
    for (const auto& v : known) {
      std::string lower = v;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return std::tolower(ch); });
      names += (names.empty() ? "" : ", ") + lower;
    }
    return Status::Invalid("unknown configuration key 'storage.", key, "' (known: ", names, ")");
  }
  c.storage[var] = value;
  return Status::OK();
}

Status ApplyFile(Config& c, const std::string& path) {
  // Debian's toml++ is built with exceptions: parse errors are thrown.
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return Status::Invalid("configuration file ", path, " line ", err.source().begin.line, ": ",
                           std::string(err.description()));
  }
  for (const auto& [section, node] : root) {
    std::string sec(section.str());
    if (!node.is_table()) {
      return Status::Invalid("configuration file ", path, ": '", sec, "' must be a [section]");
    }
    if (sec == "storage") {
      for (const auto& [k, v] : *node.as_table()) {
        Status st = ApplyStorage(c, std::string(k.str()), NodeToText(v));
        if (!st.ok()) return st.WithMessage("configuration file ", path, ": ", st.message());
      }
      continue;
    }
    if (sec == "tables") {
      for (const auto& [name, t] : *node.as_table()) {
        if (!t.is_table())
          return Status::Invalid("tables.", std::string(name.str()), " must be a table");
        ARROW_RETURN_NOT_OK(ApplyTable(c, std::string(name.str()), *t.as_table()));
      }
      continue;
    }
    for (const auto& [k, v] : *node.as_table()) {
      std::string key = sec + "." + std::string(k.str());
      if (v.is_table()) {
        // [source.datastream], [source.kafka], [source.kafka.properties] (whose
        // keys may be dotted: "security.protocol" or security.protocol), …
        ARROW_RETURN_NOT_OK(ApplyNested(c, key, *v.as_table()));
        continue;
      }
      Status st = Apply(c, key, NodeToText(v));
      if (!st.ok()) return st.WithMessage("configuration file ", path, ": ", st.message());
    }
  }
  return Status::OK();
}

}  // namespace

TableConfig Config::ForTable(const std::string& qualified_name) const {
  auto it = tables.find(qualified_name);
  return it == tables.end() ? TableConfig{} : it->second;
}

Result<int64_t> ParseDurationMs(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return Status::Invalid("cannot parse duration '", text, "'");
  double n = std::stod(text.substr(0, i));
  std::string unit = text.substr(i);
  double ms;
  if (unit.empty() || unit == "s")
    ms = n * 1000;
  else if (unit == "ms")
    ms = n;
  else if (unit == "m" || unit == "min")
    ms = n * 60'000;
  else if (unit == "h")
    ms = n * 3'600'000;
  else if (unit == "d")
    ms = n * 86'400'000;
  else
    return Status::Invalid("cannot parse duration '", text, "' (units: ms, s, m, h, d)");
  return static_cast<int64_t>(ms);
}

Result<SchemaEvolution> ParseSchemaEvolution(const std::string& text) {
  if (text == "merge" || text == "mergeSchema") return SchemaEvolution::kMerge;
  if (text == "overwrite" || text == "overwriteSchema") return SchemaEvolution::kOverwrite;
  if (text == "none") return SchemaEvolution::kNone;
  return Status::Invalid("schema evolution strategy: expected merge (mergeSchema), overwrite ",
                         "(overwriteSchema) or none, got '", text, "'");
}

const char* SchemaEvolutionName(SchemaEvolution s) {
  switch (s) {
    case SchemaEvolution::kMerge:
      return "merge";
    case SchemaEvolution::kOverwrite:
      return "overwrite";
    case SchemaEvolution::kNone:
      return "none";
  }
  return "?";
}

const std::vector<std::string>& CoreConfigKeys() {
  static const std::vector<std::string> kKeys = {
      "pipeline.name",
      "pipeline.merge_interval",
      "pipeline.batch_interval",
      "pipeline.merge_max_rows",
      "pipeline.merge_overlap_bytes",
      "pipeline.schema_evolution",
      "source.kind",
      "source.format",
      "source.path",
      "source.table_source_type",
      "source.max_files_per_batch",
      "source.poll_interval",
      "source.settle_interval",
      "source.file_part_bytes",
      "source.spool_dir",
      "source.incomplete_timeout",
      "source.late_window",
      "source.late_check_interval",
      "source.list_concurrency",
      "source.datastream.number_type",
      "sink.path",
      "sink.table_prefix",
      "sink.log_tables",
      "sink.history_tables",
      "sink.merge_mode",
      "sink.checkpoint_dir",
      "sink.checkpoint_interval",
      "sink.background_checkpoints",
      "sink.compression",
      "sink.compression_level",
      "sink.tombstone_retention",
      "sink.maintenance",
      "sink.maintenance_interval",
      "sink.compact_deleted_ratio",
      "sink.vacuum_interval",
      "sink.vacuum_retention",
      "snapshot.start_date",
      "snapshot.partitioned",
      "snapshot.partition_column",
  };
  return kKeys;
}

Result<Config> LoadConfig(const std::string& path, const std::map<std::string, std::string>& env) {
  Config c;
  if (!path.empty()) ARROW_RETURN_NOT_OK(ApplyFile(c, path));

  auto get = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  // The original connector's variables.
  struct Legacy {
    const char* var;
    const char* key;
  };
  static const Legacy kLegacy[] = {
      {"GENERATE_LOG_TABLE", "sink.log_tables"},
      {"CHECKPOINT_DIR", "sink.checkpoint_dir"},
      {"NAME", "pipeline.name"},
      {"READ_FORMAT", "source.format"},
      {"FILE_READ_CONCURRENCY", "source.max_files_per_batch"},
      {"DATASTREAM_TABLE_SOURCE_TYPE", "source.table_source_type"},
      {"DELTA_TABLE_NAME_PREFIX", "sink.table_prefix"},
      {"DELTA_SCHEMA_EVOLUTION_STRATEGY", "pipeline.schema_evolution"},
      {"DELTA_TABLE_PATH", "sink.path"},
  };
  for (const auto& l : kLegacy) {
    if (auto v = get(l.var)) {
      Status st = Apply(c, l.key, *v);
      if (!st.ok()) return st.WithMessage(l.var, ": ", st.message());
    }
  }
  if (auto v = get("DELTA_MERGE_FREQUENCY_MINUTES")) {
    ARROW_ASSIGN_OR_RAISE(int64_t minutes, ParseInt("DELTA_MERGE_FREQUENCY_MINUTES", *v));
    c.merge_interval_ms = minutes * 60'000;
  }
  // BUCKET + SOURCE_PATH: a bucket means gs://BUCKET/SOURCE_PATH; without a
  // bucket SOURCE_PATH is a local directory.
  auto bucket = get("BUCKET");
  auto source_path = get("SOURCE_PATH");
  if (bucket) {
    c.source_path = "gs://" + *bucket + (source_path ? "/" + *source_path : "");
    if (c.table_source_type.empty()) c.table_source_type = "discovery-bucket";
  } else if (source_path) {
    c.source_path = *source_path;
  }

  // SLUICE_<SECTION>_<KEY> overrides everything.
  std::vector<std::string> keys = CoreConfigKeys();
  for (const auto& section : sources::SourceSettingSections()) {
    for (const auto& k : section.keys) keys.push_back(section.section + "." + k);
  }
  for (const std::string& key_text : keys) {
    const char* key = key_text.c_str();
    std::string var = "SLUICE_";
    for (const char* p = key; *p; ++p) {
      var += (*p == '.') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
    }
    if (auto v = get(var.c_str())) {
      Status st = Apply(c, key, *v);
      if (!st.ok()) return st.WithMessage(var, ": ", st.message());
    }
  }
  if (c.table_source_type.empty()) {
    c.table_source_type =
        c.source_path.rfind("gs://", 0) == 0 ? "discovery-bucket" : "local-directory";
  }
  // A variable set in the environment wins over the file's [storage] key.
  for (auto it = c.storage.begin(); it != c.storage.end();) {
    it = get(it->first.c_str()) ? c.storage.erase(it) : std::next(it);
  }
  if (Status st = delta::ValidateCompression(c.compression, c.compression_level); !st.ok()) {
    return Status::Invalid("configuration sink.compression: ", st.message());
  }
  return c;
}

delta::DataWriteOptions DataWriteOptionsFor(const Config& config) {
  delta::DataWriteOptions o;
  o.compression = config.compression;
  o.compression_level = config.compression_level;
  return o;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

Status ValidateForRun(const Config& c) {
  // A Kafka source has no path: its [source.kafka] names the cluster.
  const bool kafka = c.source_kind == "debezium";
  if (c.source_path.empty() && !kafka) {
    return Status::Invalid("no source: set source.path (or SOURCE_PATH / SLUICE_SOURCE_PATH)");
  }
  if (c.sink_path.empty()) {
    return Status::Invalid("no sink: set sink.path (or DELTA_TABLE_PATH / SLUICE_SINK_PATH)");
  }
  for (const auto* path : {&c.source_path, &c.sink_path, &c.checkpoint_dir}) {
    if (path->empty()) continue;
    auto parsed = io::ParseStorageUri(*path);
    if (!parsed.ok()) return parsed.status();
  }
  // The original connector's discovery-bucket lists a bucket (BUCKET +
  // SOURCE_PATH); local-directory reads a directory, or any location given
  // as a URI.
  if (!kafka && c.table_source_type == "discovery-bucket" && !io::IsObjectStoreUri(c.source_path)) {
    return Status::Invalid(
        "DATASTREAM_TABLE_SOURCE_TYPE=discovery-bucket needs a bucket: set BUCKET (with "
        "SOURCE_PATH the prefix inside it) or source.path = \"gs://bucket/prefix\"; got '",
        c.source_path, "'");
  }
  return Status::OK();
}

const std::vector<std::string>& StorageVariables() {
  static const std::vector<std::string> kVariables = {
      "AWS_ENDPOINT_URL",
      "AWS_ENDPOINT_URL_S3",
      "AWS_REGION",
      "AWS_DEFAULT_REGION",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_PROFILE",
      "AWS_SHARED_CREDENTIALS_FILE",
      "AWS_WEB_IDENTITY_TOKEN_FILE",
      "AWS_ROLE_ARN",
      "GOOGLE_APPLICATION_CREDENTIALS",
      "STORAGE_EMULATOR_HOST",
      "AZURE_STORAGE_CONNECTION_STRING",
      "AZURE_STORAGE_ACCOUNT_NAME",
      "AZURE_STORAGE_ACCOUNT_KEY",
      "AZURE_STORAGE_SAS_TOKEN",
      "AZURE_STORAGE_BLOB_ENDPOINT",
  };
  return kVariables;
}

Status ApplyStorageSettings(const Config& config) {
  for (const auto& [var, value] : config.storage) {
    if (::setenv(var.c_str(), value.c_str(), /*overwrite=*/0) != 0) {
      return Status::IOError("cannot set ", var, " from [storage]");
    }
  }
  return Status::OK();
}

}  // namespace sluice::pipeline
