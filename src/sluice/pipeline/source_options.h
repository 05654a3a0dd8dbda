// The source's options from the pipeline configuration (sources/ knows no
// Config): path, format, per-table keys and pinned column types (Delta type
// names parsed here, where delta/ may be used), file-source timings, and
// the [source.<kind>] keys.
#pragma once

#include "sluice/pipeline/config.h"
#include "sluice/sources/source_registry.h"

namespace sluice::pipeline {

Result<sources::SourceOptions> SourceOptionsFor(const Config& config);

}  // namespace sluice::pipeline
