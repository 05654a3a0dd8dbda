// CheckpointQueue: writes Delta checkpoints off the commit path. A commit
// that lands on a checkpoint version (transaction.h,
// CommitOptions::checkpoint_queue) hands its snapshot here and returns; one
// worker thread writes the checkpoint (checkpointer.h) soon after. A
// checkpoint costs O(files) and used to be paid inline by every tenth commit
// (docs/BENCHMARKS.md); snapshots are immutable, so writing one later, on
// another thread, writes exactly the state the commit made. A run
// (pipeline/runner.h) owns one queue for every table it writes.
//
// Bounded work: per table only the newest snapshot waiting is kept. If v20
// is being written when v30 and v40 are asked for, v30 is dropped (counted as
// skipped) and v40 is written next, so a table is never more than one
// checkpoint behind and the queue holds at most two snapshots per table (one
// being written, one waiting). A snapshot that is not newer than one written,
// being written or waiting for the same table is dropped the same way.
//
// A table is known by its store's Describe("") (the table root, which is
// also how errors name it), not by the store object: the pipeline reaches one
// table through several store objects (the event log opens its location on
// every flush, a reload opens a new one), and a freed store's address can be
// reused by another table's.
//
// Crash and race protocol, per checkpoint of version V (the steps of an
// inline checkpoint; only the thread differs):
//   1. `_delta_log/V.checkpoint.parquet` is put with LogStore::Put, which
//      creates or replaces it atomically (local: temporary file + rename;
//      object stores: one PUT), so no reader ever lists a partial file;
//   2. `_delta_log/_last_checkpoint` is pointed at V, unless this queue has
//      already pointed it at V or later (it never goes backwards within the
//      process).
// Commit V landed before V was queued. A crash (SIGKILL) before 1 leaves the
// table as if no checkpoint had been due: readers replay the JSON commits. A
// crash between 1 and 2 leaves a complete checkpoint the hint does not name:
// readers list the log and take the newest complete checkpoint anyway
// (log_segment.h), the hint only shortens the listing. A checkpoint written
// after the table moved on is still the exact state of V, and two writers
// (two processes, or this queue and `sluice checkpoint`) checkpointing V
// write the same state. Log expiry (vacuum.h) only deletes what lies before
// a checkpoint older than the log retention, never one being written.
//
// The bytes a checkpoint writes count for whoever enqueued it: Enqueue takes
// the caller's CurrentLateBytes (core/bytes_written.h) along, and the worker
// adds the checkpoint's size to it once written.
//
// Failures never fail anything: the commit has landed, a missing checkpoint
// only costs read time. Each is counted (stats()); the first of each table is
// kept for the owner to report (TakeFailures), once.
//
// Thread-safety: every method may be called from any thread. Enqueue must
// not be called once the destructor has started.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sluice/core/bytes_written.h"
#include "sluice/delta/snapshot.h"

namespace sluice::delta {

struct CheckpointQueueStats {
  int64_t requested = 0;  ///< Enqueue calls
  int64_t written = 0;    ///< checkpoints written
  /// Dropped unwritten: a newer snapshot of the same table was asked for
  /// (coalesced), or one as new was written or under way already.
  int64_t skipped = 0;
  int64_t failed = 0;
  std::string last_error;  ///< of the latest failure; empty when none
  // Once Drain() returns (and nothing is enqueued meanwhile):
  // requested == written + skipped + failed.
};

/// The first failed checkpoint of a table.
struct CheckpointFailure {
  std::string table;  ///< the store's Describe("")
  int64_t version = -1;
  Status status;
};

class CheckpointQueue {
 public:
  /// Starts the worker thread.
  CheckpointQueue();
  /// Drain(), then stops the worker.
  ~CheckpointQueue();
  CheckpointQueue(const CheckpointQueue&) = delete;
  CheckpointQueue& operator=(const CheckpointQueue&) = delete;

  /// Asks for a checkpoint of `snapshot` (not null) at its version, in its
  /// store, and returns at once without I/O; the file comment says which
  /// snapshots are written. The queue keeps `snapshot` (and so its store)
  /// alive until then. The bytes it writes go to the caller's
  /// CurrentLateBytes(), if any.
  void Enqueue(std::shared_ptr<const Snapshot> snapshot);

  /// Blocks until nothing is waiting or being written: every snapshot
  /// enqueued before the call is written, failed or skipped. (While other
  /// threads keep enqueueing it waits for a quiet moment.)
  void Drain();

  CheckpointQueueStats stats() const;

  /// Failures not taken yet, oldest first: the first failure of each table
  /// only, so a table whose storage keeps refusing is reported once over the
  /// queue's life.
  std::vector<CheckpointFailure> TakeFailures();

 private:
  struct Table {
    std::shared_ptr<const Snapshot> waiting;  ///< newest asked for, not started
    LateBytes waiting_late;                   ///< where its bytes count
    int64_t writing = -1;                     ///< version being written; -1: none
    int64_t pointed = -1;  ///< version this queue last pointed _last_checkpoint at
    bool reported = false;
  };

  void Work();
  /// Steps 1 and 2 of the file comment; the hint only if V > `pointed`.
  static Status Write(const Snapshot& snapshot, int64_t pointed);

  mutable std::mutex mu_;
  std::condition_variable wake_;         ///< work arrived, or stop
  std::condition_variable idle_;         ///< the worker finished a checkpoint
  std::map<std::string, Table> tables_;  ///< by Describe(""); never erased
  std::deque<std::string> order_;        ///< tables with a snapshot waiting, oldest request first
  bool busy_ = false;                    ///< the worker is writing one
  bool stop_ = false;
  CheckpointQueueStats stats_;
  std::vector<CheckpointFailure> failures_;  ///< not taken yet
  std::thread worker_;                       ///< last: starts once the rest exists
};

}  // namespace sluice::delta
