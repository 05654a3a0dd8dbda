// Source: the one interface every CDC source implements (Datastream, DMS,
// Debezium/Kafka); the pipeline names no concrete source (docs/sources.md is
// the contract in prose).
//
// A source is a set of *streams*: independently ordered inputs that each
// restart from their own position (a Datastream table folder, a DMS table
// folder or CDC_TXN path, a Kafka topic). A stream hands out its pending
// input as *units* (a file, a range of messages) in a deterministic order,
// decodes a unit into change batches in the canonical schema
// (core/change_schema.h), each routed to the source table it belongs to, and
// describes the position after a run of units so that the pipeline can commit
// it in the Delta `txn` of the same commit as the rows.
//
// The pipeline drives a stream like this, one batch at a time:
//
//   Identify()              -> which table(s); wait while unknown
//   Restore(committed)      -> the position read back from the tables
//   Pending(max)            -> the next units (not yet ingested), in order
//   Decode(unit)            -> rows per table + bad records (thread-safe,
//                              called in parallel for the units of a batch)
//   PositionAfter(units)    -> the position once these units are committed
//   Advance(position)       -> after the commit landed
//
// Exactly once rests on three rules every source keeps:
//   1. Pending() after Restore(p) never returns a unit that p covers, and
//      returns every unit p does not cover, eventually (late units included).
//   2. Decode() is a pure function of the unit's bytes and its ordinal: the
//      same unit decodes to the same rows, with the same _cdc_seq, on every
//      attempt and in every process.
//   3. PositionAfter() is a pure function of the restored position and the
//      units: two processes that take the same units compute the same
//      position, so a losing writer's commit conflicts on the txn instead of
//      recording something else.
#pragma once

#include <arrow/type_fwd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sources {

/// A source table: where its rows go (`<sink>/<database>/<table>`).
struct SourceTable {
  std::string database;
  std::string table;
  std::string Qualified() const { return database + "." + table; }
  bool operator==(const SourceTable&) const = default;
};

/// One piece of input. `name` is what messages, dead letters and the commit
/// record show (a file path relative to the stream, `topic/partition@from`).
struct Unit {
  std::string name;
  int64_t bytes = 0;     ///< input size, for memory budgets (0: unknown)
  int64_t mtime_ms = 0;  ///< when the unit landed (0: unknown)
  uint64_t ordinal = 0;  ///< its place in the stream's order, set by Pending()
  /// A part of a large file: a file source splits a file larger than its
  /// part size into the byte ranges [part * part_bytes, min((part + 1) *
  /// part_bytes, file_bytes)), each its own unit with its own ordinal, so a
  /// batch never holds a whole large file; each format decides which of its
  /// records a range owns (the ones that start in it). parts == 0: the whole
  /// unit. `bytes` is then the range's length.
  int32_t part = 0;
  int32_t parts = 0;
  int64_t part_bytes = 0;
  int64_t file_bytes = 0;
  /// The ranges are over the file's decompressed content, spooled to local
  /// disk (gzip_spool.h): `file_bytes` is the content's size, `listed_bytes`
  /// the compressed file's.
  bool spooled = false;
  int64_t listed_bytes = 0;
  int64_t begin() const { return int64_t{part} * part_bytes; }
  int64_t end() const { return std::min(begin() + part_bytes, file_bytes); }
  /// How the commit record and messages name it: `name`, or `name#k/n`.
  std::string Label() const {
    return parts == 0 ? name : name + "#" + std::to_string(part + 1) + "/" + std::to_string(parts);
  }
};

/// A stored position state, seen from a stream's current position.
struct PlannedBatch {
  enum class Base {
    kHere,   ///< planned from the current position: `units` is its batch (not empty)
    kStale,  ///< planned from an older position, or adds nothing: it can never commit
    /// Planned from a newer position: another process committed since this
    /// stream read its position, so the state may be the committed one and
    /// must be kept (the caller reads its committed position again). Only
    /// sources whose state keys can collide across base positions say so.
    kAhead,
  };
  Base base = Base::kStale;
  std::vector<Unit> units;  ///< when base == kHere
};

/// Input that could not become change rows, for the dead-letter table.
struct BadRecord {
  std::string where;   ///< file (or topic/partition@offset) it came from
  int64_t offset = 0;  ///< byte offset in the unit, or the row index
  std::string reason;
  std::string raw;  ///< the bytes (or the row, printed)
};

/// The rows one unit holds for one table.
struct TableChanges {
  SourceTable table;
  /// Primary keys the source carries for the table; an empty list: the
  /// table has none. Unset when no row of `batches` names keys (a truncate
  /// alone has no message key): the table keeps the keys it has, rather
  /// than taking "none" for a change of keys.
  std::optional<std::vector<std::string>> primary_keys;
  /// Change batches in the canonical schema, in unit order.
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  /// Rows of this table that could not be made changes.
  std::vector<BadRecord> bad;
};

struct DecodedUnit {
  /// False when the unit is not complete yet (a file still being written):
  /// the pipeline takes no unit from it onwards in this batch and asks again
  /// later. `tables` and `bad` are then empty.
  bool complete = true;
  std::vector<TableChanges> tables;
  /// Input that cannot be routed to a table (a corrupt block): it goes to
  /// the dead letters of the stream's table (single-table streams) or of the
  /// stream (`<sink>/_dead_letters/<stream>`).
  std::vector<BadRecord> bad;
};

/// A stream's position: committed as one Delta `txn` action per offset
/// (appId = "<pipeline>/<stream id><offset.suffix>", version), in the same
/// commit as the rows, plus `state` for what does not fit in txn versions (a
/// file cursor), which the pipeline stores keyed by the first offset's
/// version, created once and never overwritten.
struct Position {
  struct Offset {
    std::string suffix;  ///< "" for a single offset, "#<partition>" for several
    int64_t version = 0;
    bool operator==(const Offset&) const = default;
  };
  std::vector<Offset> offsets;
  std::string state;
  /// The version under which `state` is stored (the first offset's).
  int64_t key() const { return offsets.empty() ? 0 : offsets.front().version; }
};

struct DecodeContext {
  int64_t ingested_at_us = 0;  ///< _cdc_ingested_at of every row
};

/// Per-table settings a source needs from the configuration.
struct SourceTableOptions {
  std::vector<std::string> primary_keys;  ///< overrides the source's keys
  /// Pinned column types for untyped input (JSON, CSV without a schema).
  std::map<std::string, std::shared_ptr<arrow::DataType>> column_types;
  /// An enforced schema, in order (DMS `columns`: the columns of CSV
  /// without a header, cast to these types; empty: none).
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> columns;
};

class Stream {
 public:
  virtual ~Stream() = default;

  /// Stable name of the stream (a folder, a topic): part of every txn appId,
  /// so it must never change for the same input.
  virtual const std::string& id() const = 0;

  /// True when one unit may carry rows of several tables (a Kafka topic
  /// routed by `source.table`, DMS CDC_TXN files). Such a stream's position
  /// is also kept as a stream checkpoint by the pipeline.
  virtual bool routes_many() const { return false; }

  /// The table a single-table stream feeds, once it can be told (file
  /// sources read it from the first complete unit); nullopt while nothing
  /// has landed, and the pipeline waits. Multi-table streams return nullopt.
  virtual Result<std::optional<SourceTable>> Identify() = 0;

  /// Restores the stream to `committed` (nullopt: nothing committed yet).
  /// Fails when the state cannot be read (named in the message).
  virtual Status Restore(const std::optional<Position>& committed) = 0;

  /// The next units after the current position, in order, at most
  /// `max_units`. Empty: nothing ready now (see waiting()).
  virtual Result<std::vector<Unit>> Pending(size_t max_units) = 0;

  /// Does ahead the I/O the next Pending() would start with (a file source
  /// lists its folder), so that a runner with many streams can do it for
  /// all of them at once on a pool instead of one after the other: the
  /// next Pending() uses what it fetched instead of fetching again. Called
  /// from any thread, never at the same time as another call on this
  /// stream. A failure here is not reported: Pending() fetches again and
  /// returns it. Default: nothing to do ahead.
  virtual void Prefetch() {}

  /// True when units exist that are not ready yet (a file settling): a
  /// drain-and-exit run waits for them instead of exiting.
  virtual bool waiting() const { return false; }

  /// How many units the last Pending() call saw and did not return (listed
  /// files not taken: beyond `max_units`, or not ready yet), for the backlog
  /// gauge; nullopt when the stream cannot tell (or Pending() was not called
  /// since Restore()).
  virtual std::optional<int64_t> pending_count() const { return std::nullopt; }

  /// Messages the source holds beyond the current position (Kafka's
  /// consumer lag: each partition's high watermark at the last Pending()
  /// call minus its next offset, summed over the partitions this process
  /// reads); nullopt for sources without messages (files).
  virtual std::optional<int64_t> lag_messages() const { return std::nullopt; }

  /// Decodes one unit. Thread-safe. Bad input is returned as BadRecords,
  /// never as an error; an error means the input could not be read (an I/O
  /// failure: the batch is retried).
  virtual Result<DecodedUnit> Decode(const Unit& unit, const DecodeContext& ctx) const = 0;

  /// The position once `units` (a prefix-closed run that Pending() returned,
  /// in order) are committed after the current one. Does not move the stream.
  virtual Result<Position> PositionAfter(const std::vector<Unit>& units) const = 0;

  /// What a stored position `planned` (a batch another process, or a
  /// crashed run, planned and may have committed) is to the current
  /// position: its batch when it was planned from here, else whether it is
  /// stale or ahead (PlannedBatch).
  virtual Result<PlannedBatch> Planned(const Position& planned) const = 0;

  /// Moves the stream to `position` (its commit landed).
  virtual void Advance(const Position& position) = 0;

  /// Warnings since the last call (a late file, a file changed after it was
  /// ingested), for the progress output.
  virtual std::vector<std::string> TakeNotices() { return {}; }
};

class Source {
 public:
  virtual ~Source() = default;

  /// The streams that exist now; called on every poll, so a stream that
  /// appears later starts without a restart. Sorted, stable ids.
  virtual Result<std::vector<std::string>> Discover() = 0;

  virtual Result<std::unique_ptr<Stream>> OpenStream(const std::string& id) = 0;

  /// "datastream avro files from /data/stream", for the first output line.
  virtual std::string Describe() const = 0;

  /// What one stream is to a user, in messages ("discovered topic 'x'").
  virtual std::string StreamNoun() const { return "table folder"; }
};

}  // namespace sluice::sources
