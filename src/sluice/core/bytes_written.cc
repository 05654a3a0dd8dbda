#include "sluice/core/bytes_written.h"

namespace sluice {

namespace {
thread_local int64_t* g_counter = nullptr;
}  // namespace

BytesWrittenScope::BytesWrittenScope(int64_t* counter) : previous_(g_counter) {
  g_counter = counter;
}

BytesWrittenScope::~BytesWrittenScope() { g_counter = previous_; }

void CountBytesWritten(int64_t bytes) {
  if (g_counter != nullptr && bytes > 0) *g_counter += bytes;
}

}  // namespace sluice
