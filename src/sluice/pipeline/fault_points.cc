#include "sluice/pipeline/fault_points.h"

#include <atomic>
#include <mutex>

namespace sluice::pipeline {

namespace {

std::atomic<bool> g_installed{false};
std::mutex g_mu;
FaultHook g_hook;

}  // namespace

void SetFaultHook(FaultHook hook) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_hook = std::move(hook);
  g_installed.store(static_cast<bool>(g_hook), std::memory_order_relaxed);
}

Status CheckFault(std::string_view point) {
  if (!g_installed.load(std::memory_order_relaxed)) return Status::OK();
  std::lock_guard<std::mutex> lock(g_mu);
  return g_hook ? g_hook(point) : Status::OK();
}

}  // namespace sluice::pipeline
