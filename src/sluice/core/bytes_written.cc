#include "sluice/core/bytes_written.h"

#include <utility>

namespace sluice {

namespace {
thread_local int64_t* g_counter = nullptr;
thread_local LateBytes g_late;
}  // namespace

BytesWrittenScope::BytesWrittenScope(int64_t* counter, LateBytes late)
    : previous_(g_counter), previous_late_(std::move(g_late)) {
  g_counter = counter;
  g_late = std::move(late);
}

BytesWrittenScope::~BytesWrittenScope() {
  g_counter = previous_;
  g_late = std::move(previous_late_);
}

void CountBytesWritten(int64_t bytes) {
  if (g_counter != nullptr && bytes > 0) *g_counter += bytes;
}

LateBytes CurrentLateBytes() { return g_late; }

}  // namespace sluice
