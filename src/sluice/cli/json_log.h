// `--log-format json`: turns the progress lines a run prints into one JSON
// object per line for log shippers:
//   {"time":"2026-12-03T22:00:00.123Z","level":"info","table":"shop.orders",
//    "message":"shop.orders_log v3: 2 files, 40 rows, lag 3s","fields":{...}}
// `level` is "error" for a stopped table, "warn" for retries, late or changed
// files and stopped followers, else "info"; `table` is the "db.table" the
// line is about (null for run-wide lines); `fields` holds the figures the
// line states (version, files, rows, dead_letters, lag_seconds, ...).
// The human format stays the default; the text of `message` is the same.
#pragma once

#include <cstdint>
#include <ostream>
#include <streambuf>
#include <string>

namespace sluice::cli {

/// \brief The JSON object of one human progress line (without newline).
/// `last_table` (optional) carries the table of the previous line, for a
/// summary entry's indented continuation lines.
std::string JsonLogLine(const std::string& line, int64_t now_ms, std::string* last_table = nullptr);

/// A streambuf that collects lines and writes each as JsonLogLine to `out`.
class JsonLogStreambuf : public std::streambuf {
 public:
  explicit JsonLogStreambuf(std::ostream& out) : out_(out) {}
  ~JsonLogStreambuf() override;

 protected:
  int_type overflow(int_type ch) override;
  int sync() override;

 private:
  void Emit();
  std::ostream& out_;
  std::string line_;
  std::string last_table_;
};

}  // namespace sluice::cli
