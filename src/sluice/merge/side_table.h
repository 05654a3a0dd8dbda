// SideTable: a small hidden Delta table kept beside a merged or history
// table, `<table>/_sluice/<name>` (Spark's and delta-rs's VACUUM skip
// `_`-prefixed directories; readers only see files the main log names). The
// merged table's tombstones (tombstone_store.h) and the history table's
// orphan deletes (history_orphans.h) are such tables; this is what they
// share. A side table's rows carry
//
//   batch_version  int64               txn version of the batch that wrote it
//   <time column>  timestamp[us, UTC]  the retention clock of the row
//
// plus their own columns. Protocol, per commit of the owning table with txn
// (app_id, version):
//   1. side table first (Commit): skipped if its txn for app_id is already
//      >= version (a retried batch); else the new rows are committed with
//      that txn, and every file whose oldest row is past the retention
//      (add.tags[min_time_tag], in ms) is rewritten without its expired rows;
//   2. then the owning table's commit.
// A crash between 1 and 2 leaves rows of a batch the owner does not hold:
// Load() takes only rows with batch_version <= the owner's txn version, and
// the retried batch (same version) skips step 1.
//
// Side tables get one small file per batch, so they are compacted (with a
// tag rule that keeps the purge finding expired rows), checkpointed and
// vacuumed like their owner (Maintain).
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "sluice/delta/compaction.h"
#include "sluice/delta/maintenance.h"
#include "sluice/io/table_location.h"

namespace sluice::merge {

struct SideTableSpec {
  /// The table lives at `<owner root>/_sluice/<name>`.
  std::string name;
  /// Every column (non-nullable), batch_version and time_column included.
  std::shared_ptr<arrow::Schema> schema;
  /// The timestamp[us, UTC] column the retention is measured on.
  std::string time_column;
  /// add.tags key holding the oldest time_column value of a file (ms), so a
  /// purge only opens files that hold expired rows.
  std::string min_time_tag;
};

struct SideTableCommit {
  bool skipped = false;  ///< the side table already had this version
  int64_t written = 0;
  int64_t purged = 0;  ///< expired rows dropped
  int64_t files_rewritten = 0;
};

class SideTable {
 public:
  explicit SideTable(SideTableSpec spec) : spec_(std::move(spec)) {}

  const SideTableSpec& spec() const { return spec_; }

  /// `<owner root>/_sluice/<name>` in the same filesystem.
  Result<io::TableLocation> Location(const io::TableLocation& owner) const;

  /// Every row with batch_version <= `max_batch_version` and time >=
  /// `cutoff_ms`, in the spec's schema; null if the side table does not exist.
  Result<std::shared_ptr<arrow::Table>> Load(const io::TableLocation& owner,
                                             int64_t max_batch_version, int64_t cutoff_ms) const;

  /// Step 1 above. `rows` (the spec's schema; null = none) are written as
  /// given. With `purge_alone`, a purge that is due is committed even when
  /// there are no rows; otherwise nothing is committed without rows (the
  /// purge then waits for the next commit that writes some).
  ///
  /// `latest` (may be null) caches the side table between commits, so a
  /// commit does not list and replay its log: when it holds a snapshot, that
  /// is taken as the latest version (a stale one is caught by the commit's
  /// conflict check, then the commit is redone on a fresh read); on return
  /// it holds the side table after this call (null when unknown). Whoever
  /// else changes the side table (Maintain) resets it.
  ///
  /// `commit`: the owner's commit options, so the side table is checkpointed
  /// like its owner (interval, background queue).
  Result<SideTableCommit> Commit(const io::TableLocation& owner,
                                 const std::shared_ptr<arrow::Table>& rows,
                                 const std::string& app_id, int64_t version, int64_t now_ms,
                                 int64_t cutoff_ms, bool purge_alone,
                                 std::shared_ptr<const delta::Snapshot>* latest = nullptr,
                                 const delta::CommitOptions& commit = {}) const;

  /// `base` with the side table's tag rule: a compacted file's min_time_tag
  /// is the smallest of its inputs', or 0 ("check at the next purge") when
  /// an input has none.
  delta::CompactionOptions CompactionOptions(delta::CompactionOptions base = {}) const;

  /// Compaction (with CompactionOptions), then vacuum when due, as
  /// delta::MaintainTable does for the owner with `policy`; the vacuum
  /// schedule is `last_vacuum_ms` (read and updated). Nothing when the side
  /// table does not exist. A compaction that lost to a concurrent commit is
  /// left for the next call.
  Result<std::optional<delta::MaintenanceReport>> Maintain(const io::TableLocation& owner,
                                                           const delta::MaintenancePolicy& policy,
                                                           int64_t& last_vacuum_ms,
                                                           int64_t now_ms) const;

 private:
  /// Commit on `snapshot` (null: the side table does not exist); the
  /// committed snapshot in `*committed` when one was made.
  Result<SideTableCommit> CommitOn(const io::TableLocation& side,
                                   std::shared_ptr<const delta::Snapshot> snapshot,
                                   const std::shared_ptr<arrow::Table>& rows,
                                   const std::string& app_id, int64_t version, int64_t now_ms,
                                   int64_t cutoff_ms, const delta::CommitOptions& commit,
                                   std::shared_ptr<const delta::Snapshot>* committed) const;
  /// `rows` as data files tagged with their oldest time, added to `txn`.
  Status AddFiles(const io::TableLocation& side, const std::shared_ptr<arrow::Table>& rows,
                  delta::Transaction& txn) const;

  SideTableSpec spec_;
};

}  // namespace sluice::merge
