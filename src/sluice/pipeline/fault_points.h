// Fault points: named step boundaries of the pipeline (decode, log commit,
// follower commit, stream checkpoint, maintenance) where a test can inject
// a failure, to prove exactly once across every boundary. Without a hook
// installed a check is one relaxed atomic load.
#pragma once

#include <functional>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::pipeline {

/// Returns the status to fail `point` with (OK: go on).
using FaultHook = std::function<Status(std::string_view point)>;

/// Installs (or, with an empty hook, removes) the process-wide hook.
void SetFaultHook(FaultHook hook);

/// OK unless the installed hook fails `point`.
Status CheckFault(std::string_view point);

}  // namespace sluice::pipeline
