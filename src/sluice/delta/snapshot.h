// Snapshot: the immutable state of a Delta table at one version, the only
// entry point to table state (as in delta-kernel-rs). Built by listing the
// log (log_segment.h) and replaying it (log_replay.h).
#pragma once

#include <arrow/type_fwd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

#include "sluice/delta/log_replay.h"
#include "sluice/io/log_store.h"

namespace sluice::delta {

class Snapshot {
 public:
  /// The latest version, or `version`. Refuses tables that need a reader
  /// feature Sluice lacks (NotImplemented naming the feature).
  static Result<std::shared_ptr<const Snapshot>> Load(std::shared_ptr<io::LogStore> store,
                                                      std::optional<int64_t> version = {});
  /// The latest version committed at or before `timestamp_ms` (commit time
  /// is the commit file's modification time, made monotonic as Delta does).
  static Result<std::shared_ptr<const Snapshot>> LoadAsOf(std::shared_ptr<io::LogStore> store,
                                                          int64_t timestamp_ms);
  /// A snapshot built from state already in memory (after a commit).
  static Result<std::shared_ptr<const Snapshot>> FromState(std::shared_ptr<io::LogStore> store,
                                                           TableState state,
                                                           std::optional<int64_t> checkpoint);

  int64_t version() const { return state_.version; }
  const Protocol& protocol() const { return state_.protocol; }
  const Metadata& metadata() const { return state_.metadata; }
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  const FileList& files() const { return state_.files; }
  const std::vector<Remove>& tombstones() const { return state_.tombstones; }
  const std::map<std::string, Txn>& txns() const { return state_.txns; }
  /// The version recorded for `app_id`, if any (a pipeline's progress).
  std::optional<int64_t> TxnVersion(const std::string& app_id) const;
  std::optional<int64_t> checkpoint_version() const { return checkpoint_version_; }
  int64_t timestamp_ms() const { return state_.timestamp_ms; }
  const TableState& state() const { return state_; }
  io::LogStore& store() const { return *store_; }
  const std::shared_ptr<io::LogStore>& store_ptr() const { return store_; }
  /// Sum of numRecords over files minus DV cardinalities; nullopt if some
  /// file has no stats. Counted once per snapshot (then remembered), or
  /// carried over from the snapshot a commit started from (TableState).
  std::optional<int64_t> NumRecords() const;
  /// NumRecords if it is known without reading every file's stats (carried
  /// in the state, or counted already); nullopt otherwise. Thread-safe.
  std::optional<int64_t> KnownNumRecords() const;

 private:
  Snapshot() = default;
  mutable std::once_flag records_once_;
  mutable std::atomic<bool> records_counted_{false};
  mutable std::optional<int64_t> records_;
  std::shared_ptr<io::LogStore> store_;
  TableState state_;
  std::shared_ptr<arrow::Schema> schema_;
  std::optional<int64_t> checkpoint_version_;
};

}  // namespace sluice::delta
