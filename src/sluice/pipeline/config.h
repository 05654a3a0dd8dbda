// Sluice's configuration: a TOML file (DESIGN.md §7) where every key can be
// overridden by an environment variable SLUICE_<SECTION>_<KEY>, plus the
// variables of the original Spark connector with their meaning
// (GENERATE_LOG_TABLE, CHECKPOINT_DIR, NAME, READ_FORMAT,
// FILE_READ_CONCURRENCY, DATASTREAM_TABLE_SOURCE_TYPE, BUCKET, SOURCE_PATH,
// DELTA_TABLE_NAME_PREFIX, DELTA_MERGE_FREQUENCY_MINUTES,
// DELTA_SCHEMA_EVOLUTION_STRATEGY, DELTA_TABLE_PATH). Precedence, lowest
// first: defaults, the file, connector variables, SLUICE_* variables.
// docs/configuration.md lists every key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/delta/data_writer.h"

namespace sluice::pipeline {

enum class SchemaEvolution { kMerge, kOverwrite, kNone };

struct TableConfig {
  std::vector<std::string> primary_keys;  ///< overrides the source's keys
  std::optional<bool> history;
  /// SCD2: only changes in these columns open a new history version; changes
  /// in the others update the current version in place. Empty: all columns.
  std::vector<std::string> track_history;
  std::optional<SchemaEvolution> schema_evolution;
  /// Pinned payload column types for JSON input ("decimal(7,2)", "long", …).
  std::map<std::string, std::string> column_types;
  /// Enforced columns in the order written (DMS `columns = {id = "long"}`):
  /// the names of CSV without a header, and the types cells are cast to.
  std::vector<std::pair<std::string, std::string>> columns;
};

struct Config {
  // [pipeline]
  std::string name = "sluice";
  int64_t merge_interval_ms = 60'000;
  /// The shortest time from one batch of a stream to its next while the
  /// stream keeps up (a batch that took all its input); a backlog is taken
  /// at once. 0: a batch as soon as input is there.
  int64_t batch_interval_ms = 0;
  /// A merge commit takes whole log commits until it holds this many rows.
  int64_t merge_max_rows = 1'000'000;
  /// A due merge runs alongside the next batch's ingest when the two
  /// (estimated in memory) fit in this many bytes; 0: never.
  int64_t merge_overlap_bytes = int64_t{384} << 20;
  SchemaEvolution schema_evolution = SchemaEvolution::kMerge;
  // [source]
  std::string source_kind = "datastream";
  std::string format = "avro";    ///< avro | json
  std::string source_path;        ///< directory or gs://bucket/prefix
  std::string table_source_type;  ///< local-directory | discovery-bucket
  int64_t max_files_per_batch = 2;
  int64_t poll_interval_ms = 10'000;
  /// File sources (docs/sources.md): a file on local disk is read once its
  /// modification time is this old and its format says it is whole; one
  /// that still looks cut after incomplete_timeout is read as it is.
  int64_t settle_ms = 2'000;
  /// File sources: a file larger than this is ingested in parts of this many
  /// bytes (each its own unit; formats that can be split); 0: never split.
  int64_t file_part_bytes = int64_t{64} << 20;
  /// Where large gzip source files are decompressed to be split (empty:
  /// `<temp dir>/sluice-spool`).
  std::string spool_dir;
  int64_t incomplete_timeout_ms = 30'000;
  /// Stream time after which a time folder is sealed into the cursor's
  /// watermark, and how often sealed folders are checked for late files.
  int64_t late_window_ms = 24LL * 3600 * 1000;
  int64_t late_check_interval_ms = 10LL * 60 * 1000;
  /// How many streams list their source at once before a poll's steps
  /// (1: one after the other).
  int list_concurrency = 16;
  // [source.datastream]
  std::string number_type = "decimal";  ///< BIGINT UNSIGNED as decimal(38,0) | string
  // The sections the sources declare (sources/source_registry.h:
  // [source.dms], [source.kafka] with [source.kafka.properties],
  // [source.debezium]): full key ("source.kafka.topics") -> value as text;
  // the source parses them (docs/dms.md, docs/debezium.md).
  std::map<std::string, std::string> source_settings;
  // [sink]
  std::string sink_path;
  std::string table_prefix;
  bool log_tables = true;
  bool history_tables = false;
  std::string merge_mode = "deletion_vectors";
  /// How long a deleted key's tombstone is kept (late older events for it are
  /// ignored for that long); "7d".
  int64_t tombstone_retention_ms = 7LL * 24 * 3600 * 1000;
  std::string checkpoint_dir;  ///< where cursors live; empty = in the tables
  /// Parquet codec of the data files Sluice writes (log, merged, history,
  /// dead letters, and their compaction): zstd | snappy | lz4 | gzip |
  /// uncompressed. Unset level: zstd 1, else the codec's default.
  std::string compression = "zstd";
  std::optional<int> compression_level;
  /// Table maintenance between batches (docs/maintenance.md): compaction of
  /// small files and of files whose DVs hide more than compact_deleted_ratio
  /// of their rows, and vacuum of unreferenced files past their retention.
  bool maintenance = true;
  int64_t maintenance_interval_ms = 10 * 60'000;
  double compact_deleted_ratio = 0.2;
  int64_t vacuum_interval_ms = 24LL * 3600 * 1000;
  /// Unset: the table's delta.deletedFileRetentionDuration, else 7 days.
  std::optional<int64_t> vacuum_retention_ms;
  int64_t checkpoint_interval = 10;
  /// `sluice run` writes those checkpoints on a background thread
  /// (delta/checkpoint_queue.h) instead of in the commit that reaches them.
  bool background_checkpoints = true;
  // [snapshot] (`sluice snapshot`, docs/snapshots.md)
  /// Dates before it are refused (YYYY-MM-DD; empty: no bound).
  std::string snapshot_start_date;
  /// Write dates as partitions of one table instead of a table per date.
  bool snapshot_partitioned = false;
  /// The date partition column of partitioned snapshots.
  std::string snapshot_partition_column = "snapshot_date";
  // [tables."db.table"]
  std::map<std::string, TableConfig> tables;
  // [storage]: object-store settings as the standard variables they stand
  // for (AWS_ENDPOINT_URL, AZURE_STORAGE_CONNECTION_STRING, …), only those
  // the environment does not already set (docs/configuration.md).
  std::map<std::string, std::string> storage;

  /// The per-table settings for `db.table` (empty defaults if none).
  TableConfig ForTable(const std::string& qualified_name) const;
};

/// How data files are written under `config` (codec and level).
delta::DataWriteOptions DataWriteOptionsFor(const Config& config);

/// Parses "10s", "500ms", "1m", "2h", "7d", or a bare number of seconds.
Result<int64_t> ParseDurationMs(const std::string& text);
Result<SchemaEvolution> ParseSchemaEvolution(const std::string& text);
const char* SchemaEvolutionName(SchemaEvolution s);

/// Every key of the sections Sluice itself declares ([pipeline], [source],
/// [sink], [snapshot]; not the sources' own sections nor [tables] and
/// [storage]), as "section.key": each is also SLUICE_<SECTION>_<KEY>.
const std::vector<std::string>& CoreConfigKeys();

/// Loads `path` (may be empty: defaults only) and applies `env` overrides.
/// Errors name the key and the bad value.
Result<Config> LoadConfig(const std::string& path, const std::map<std::string, std::string>& env);

/// The process environment as a map.
std::map<std::string, std::string> ProcessEnvironment();

/// Checks that what `sluice run` needs is set (source path, sink path, …).
Status ValidateForRun(const Config& config);

/// The standard variables a `[storage]` key may set, each named by its
/// lower-case form (`aws_region` -> AWS_REGION).
const std::vector<std::string>& StorageVariables();

/// Exports `config.storage` into the process environment, where every
/// client of a path reads it (Arrow's filesystems and the commit log's
/// object_store alike), so one configuration drives all I/O. Call before the
/// first filesystem is opened, while the process has one thread.
Status ApplyStorageSettings(const Config& config);

}  // namespace sluice::pipeline
