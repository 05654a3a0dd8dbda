#include "sluice/delta/checkpoint_queue.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "sluice/delta/checkpointer.h"
#include "sluice/delta/log_path.h"

namespace sluice::delta {

CheckpointQueue::CheckpointQueue() {
  worker_ = std::thread([this] { Work(); });
}

CheckpointQueue::~CheckpointQueue() {
  Drain();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void CheckpointQueue::Enqueue(std::shared_ptr<const Snapshot> snapshot) {
  // Outside the lock: an object store's Describe is a call into its client.
  std::string key = snapshot->store().Describe("");
  const int64_t version = snapshot->version();
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.requested;
  Table& table = tables_[key];
  const int64_t newest =
      std::max({table.pointed, table.writing, table.waiting ? table.waiting->version() : -1});
  if (version <= newest) {
    ++stats_.skipped;  // as new or newer is written, under way or waiting
    return;
  }
  if (table.waiting) {
    ++stats_.skipped;  // superseded before the worker reached it
  } else {
    order_.push_back(std::move(key));
  }
  table.waiting = std::move(snapshot);
  table.waiting_late = CurrentLateBytes();
  wake_.notify_one();
}

void CheckpointQueue::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return order_.empty() && !busy_; });
}

CheckpointQueueStats CheckpointQueue::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<CheckpointFailure> CheckpointQueue::TakeFailures() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(failures_, {});
}

Status CheckpointQueue::Write(const Snapshot& snapshot, int64_t pointed) {
  // A background thread has nobody to catch for it: an exception (memory)
  // becomes a failed checkpoint, not a terminated process.
  try {
    ARROW_ASSIGN_OR_RAISE(LastCheckpoint last, WriteCheckpointFile(snapshot));
    if (snapshot.version() <= pointed) return Status::OK();
    return snapshot.store().Put(LastCheckpointPath(), LastCheckpointToJson(last));
  } catch (const std::exception& e) {
    return Status::UnknownError(e.what());
  }
}

void CheckpointQueue::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || !order_.empty(); });
    if (order_.empty()) return;  // stopping, and nothing left
    const std::string key = std::move(order_.front());
    order_.pop_front();
    Table& table = tables_[key];  // map nodes stay put while the lock is free
    std::shared_ptr<const Snapshot> snapshot = std::move(table.waiting);
    LateBytes late = std::move(table.waiting_late);
    table.waiting.reset();
    table.waiting_late.reset();
    const int64_t version = snapshot->version();
    const int64_t pointed = table.pointed;
    table.writing = version;
    busy_ = true;
    lock.unlock();
    int64_t bytes = 0;
    Status st;
    {
      BytesWrittenScope scope(&bytes);
      st = Write(*snapshot, pointed);
    }
    if (late) *late += bytes;
    snapshot.reset();  // its file list can be large: not kept under the lock
    lock.lock();
    table.writing = -1;
    busy_ = false;
    if (st.ok()) {
      ++stats_.written;
      table.pointed = std::max(table.pointed, version);
    } else {
      st = st.WithMessage("checkpoint of version ", version, " of ", key, ": ", st.message());
      ++stats_.failed;
      stats_.last_error = st.ToString();
      if (!table.reported) {
        table.reported = true;
        failures_.push_back({key, version, st});
      }
    }
    idle_.notify_all();
  }
}

}  // namespace sluice::delta
