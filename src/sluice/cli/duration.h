// Durations on the command line: "<number><unit>", unit ms, s, m, h, d or w
// ("168h", "7d", "0s"). The same grammar as the configuration's durations
// (pipeline/config.h), which the cli may not reach below for this; kept to
// these few lines.
#pragma once

#include <cstdint>
#include <string>

#include "sluice/core/status.h"

namespace sluice::cli {

Result<int64_t> ParseDurationArg(const std::string& text);

/// "168h", "7d", "90s", "250ms": the largest unit that divides evenly.
std::string FormatDuration(int64_t ms);

}  // namespace sluice::cli
