// Progress of a long command (compact, vacuum) on stderr, so stdout stays
// what the command prints. On a terminal: one line redrawn in place with
// done/total, percent, rate and ETA. Otherwise (a log file, a pipe): a plain
// line at most every `plain_interval_ms`, and one at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace sluice::cli {

class Progress {
 public:
  enum class Unit { kBytes, kFiles };

  /// `what`: the line's prefix ("compact /lake/t"). `terminal`: draw in
  /// place (see StderrIsTerminal).
  Progress(std::string what, Unit unit, std::ostream& out, bool terminal,
           int64_t plain_interval_ms = 5000);

  /// True when stderr is a terminal (and TERM is not "dumb").
  static bool StderrIsTerminal();

  /// `done` of `total` so far; draws when due.
  void Update(int64_t done, int64_t total);
  /// The last line (on a terminal: ends the redrawn line). Idempotent; only
  /// after at least one Update.
  void Finish();

 private:
  std::string Line(bool final) const;

  std::string what_;
  Unit unit_;
  std::ostream& out_;
  bool terminal_;
  int64_t plain_interval_ms_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  int64_t done_ = 0;
  int64_t total_ = 0;
  bool updated_ = false;
  bool finished_ = false;
};

}  // namespace sluice::cli
