// What the status page, /api/status and /readyz show: plain structs the
// pipeline fills (one TableStatus per source table) and their JSON form.
// docs/operations.md documents the JSON document field by field; the status
// page (status_page.cc) is its only reader in this repository, so a field
// added here is added there too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/server/time_series.h"

namespace sluice::server {

enum class TableState {
  kRunning,     ///< caught up: applying changes as they arrive
  kCatchingUp,  ///< progressing through a backlog (first backfill, a restart)
  kStopped,     ///< not progressing; `state_reason` says why
};

/// "running", "catching_up", "stopped".
std::string_view TableStateName(TableState state);

struct DeadLetterSample {
  int64_t at_ms = 0;   ///< when it was written
  std::string reason;  ///< why the event was refused
  std::string origin;  ///< where it came from (file and offset, topic/partition/offset)
};

struct SchemaChangeRecord {
  int64_t at_ms = 0;
  std::string description;  ///< e.g. "added column note STRING"
  bool applied = true;      ///< false: refused (and usually the table stopped)
};

struct CommitRecord {
  std::string table;  ///< which Delta table: "log", "merged" or "history"
  int64_t version = 0;
  int64_t at_ms = 0;
  int64_t rows = 0;
  double duration_seconds = 0;
};

struct TableVersions {
  std::optional<int64_t> log;
  std::optional<int64_t> merged;   ///< empty when the table has no merged table yet
  std::optional<int64_t> history;  ///< empty when history tables are off
};

struct TableStatus {
  std::string name;    ///< source table, "db.table"
  std::string source;  ///< where it is read from (path, topic), for people
  TableState state = TableState::kRunning;
  std::string state_reason;             ///< required when stopped; optional otherwise
  std::optional<double> lag_seconds;    ///< now - newest source commit time applied
  std::optional<int64_t> backlog;       ///< source units pending (files listed, not yet taken)
  std::optional<int64_t> consumer_lag;  ///< Kafka messages not yet ingested; empty for files
  int64_t events_ingested = 0;
  int64_t rows_merged = 0;
  int64_t dead_letters = 0;  ///< count since the table was created
  TableVersions versions;
  std::optional<CommitRecord> last_commit;
  std::vector<DeadLetterSample> newest_dead_letters;  ///< newest first, a few
  std::vector<SchemaChangeRecord> schema_changes;     ///< newest first, a few
  std::vector<SeriesSample> series;                   ///< oldest first; StatusBoard fills it
};

struct PipelineStatus {
  std::string name;     ///< [pipeline] name
  std::string version;  ///< Sluice's version
  int64_t started_at_ms = 0;
  int64_t generated_at_ms = 0;
  int64_t series_interval_ms = 10'000;
  std::vector<TableStatus> tables;  ///< sorted by name
};

struct Readiness {
  bool ready = true;
  std::vector<std::string> stopped_tables;  ///< sorted
  /// "ready: N tables running or catching up" or
  /// "not ready: stopped: db.a (reason); db.b (reason)".
  std::string message;
};

/// \brief Ready when no table is stopped (a pipeline with no tables yet is
/// ready: discovery has not found any).
Readiness EvaluateReadiness(const PipelineStatus& status);

/// \brief The /api/status document (see docs/operations.md).
std::string StatusToJson(const PipelineStatus& status);

}  // namespace sluice::server
