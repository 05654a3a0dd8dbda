#include "sluice/delta/checkpointer.h"

#include <arrow/buffer.h>

#include <chrono>

#include "sluice/core/bytes_written.h"
#include "sluice/core/clock.h"
#include "sluice/delta/checkpoint.h"
#include "sluice/delta/log_path.h"
#include "sluice/delta/retention.h"

namespace sluice::delta {

int64_t TombstoneRetentionMs(const Metadata& metadata) { return DeletedFileRetentionMs(metadata); }

Result<LastCheckpoint> WriteCheckpointFile(const Snapshot& snapshot) {
  int64_t now_ms = WallClockMs();
  int64_t horizon = now_ms - TombstoneRetentionMs(snapshot.metadata());
  std::vector<Action> actions;
  actions.reserve(snapshot.files().size() + snapshot.tombstones().size() + 2);
  actions.emplace_back(snapshot.protocol());
  actions.emplace_back(snapshot.metadata());
  for (const auto& [app, txn] : snapshot.txns()) actions.emplace_back(txn);
  int64_t num_adds = 0;
  for (const auto& add : snapshot.files()) {
    Add a = add;
    a.data_change = false;  // a checkpoint restates, it does not change data
    actions.emplace_back(std::move(a));
    ++num_adds;
  }
  for (const auto& rm : snapshot.tombstones()) {
    if (rm.deletion_timestamp.value_or(0) < horizon) continue;
    Remove r = rm;
    r.data_change = false;
    actions.emplace_back(std::move(r));
  }
  ARROW_ASSIGN_OR_RAISE(auto parquet, WriteCheckpointParquet(actions));
  auto& store = snapshot.store();
  ARROW_RETURN_NOT_OK(store.Put(CheckpointPath(snapshot.version()), parquet->ToString()));
  CountBytesWritten(parquet->size());
  LastCheckpoint last;
  last.version = snapshot.version();
  last.size = static_cast<int64_t>(actions.size());
  last.size_in_bytes = parquet->size();
  last.num_of_add_files = num_adds;
  return last;
}

Status WriteCheckpoint(const Snapshot& snapshot) {
  ARROW_ASSIGN_OR_RAISE(LastCheckpoint last, WriteCheckpointFile(snapshot));
  return snapshot.store().Put(LastCheckpointPath(), LastCheckpointToJson(last));
}

}  // namespace sluice::delta
