#include "sluice/core/arrow_init.h"

#include <arrow/compute/initialize.h>

namespace sluice {

Status InitArrowCompute() {
  static const Status status = arrow::compute::Initialize();
  return status;
}

namespace {
// Every binary linking sluice_core gets the kernels before main() runs, so
// no caller can forget (tests included).
[[maybe_unused]] const bool kInitialized = InitArrowCompute().ok();
}  // namespace

}  // namespace sluice
