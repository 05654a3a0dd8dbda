#include "sluice/cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sluice::cli {

namespace {

std::string Amount(double v, Progress::Unit unit) {
  char buf[48];
  if (unit == Progress::Unit::kFiles) {
    std::snprintf(buf, sizeof(buf), "%.0f files", v);
    return buf;
  }
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string Seconds(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%.0fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%dh%02dm", static_cast<int>(s / 3600),
                  static_cast<int>(s / 60) % 60);
  }
  return buf;
}

}  // namespace

Progress::Progress(std::string what, Unit unit, std::ostream& out, bool terminal,
                   int64_t plain_interval_ms)
    : what_(std::move(what)),
      unit_(unit),
      out_(out),
      terminal_(terminal),
      plain_interval_ms_(plain_interval_ms),
      start_(std::chrono::steady_clock::now()) {}

bool Progress::StderrIsTerminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && !(term && std::strcmp(term, "dumb") == 0);
}

std::string Progress::Line(bool final) const {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? done_ / secs : 0;
  std::string line = what_ + ": " + Amount(static_cast<double>(done_), unit_) + " of " +
                     Amount(static_cast<double>(total_), unit_);
  char pct[16];
  std::snprintf(
      pct, sizeof(pct), " (%.0f%%)",
      total_ > 0 ? 100.0 * static_cast<double>(done_) / static_cast<double>(total_) : 100.0);
  line += pct;
  line += ", " + Amount(rate, unit_) + "/s";
  if (final) {
    line += ", done in " + Seconds(secs);
  } else if (rate > 0 && total_ > done_) {
    line += ", ETA " + Seconds(static_cast<double>(total_ - done_) / rate);
  }
  return line;
}

void Progress::Update(int64_t done, int64_t total) {
  done_ = done;
  total_ = total;
  updated_ = true;
  const auto now = std::chrono::steady_clock::now();
  const auto since =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - last_draw_).count();
  if (terminal_) {
    if (since < 100) return;  // at most 10 redraws a second
    out_ << "\r\033[K" << Line(false) << std::flush;
  } else {
    if (last_draw_ != std::chrono::steady_clock::time_point{} && since < plain_interval_ms_) return;
    out_ << Line(false) << std::endl;
  }
  last_draw_ = now;
}

void Progress::Finish() {
  if (finished_ || !updated_) return;
  finished_ = true;
  if (terminal_) {
    out_ << "\r\033[K" << Line(true) << std::endl;
  } else {
    out_ << Line(true) << std::endl;
  }
}

}  // namespace sluice::cli
