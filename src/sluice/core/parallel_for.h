// ParallelFor: runs a body over indexes 0..count-1 on a few short-lived
// threads, for I/O-bound work whose items are independent (listing many
// table folders at once). Not a general pool: threads are made per call,
// which costs microseconds against the milliseconds of a request.
#pragma once

#include <cstddef>
#include <functional>

namespace sluice {

/// Calls `body(i)` once for every i in [0, count), on up to `threads`
/// threads (in this thread alone when `threads` < 2 or `count` < 2), and
/// returns when all calls have. Items are taken in index order, each by
/// whichever thread is free; `body` must be safe to run concurrently for
/// different indexes and must not throw.
void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& body);

}  // namespace sluice
