#include "sluice/pipeline/source_options.h"

#include <nlohmann/json.hpp>

#include "sluice/delta/schema.h"
#include "sluice/io/filesystem_opener.h"
#include "sluice/io/tree_lister.h"

namespace sluice::pipeline {

Result<sources::SourceOptions> SourceOptionsFor(const Config& config) {
  sources::SourceOptions o;
  o.kind = config.source_kind;
  o.format = config.format;
  o.path = config.source_path;
  o.settings["number_type"] = config.number_type;
  for (const auto& [key, value] : config.source_settings) {
    ARROW_ASSIGN_OR_RAISE(auto name, sources::SourceSettingName(key));
    if (name) o.settings[*name] = value;
  }
  o.settle_ms = config.settle_ms;
  o.file_part_bytes = config.file_part_bytes;
  o.spool_dir = config.spool_dir;
  o.incomplete_timeout_ms = config.incomplete_timeout_ms;
  o.late_window_ms = config.late_window_ms;
  o.late_check_interval_ms = config.late_check_interval_ms;
  for (const auto& [qualified, table] : config.tables) {
    sources::SourceTableOptions t;
    t.primary_keys = table.primary_keys;
    for (const auto& [column, name] : table.column_types) {
      auto type = delta::ArrowTypeFromDeltaType(nlohmann::ordered_json(name), column);
      if (!type.ok()) {
        return Status::Invalid("tables.\"", qualified, "\".column_types.", column, ": ",
                               type.status().message());
      }
      t.column_types[column] = *type;
    }
    for (const auto& [column, name] : table.columns) {
      auto type = delta::ArrowTypeFromDeltaType(nlohmann::ordered_json(name), column);
      if (!type.ok()) {
        return Status::Invalid("tables.\"", qualified, "\".columns.", column, ": ",
                               type.status().message());
      }
      t.columns.emplace_back(column, *type);
    }
    o.tables[qualified] = std::move(t);
  }
  // The source reads its files through the store's filesystem, configured
  // like the sink's (docs/object_stores.md);
  // opened after the table options are checked, so a typo is reported
  // before any store is contacted.
  // A source without a path (Kafka) reads no filesystem.
  if (config.source_path.empty()) return o;
  ARROW_ASSIGN_OR_RAISE(auto location, io::OpenFileSystem(config.source_path));
  o.fs = std::move(location.fs);
  o.fs_root = std::move(location.root);
  if (io::IsObjectStore(*o.fs)) {
    ARROW_ASSIGN_OR_RAISE(o.lister, io::OpenTreeLister(config.source_path));
  }
  return o;
}

}  // namespace sluice::pipeline
