// Sources by kind: `source.kind` in the configuration picks a registered
// factory. Built-in sources (datastream; dms and debezium when they land)
// register themselves on first use; tests register their own (an in-memory
// source). Adding a source = implementing source.h and registering it here.
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
  /// [source.<kind>] keys, as text (each source documents and parses its own).
  std::map<std::string, std::string> settings;
  /// Per table ("<database>.<table>").
  std::map<std::string, SourceTableOptions> tables;
  // File sources (file_stream.h).
  int64_t settle_ms = 2'000;
  int64_t incomplete_timeout_ms = 30'000;
  int64_t late_window_ms = 24LL * 3600 * 1000;
  int64_t late_check_interval_ms = 10LL * 60 * 1000;
};

using SourceFactory = std::function<Result<std::unique_ptr<Source>>(const SourceOptions&)>;

/// Registers (or replaces) the factory of `kind`.
void RegisterSource(const std::string& kind, SourceFactory factory);

/// A source of `options.kind`; an unknown kind's error lists the known ones.
Result<std::unique_ptr<Source>> MakeSource(const SourceOptions& options);

/// The registered kinds, sorted.
std::vector<std::string> SourceKinds();

}  // namespace sluice::sources
