// The standard process metrics every Prometheus client exports
// (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics),
// read from /proc at scrape time. Linux only; elsewhere (or if /proc is not
// mounted) the metrics that cannot be read are left out.
#pragma once

#include <optional>
#include <string>

namespace sluice::server {

struct ProcessStats {
  std::optional<double> cpu_seconds;  ///< user + system
  std::optional<double> resident_memory_bytes;
  std::optional<double> virtual_memory_bytes;
  std::optional<double> start_time_seconds;  ///< since the Unix epoch
  std::optional<double> open_fds;
  std::optional<double> max_fds;  ///< soft RLIMIT_NOFILE
};

/// \brief This process's figures from /proc/self; fields it cannot read stay
/// empty.
ProcessStats ReadProcessStats();

/// \brief `stats` as process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_start_time_seconds, process_open_fds,
/// process_max_fds in the text format 0.0.4 (HELP and TYPE lines included).
std::string RenderProcessMetrics(const ProcessStats& stats);

}  // namespace sluice::server
