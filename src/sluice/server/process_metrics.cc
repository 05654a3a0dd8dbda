#include "sluice/server/process_metrics.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "sluice/server/metrics_registry.h"

namespace sluice::server {
namespace {

std::optional<std::string> ReadWhole(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Boot time in seconds since the epoch ("btime" in /proc/stat).
std::optional<double> BootTimeSeconds() {
  auto stat = ReadWhole("/proc/stat");
  if (!stat) return std::nullopt;
  std::istringstream lines(*stat);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return std::nullopt;
}

void Add(std::string* out, const char* name, const char* type, const char* help,
         const std::optional<double>& value) {
  if (!value) return;
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name,
                      FormatSampleValue(*value));
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

  // /proc/self/stat: "pid (comm) state ..." where comm may hold spaces and
  // parentheses, so fields are counted from the last ')'.
  if (auto stat = ReadWhole("/proc/self/stat")) {
    size_t close = stat->rfind(')');
    if (close != std::string::npos && ticks > 0) {
      std::istringstream fields(stat->substr(close + 1));
      std::vector<std::string> f;
      std::string word;
      while (fields >> word) f.push_back(word);
      // f[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
      if (f.size() > 22) {
        try {
          stats.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
          if (auto boot = BootTimeSeconds()) {
            stats.start_time_seconds = *boot + std::stod(f[19]) / ticks;
          }
          stats.virtual_memory_bytes = std::stod(f[20]);
          stats.resident_memory_bytes = std::stod(f[21]) * page;
        } catch (const std::exception&) {
          // A /proc we do not understand: leave the figures out.
        }
      }
    }
  }
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (!ec) {
    double n = 0;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      ++n;
    }
    // The iterator's own descriptor is listed too.
    if (!ec) stats.open_fds = n > 0 ? n - 1 : 0;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    stats.max_fds = static_cast<double>(limit.rlim_cur);
  }
  return stats;
}

std::string RenderProcessMetrics(const ProcessStats& stats) {
  std::string out;
  Add(&out, "process_cpu_seconds_total", "counter",
      "Total user and system CPU time spent in seconds.", stats.cpu_seconds);
  Add(&out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
      stats.resident_memory_bytes);
  Add(&out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
      stats.virtual_memory_bytes);
  Add(&out, "process_start_time_seconds", "gauge",
      "Start time of the process since unix epoch in seconds.", stats.start_time_seconds);
  Add(&out, "process_open_fds", "gauge", "Number of open file descriptors.", stats.open_fds);
  Add(&out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", stats.max_fds);
  return out;
}

}  // namespace sluice::server
