// The wall clock, in the units Delta and the change schema use. One place,
// so no layer grows its own copy of the chrono incantation.
#pragma once

#include <cstdint>

namespace sluice {

/// Milliseconds since the Unix epoch (Delta timestamps, retention clocks).
int64_t WallClockMs();
/// Microseconds since the Unix epoch (`_cdc_ingested_at`, `_cdc_ts` bounds).
int64_t WallClockUs();

}  // namespace sluice
