// The change stream `sluice demo` ingests, written exactly as Google
// Datastream writes a MySQL source to a Cloud Storage bucket in JSON:
//
//   <root>/<database>_<table>/yyyy/mm/dd/hh/mm/
//       <schema_key>_<read_method>_<task>_<shard>_<seq>.jsonl
//
// one event per line (uuid, read_timestamp, source_timestamp, object,
// read_method, stream_name, schema_key, sort_keys, source_metadata {table,
// database, primary_keys, log_file, log_position, change_type, is_deleted},
// payload). The database `shop` has two tables, `customers` and `orders`: a
// backfill (`mysql-backfill-fulldump`, one snapshot time, sort_keys
// [ts, "", 0]) of both, then minutes of binlog CDC (`mysql-cdc-binlog`:
// INSERT, UPDATE-INSERT with the whole new row, DELETE with the whole old
// row) interleaved across the two tables in one binlog, which rotates to the
// next file halfway. The minute folder is an event's source time (the
// backfill's start for backfill files); file names do not sort in time order,
// as real ones do not. Self-contained: `sluice demo` needs no Python.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::cli {

struct DemoColumn {
  std::string name;
  std::string delta_type;  ///< the MySQL column's type as a Delta type name
};

/// One table of the demo database.
struct DemoTableSpec {
  std::string database;
  std::string table;
  std::vector<std::string> primary_keys;
  std::vector<DemoColumn> columns;  ///< payload order

  /// "shop.orders"
  std::string qualified() const { return database + "." + table; }
  /// Datastream's object name and folder, "shop_orders".
  std::string object() const { return database + "_" + table; }
};

/// The demo database's tables: customers, then orders.
const std::vector<DemoTableSpec>& DemoTables();

struct DemoStreamOptions {
  int64_t rows = 2000;  ///< backfill rows over both tables (a fifth are customers); >= 1
  int batches = 6;      ///< minutes of CDC after the backfill; >= 0
  /// CDC changes per minute over both tables; 0: rows / 4, at least 20.
  int64_t changes_per_batch = 0;
  uint64_t seed = 42;  ///< same seed and end_ms: byte-identical files
  /// The last CDC minute ends here (epoch ms; rounded down to a minute).
  int64_t end_ms = 0;
};

/// What was written for one table (DemoTables() order).
struct DemoTableCounts {
  int64_t backfill = 0;
  int64_t inserts = 0;
  int64_t updates = 0;
  int64_t deletes = 0;
  int64_t files = 0;
  int64_t live_rows = 0;  ///< keys alive after the last event
};

struct DemoStreamStats {
  std::vector<DemoTableCounts> tables;
  int64_t events = 0;
  int64_t files = 0;
};

/// Invalid, naming the option as `sluice demo` spells it, when rows or
/// batches are out of range (rows 1..10M, batches 0..1440).
Status CheckDemoStreamOptions(const DemoStreamOptions& options);

/// Writes the stream under `root` (created if missing). Fails with
/// CheckDemoStreamOptions's error for out-of-range options and IOError naming the file that could
/// not be written; files written before an error are left in place.
Result<DemoStreamStats> WriteDemoStream(const std::string& root, const DemoStreamOptions& options);

}  // namespace sluice::cli
