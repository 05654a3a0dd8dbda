#include "sluice/delta/log_segment.h"

#include <map>

#include "sluice/delta/checkpoint.h"

namespace sluice::delta {

namespace {

struct CheckpointCandidate {
  std::vector<io::FileEntry> parts;
  int32_t expected_parts = 0;
  bool v2 = false;
};

}  // namespace

Result<std::vector<std::pair<int64_t, io::FileEntry>>> ListCommits(io::LogStore& store,
                                                                   int64_t from_version) {
  ARROW_ASSIGN_OR_RAISE(auto files, store.ListFrom(kLogDir, VersionPrefix(from_version)));
  std::vector<std::pair<int64_t, io::FileEntry>> out;
  for (auto& f : files) {
    auto name = f.path.substr(f.path.rfind('/') + 1);
    auto parsed = ParseLogFileName(name);
    if (parsed && parsed->type == LogFileType::kCommit) out.emplace_back(parsed->version, f);
  }
  return out;
}

namespace {

Result<LogSegment> BuildLogSegmentOnce(io::LogStore& store, std::optional<int64_t> version) {
  // _last_checkpoint is only a hint to list less: a missing or unreadable one
  // just means listing from the start.
  int64_t list_from = 0;
  auto hint = store.Read(LastCheckpointPath());
  if (hint.ok()) {
    auto parsed = LastCheckpointFromJson(*hint);
    if (parsed.ok() && (!version || parsed->version <= *version)) list_from = parsed->version;
  }

  ARROW_ASSIGN_OR_RAISE(auto files, store.ListFrom(kLogDir, VersionPrefix(list_from)));
  std::map<int64_t, io::FileEntry> commits;
  std::map<int64_t, CheckpointCandidate> checkpoints;
  for (auto& f : files) {
    auto name = f.path.substr(f.path.rfind('/') + 1);
    auto parsed = ParseLogFileName(name);
    if (!parsed) continue;
    if (version && parsed->version > *version) continue;
    switch (parsed->type) {
      case LogFileType::kCommit:
        commits[parsed->version] = f;
        break;
      case LogFileType::kCheckpoint: {
        auto& c = checkpoints[parsed->version];
        c.parts = {f};
        c.expected_parts = 1;
        break;
      }
      case LogFileType::kMultiPartCheckpoint: {
        auto& c = checkpoints[parsed->version];
        if (c.expected_parts == 1 && c.parts.size() == 1 && !c.v2) break;  // prefer classic
        c.expected_parts = parsed->parts;
        c.parts.push_back(f);
        break;
      }
      case LogFileType::kV2Checkpoint:
        checkpoints[parsed->version].v2 = true;
        break;
      default:
        break;
    }
  }
  if (list_from > 0 && commits.empty() && checkpoints.empty()) {
    // The hint pointed past everything (or the log was truncated): list all.
    if (list_from != 0) {
      ARROW_ASSIGN_OR_RAISE(auto all, ListCommits(store, 0));
      for (auto& [v, f] : all) {
        if (!version || v <= *version) commits[v] = f;
      }
    }
  }

  LogSegment seg;
  if (commits.empty() && checkpoints.empty()) {
    return Status::KeyError("not a Delta table: no commits in ", store.Describe(kLogDir));
  }
  int64_t latest = commits.empty() ? checkpoints.rbegin()->first : commits.rbegin()->first;
  if (!checkpoints.empty()) latest = std::max(latest, checkpoints.rbegin()->first);
  if (version && *version > latest) {
    return Status::Invalid("version ", *version, " does not exist; the latest is ", latest);
  }
  seg.version = version.value_or(latest);

  // Newest complete classic/multi-part checkpoint.
  bool saw_v2_only = false;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    auto& c = it->second;
    bool complete =
        c.expected_parts > 0 && static_cast<int32_t>(c.parts.size()) == c.expected_parts;
    if (!complete) {
      if (c.v2) saw_v2_only = true;
      continue;
    }
    std::sort(c.parts.begin(), c.parts.end(),
              [](const io::FileEntry& a, const io::FileEntry& b) { return a.path < b.path; });
    seg.checkpoint_version = it->first;
    seg.checkpoint_parts = c.parts;
    break;
  }
  int64_t next = seg.checkpoint_version ? *seg.checkpoint_version + 1 : 0;
  for (auto& [v, f] : commits) {
    if (v < next) continue;
    if (v != next) {
      if (!seg.checkpoint_version && saw_v2_only) {
        return Status::NotImplemented(
            "table needs reader feature 'v2Checkpoint' (its log starts at a v2 checkpoint), which "
            "Sluice does not support");
      }
      return Status::Invalid("the Delta log ", store.Describe(kLogDir), " has a gap: version ",
                             next, " is missing before ", v);
    }
    seg.commits.push_back(f);
    ++next;
  }
  if (next - 1 != seg.version) {
    if (!seg.checkpoint_version && saw_v2_only) {
      return Status::NotImplemented(
          "table needs reader feature 'v2Checkpoint', which Sluice does not support");
    }
    return Status::Invalid("the Delta log ", store.Describe(kLogDir), " ends at version ", next - 1,
                           " but version ", seg.version, " was requested");
  }
  return seg;
}

}  // namespace

Result<LogSegment> BuildLogSegment(io::LogStore& store, std::optional<int64_t> version) {
  // A directory listing is not a snapshot: a commit linked while we list can
  // be missed while a later one is seen. A gap is only real if it persists.
  Result<LogSegment> seg;
  for (int attempt = 0; attempt < 5; ++attempt) {
    seg = BuildLogSegmentOnce(store, version);
    if (seg.ok() || seg.status().message().find("has a gap") == std::string::npos) return seg;
  }
  return seg;
}

}  // namespace sluice::delta
