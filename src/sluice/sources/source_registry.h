// Sources by kind: `source.kind` in the configuration picks a registered
// factory. Built-in sources (datastream, dms, debezium) are registered on
// first use; tests register their own (an in-memory source). Adding a
// source = implementing source.h and registering it here, with the
// configuration sections it reads (source_settings.h).
#pragma once

#include <arrow/filesystem/type_fwd.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/io/tree_lister.h"
#include "sluice/sources/source.h"
#include "sluice/sources/source_settings.h"

namespace sluice::sources {

/// What every source gets from the configuration.
struct SourceOptions {
  std::string kind;    ///< datastream | dms | debezium | a test source
  std::string format;  ///< avro | json | parquet | csv
  std::string path;    ///< the source root: a directory or a URI
  /// Opened by the caller for `path` (null: the source opens it itself).
  std::shared_ptr<arrow::fs::FileSystem> fs;
  std::string fs_root;  ///< `path` as a path inside `fs`
  /// Object stores: lists `path` (a stream's folder from its cursor on,
  /// folders under the root); files are still read through `fs`.
  std::shared_ptr<io::TreeLister> lister;
  /// The keys of the sections the sources declare (RegisterSource), named by
  /// each section's settings_prefix, as text (each source documents and
  /// parses its own), and Datastream's number_type.
  std::map<std::string, std::string> settings;
  /// Per table ("<database>.<table>").
  std::map<std::string, SourceTableOptions> tables;
  // File sources (file_stream.h).
  int64_t settle_ms = 2'000;
  int64_t file_part_bytes = int64_t{64} << 20;
  std::string spool_dir;
  int64_t incomplete_timeout_ms = 30'000;
  int64_t late_window_ms = 24LL * 3600 * 1000;
  int64_t late_check_interval_ms = 10LL * 60 * 1000;
};

using SourceFactory = std::function<Result<std::unique_ptr<Source>>(const SourceOptions&)>;

/// Registers (or replaces) the factory of `kind` and the configuration
/// sections it reads (SourceOptions::settings then holds their keys).
void RegisterSource(const std::string& kind, SourceFactory factory,
                    std::vector<SourceSettingSection> settings = {});

/// A source of `options.kind`; an unknown kind's error lists the known ones.
Result<std::unique_ptr<Source>> MakeSource(const SourceOptions& options);

/// The registered kinds, sorted.
std::vector<std::string> SourceKinds();

/// The configuration sections of every registered source, sorted by name
/// (a section two kinds declare is listed once, as the first kind by name
/// declares it).
std::vector<SourceSettingSection> SourceSettingSections();

/// \brief SettingName (source_settings.h) over every registered source's
/// sections: the SourceOptions::settings name of `config_key`, std::nullopt
/// when no source reads its section, Invalid for an undeclared key in one.
Result<std::optional<std::string>> SourceSettingName(const std::string& config_key);

}  // namespace sluice::sources
