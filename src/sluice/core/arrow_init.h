// Since Arrow 21 most compute kernels (min_max, sort, …) live in
// libarrow_compute and must be registered once per process before use.
#pragma once

#include "sluice/core/status.h"

namespace sluice {

/// Registers Arrow's compute kernels; idempotent and thread-safe.
Status InitArrowCompute();

}  // namespace sluice
