// Every file name in _delta_log/ is built and parsed here, in one place
// (like leveldb's db/filename.h). Grammar:
//   commit            %020d.json
//   classic checkpoint %020d.checkpoint.parquet
//   multi-part        %020d.checkpoint.%010d.%010d.parquet   (part, parts)
//   v2 checkpoint     %020d.checkpoint.<uuid>.(json|parquet)
//   log compaction    %020d.%020d.compacted.json
//   checksum          %020d.crc
//   _last_checkpoint
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::delta {

inline constexpr const char* kLogDir = "_delta_log";

enum class LogFileType {
  kCommit,
  kCheckpoint,           ///< classic single file
  kMultiPartCheckpoint,  ///< one part of a multi-part checkpoint
  kV2Checkpoint,
  kCompaction,
  kChecksum,
  kLastCheckpoint,
};

struct LogPath {
  LogFileType type;
  int64_t version = 0;
  int32_t part = 0;   ///< multi-part only, 1-based
  int32_t parts = 0;  ///< multi-part only
  std::string name;   ///< file name within _delta_log
};

/// Parses a file name (no directory). std::nullopt for files that are not
/// part of the log (temporaries, unknown names), which replay ignores.
std::optional<LogPath> ParseLogFileName(std::string_view name);

/// "_delta_log/%020d.json"
std::string CommitPath(int64_t version);
/// "_delta_log/%020d.checkpoint.parquet"
std::string CheckpointPath(int64_t version);
/// "_delta_log/%020d.checkpoint.%010d.%010d.parquet"
std::string MultiPartCheckpointPath(int64_t version, int32_t part, int32_t parts);
/// "_delta_log/_last_checkpoint"
std::string LastCheckpointPath();
/// The prefix that sorts at or before every log file of `version`.
std::string VersionPrefix(int64_t version);

}  // namespace sluice::delta
