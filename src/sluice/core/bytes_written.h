// BytesWritten: the bytes a piece of work put in storage, counted where they
// are written (a data file, a deletion-vector file, a commit, a checkpoint:
// the writers in delta/ call CountBytesWritten) and attributed to whoever
// opened the scope on that thread (a pipeline step of one table). The writers
// need not know who they write for; work that opens no scope is not counted.
//
// Work a scope hands to another thread that may finish after the scope has
// ended (a checkpoint written in the background, delta/checkpoint_queue.h)
// counts into the scope's LateBytes instead: a shared, thread-safe counter
// its owner collects from later.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace sluice {

/// Bytes written on another thread for a scope's owner, after the fact.
using LateBytes = std::shared_ptr<std::atomic<int64_t>>;

/// While alive, bytes counted on this thread add to `*counter` (not owned;
/// must outlive the scope). Scopes nest: the innermost one counts, and the
/// outer one is restored when it ends. Work handed to another thread counts
/// only if that thread opens its own scope, or adds to CurrentLateBytes().
class BytesWrittenScope {
 public:
  /// `late` (may be null): where work handed off from inside this scope
  /// counts what it writes later (CurrentLateBytes).
  explicit BytesWrittenScope(int64_t* counter, LateBytes late = nullptr);
  ~BytesWrittenScope();
  BytesWrittenScope(const BytesWrittenScope&) = delete;
  BytesWrittenScope& operator=(const BytesWrittenScope&) = delete;

 private:
  int64_t* previous_;
  LateBytes previous_late_;
};

/// `bytes` were written to storage by this thread (once, when the write is
/// final: a file closed, an object put). No-op without a scope.
void CountBytesWritten(int64_t bytes);

/// The innermost scope's LateBytes on this thread (null without a scope, or
/// when it has none). Code that hands writing to another thread takes it
/// along and adds what that thread wrote.
LateBytes CurrentLateBytes();

}  // namespace sluice
