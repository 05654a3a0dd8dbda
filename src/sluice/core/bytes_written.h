// BytesWritten: the bytes a piece of work put in storage, counted where they
// are written (a data file, a deletion-vector file, a commit, a checkpoint:
// the writers in delta/ call CountBytesWritten) and attributed to whoever
// opened the scope on that thread (a pipeline step of one table). The writers
// need not know who they write for; work that opens no scope is not counted.
#pragma once

#include <cstdint>

namespace sluice {

/// While alive, bytes counted on this thread add to `*counter` (not owned;
/// must outlive the scope). Scopes nest: the innermost one counts, and the
/// outer one is restored when it ends. Work handed to another thread counts
/// only if that thread opens its own scope.
class BytesWrittenScope {
 public:
  explicit BytesWrittenScope(int64_t* counter);
  ~BytesWrittenScope();
  BytesWrittenScope(const BytesWrittenScope&) = delete;
  BytesWrittenScope& operator=(const BytesWrittenScope&) = delete;

 private:
  int64_t* previous_;
};

/// `bytes` were written to storage by this thread (once, when the write is
/// final: a file closed, an object put). No-op without a scope.
void CountBytesWritten(int64_t bytes);

}  // namespace sluice
