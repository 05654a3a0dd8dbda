#include "sluice/delta/log_path.h"

#include <cctype>
#include <cstdio>

namespace sluice::delta {

namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

std::string Pad(int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*lld", width, static_cast<long long>(v));
  return buf;
}

}  // namespace

std::optional<LogPath> ParseLogFileName(std::string_view name) {
  if (name == "_last_checkpoint") {
    return LogPath{LogFileType::kLastCheckpoint, 0, 0, 0, std::string(name)};
  }
  if (name.size() < 21 || !AllDigits(name.substr(0, 20)) || name[20] != '.') return std::nullopt;
  LogPath out{LogFileType::kCommit, ToInt(name.substr(0, 20)), 0, 0, std::string(name)};
  std::string_view rest = name.substr(21);
  if (rest == "json") return out;
  if (rest == "crc") {
    out.type = LogFileType::kChecksum;
    return out;
  }
  if (rest == "checkpoint.parquet") {
    out.type = LogFileType::kCheckpoint;
    return out;
  }
  constexpr std::string_view kCkpt = "checkpoint.";
  if (rest.substr(0, kCkpt.size()) == kCkpt) {
    std::string_view tail = rest.substr(kCkpt.size());
    // %010d.%010d.parquet
    if (tail.size() == 10 + 1 + 10 + 8 && AllDigits(tail.substr(0, 10)) && tail[10] == '.' &&
        AllDigits(tail.substr(11, 10)) && tail.substr(21) == ".parquet") {
      out.type = LogFileType::kMultiPartCheckpoint;
      out.part = static_cast<int32_t>(ToInt(tail.substr(0, 10)));
      out.parts = static_cast<int32_t>(ToInt(tail.substr(11, 10)));
      if (out.part < 1 || out.part > out.parts) return std::nullopt;
      return out;
    }
    if (tail.size() > 5 && (tail.ends_with(".json") || tail.ends_with(".parquet"))) {
      out.type = LogFileType::kV2Checkpoint;
      return out;
    }
    return std::nullopt;
  }
  // %020d.compacted.json
  if (rest.size() == 20 + 15 && AllDigits(rest.substr(0, 20)) &&
      rest.substr(20) == ".compacted.json") {
    out.type = LogFileType::kCompaction;
    return out;
  }
  return std::nullopt;
}

std::string CommitPath(int64_t version) {
  return std::string(kLogDir) + "/" + Pad(version, 20) + ".json";
}

std::string CheckpointPath(int64_t version) {
  return std::string(kLogDir) + "/" + Pad(version, 20) + ".checkpoint.parquet";
}

std::string MultiPartCheckpointPath(int64_t version, int32_t part, int32_t parts) {
  return std::string(kLogDir) + "/" + Pad(version, 20) + ".checkpoint." + Pad(part, 10) + "." +
         Pad(parts, 10) + ".parquet";
}

std::string LastCheckpointPath() { return std::string(kLogDir) + "/_last_checkpoint"; }

std::string VersionPrefix(int64_t version) { return Pad(version, 20); }

}  // namespace sluice::delta
