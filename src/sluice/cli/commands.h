// The `sluice` subcommands. Each returns a process exit code and prints its
// errors to stderr naming the table (and file) involved.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sluice::cli {

/// Parses argv and runs one subcommand; returns the process exit code.
int RunMain(int argc, char** argv);

/// The Parquet codec of the files a command writes (as sink.compression).
struct CodecArgs {
  std::string name = "zstd";
  std::optional<int> level;  ///< unset: the codec's default (zstd: 1)
};

struct WriteArgs {
  std::string table;
  std::string input;
  std::vector<std::string> partition_by;
  std::string mode = "append";
  int64_t target_file_size = 128LL << 20;
  int64_t checkpoint_interval = 10;
  CodecArgs codec;
  bool no_deletion_vectors = false;
  std::string txn;  ///< APP_ID=VERSION
};
int RunWrite(const WriteArgs& args);

struct DeleteArgs {
  std::string table;
  std::string key;
  std::string keys_from;
  bool copy_on_write = false;
  bool inline_dv = false;
};
int RunDelete(const DeleteArgs& args);

struct CatArgs {
  std::string table;
  std::optional<int64_t> version;
  std::string timestamp;
  std::string out;
};
int RunCat(const CatArgs& args);

struct RunArgs {
  std::string config;
  bool once = false;
  std::string shard;  ///< "i/n"
  std::string metrics;
  /// --http [ADDR]: serve /metrics, /healthz, /readyz, /api/status and /.
  bool http = false;
  std::string http_address;  ///< empty: server::kDefaultListenAddress
  std::string http_token;    ///< --http-token, else $SLUICE_HTTP_TOKEN
  bool http_insecure = false;
  /// --http-max-requests-per-second: each client address's sustained budget
  /// (burst: twice that); 0: no limit. 20/s is far above what honest
  /// clients send (Prometheus every 15 s, a probe every 10 s, the status
  /// page every 2 s per open tab) and, at ~0.1 ms of CPU a request, caps one
  /// client's cost at ~0.2 % of a core; the burst of 40 lets a person's
  /// curl loop or a few tabs through.
  double http_max_requests_per_second = 20;
  /// The event log `<sink>/_sluice/events` (pipeline/event_log.h).
  bool event_log = true;
  std::string event_log_retention = "30d";
  std::string log_format = "human";  ///< "human" or "json" (cli/json_log.h)
};
int RunRun(const RunArgs& args);

/// `sluice status SINK [--json]`: every source table's state, from the
/// event log and the tables it names (status_command.cc).
int RunStatus(const std::string& sink, bool json);

struct ReplayArgs {
  std::string log_table;
  std::string as_of;  ///< ISO 8601 UTC, epoch ms, or "now"
  std::string out;
  std::vector<std::string> keys;
  bool copy_on_write = false;
};
int RunReplay(const ReplayArgs& args);

struct SnapshotArgs {
  std::string config;
  std::string table;  ///< <database>.<table>
  std::string date;   ///< YYYY-MM-DD
  bool partitioned = false;
  bool rebuild = false;
};
int RunSnapshot(const SnapshotArgs& args);

int RunCheckpoint(const std::string& table);

struct CompactArgs {
  std::string table;
  int64_t target_file_size = 128LL << 20;
  int64_t small_file_size = 0;  ///< 0: target / 4
  int min_small_files = 5;
  double max_deleted_ratio = 0.2;
  int64_t max_bytes = 0;  ///< 0: no bound
  CodecArgs codec;
  bool no_side_tables = false;
};
int RunCompact(const CompactArgs& args);

struct VacuumArgs {
  std::string table;
  std::string retention;      ///< empty: the table's delta.deletedFileRetentionDuration
  std::string log_retention;  ///< empty: the table's delta.logRetentionDuration
  bool dry_run = false;
  bool no_side_tables = false;
};
int RunVacuum(const VacuumArgs& args);
int RunInspect(const std::string& table, bool json);

struct DemoArgs {
  std::string dir = "demo-out";
  int64_t rows = 2000;  ///< backfill rows over the demo's tables
  int batches = 6;      ///< minutes of CDC after the backfill
};
int RunDemo(const DemoArgs& args);

}  // namespace sluice::cli
