#include "sluice/cli/json_log.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "sluice/core/clock.h"
#include "sluice/delta/civil_time.h"

namespace sluice::cli {

namespace {

std::string IsoTime(int64_t ms) {
  const int64_t days = delta::FloorDiv(ms, 86'400'000);
  auto date = delta::FormatDate(days);
  return (date.ok() ? *date : std::string("?")) + "T" +
         delta::FormatTimeOfDay((ms - days * 86'400'000) * 1'000'000, 3) + "Z";
}

// "3s", "2m05s", "4h01m", "701d22h" -> seconds.
std::optional<double> LagSeconds(const std::string& text) {
  static const std::regex part(R"((\d+)([dhms]))");
  double total = 0;
  bool any = false;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), part); it != std::sregex_iterator();
       ++it) {
    const double n = std::stod((*it)[1]);
    const char u = (*it)[2].str()[0];
    total += n * (u == 'd' ? 86400 : u == 'h' ? 3600 : u == 'm' ? 60 : 1);
    any = true;
  }
  return any ? std::optional<double>(total) : std::nullopt;
}

}  // namespace

std::string JsonLogLine(const std::string& raw, int64_t now_ms, std::string* last_table) {
  std::string line = raw;
  if (line.rfind("[sluice] ", 0) == 0) line = line.substr(9);
  std::string level = "info";
  if (line.find("STOPPED") != std::string::npos) {
    level = "error";
  } else if (line.find("retrying") != std::string::npos ||
             line.find("merged and history tables stopped") != std::string::npos ||
             line.find("late") != std::string::npos || line.find("changed") != std::string::npos ||
             line.find("checkpoint failed") != std::string::npos) {
    level = "warn";
  }
  // The table a line is about: "db.table_log v3: ...", "db.table v2 <- ...",
  // "db.table: ...", and the summary's "  db.table: ...".
  static const std::regex table_re(
      R"(^\s*([A-Za-z0-9_$-]+\.[A-Za-z0-9_$.-]+?)(_log|_history)?(\s+v\d+)?(:|\s+maintenance:|\s+<-))");
  nlohmann::json j;
  j["time"] = IsoTime(now_ms);
  j["level"] = level;
  std::smatch m;
  if (std::regex_search(line, m, table_re)) {
    j["table"] = m[1].str();
    if (last_table) *last_table = m[1].str();
  } else if (last_table && !last_table->empty() && line.rfind("    ", 0) == 0) {
    j["table"] = *last_table;  // a summary entry's continuation line
  } else {
    j["table"] = nullptr;
  }
  // Trim the summary's indentation from the message.
  size_t start = line.find_first_not_of(' ');
  j["message"] = start == std::string::npos ? "" : line.substr(start);
  nlohmann::json fields = nlohmann::json::object();
  static const std::regex version_re(R"(([^\s;]+) v(\d+)( <-|:))");
  static const std::regex files_re(R"((\d+) files?\b)");
  static const std::regex rows_re(R"((\d+) rows\b)");
  static const std::regex dead_re(R"((\d+) dead letters)");
  static const std::regex lag_re(R"(lag ((\d+[dhms])+))");
  for (auto it = std::sregex_iterator(line.begin(), line.end(), version_re);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    auto ends = [&](const std::string& suffix) {
      return name.size() > suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    const char* key = ends("_log")       ? "log_version"
                      : ends("_history") ? "history_version"
                                         : "merged_version";
    fields[key] = std::stoll((*it)[2]);
  }
  if (std::regex_search(line, m, files_re)) fields["files"] = std::stoll(m[1]);
  if (std::regex_search(line, m, rows_re)) fields["rows"] = std::stoll(m[1]);
  if (std::regex_search(line, m, dead_re)) fields["dead_letters"] = std::stoll(m[1]);
  if (std::regex_search(line, m, lag_re)) {
    if (auto s = LagSeconds(m[1].str())) fields["lag_seconds"] = *s;
  }
  j["fields"] = fields;
  return j.dump();
}

JsonLogStreambuf::~JsonLogStreambuf() {
  if (!line_.empty()) Emit();
}

std::streambuf::int_type JsonLogStreambuf::overflow(int_type ch) {
  if (ch == traits_type::eof()) return traits_type::not_eof(ch);
  if (ch == '\n') {
    Emit();
  } else {
    line_.push_back(static_cast<char>(ch));
  }
  return ch;
}

int JsonLogStreambuf::sync() {
  out_.flush();
  return 0;
}

void JsonLogStreambuf::Emit() {
  // Blank lines (the summary's spacing) carry nothing.
  if (line_.find_first_not_of(" \t\r") != std::string::npos) {
    out_ << JsonLogLine(line_, WallClockMs(), &last_table_) << '\n';
  }
  line_.clear();
}

}  // namespace sluice::cli
