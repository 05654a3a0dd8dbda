#include "sluice/delta/vacuum.h"

#include <arrow/filesystem/filesystem.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "sluice/core/clock.h"
#include "sluice/delta/deletion_vector.h"
#include "sluice/delta/log_path.h"
#include "sluice/delta/retention.h"
#include "sluice/delta/table_reader.h"
#include "sluice/io/filesystem_opener.h"
#include "sluice/io/tree_lister.h"

namespace sluice::delta {

namespace {

bool Hidden(const std::string& name, bool is_dir) {
  if (name.empty() || name[0] == '.') return true;
  // A partition column may itself start with '_': `_col=value` is data.
  if (name[0] == '_') return !(is_dir && name.find('=') != std::string::npos);
  return false;
}

bool IsCandidateName(const std::string& name) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".parquet") || (name.rfind("deletion_vector_", 0) == 0 && ends_with(".bin"));
}

// Adds the data file and DV file of an add/remove to `paths` (absolute in
// location.fs). Paths outside local storage cannot be under the root.
template <typename Action>
void Reference(const io::TableLocation& location, const Action& a, std::set<std::string>* paths) {
  auto data = ResolveDataPath(location, a.path);
  if (data.ok()) paths->insert(*data);
  if (a.deletion_vector && a.deletion_vector->storage_type != 'i') {
    auto dv = DeletionVectorAbsolutePath(*location.fs, location.root, *a.deletion_vector);
    if (dv.ok()) paths->insert(*dv);
  }
}

struct Walk {
  const io::TableLocation& location;
  const std::set<std::string>& referenced;
  int64_t cutoff_ms;
  VacuumResult* result;
  std::vector<std::pair<std::string, int64_t>> doomed;  // absolute path, size

  // An object store: one recursive listing (Arrow's GCS filesystem lists no
  // folders without marker objects, so a walk would miss partitions).
  Status Objects(io::TreeLister& lister) {
    auto entries = lister.ListTreeAfter("", "");
    if (!entries.ok()) {
      return entries.status().WithMessage("vacuum of ", location.uri,
                                          ": cannot list it: ", entries.status().message());
    }
    for (const auto& e : *entries) {
      bool hidden = false;
      size_t pos = 0;
      for (size_t slash; (slash = e.path.find('/', pos)) != std::string::npos; pos = slash + 1) {
        hidden = hidden || Hidden(e.path.substr(pos, slash - pos), true);
      }
      const std::string name = e.path.substr(pos);
      if (hidden || Hidden(name, false) || !IsCandidateName(name)) continue;
      const std::string abs = io::JoinPath(location.root, e.path);
      if (referenced.count(abs)) {
        ++result->files_referenced;
        continue;
      }
      if (e.modification_time_ms >= cutoff_ms) {
        ++result->files_too_young;
        continue;
      }
      doomed.emplace_back(abs, e.size);
    }
    return Status::OK();
  }

  Status Dir(const std::string& dir) {
    arrow::fs::FileSelector selector;
    selector.base_dir = dir;
    selector.allow_not_found = true;
    selector.recursive = false;
    auto infos = location.fs->GetFileInfo(selector);
    if (!infos.ok()) {
      return infos.status().WithMessage("vacuum of ", location.uri, ": cannot list ", dir, ": ",
                                        infos.status().message());
    }
    for (const auto& info : *infos) {
      const std::string name = info.base_name();
      if (info.IsDirectory()) {
        if (!Hidden(name, true)) ARROW_RETURN_NOT_OK(Dir(info.path()));
        continue;
      }
      if (!info.IsFile() || Hidden(name, false) || !IsCandidateName(name)) continue;
      if (referenced.count(info.path())) {
        ++result->files_referenced;
        continue;
      }
      int64_t mtime_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(info.mtime().time_since_epoch())
              .count();
      if (mtime_ms >= cutoff_ms) {
        ++result->files_too_young;
        continue;
      }
      doomed.emplace_back(info.path(), info.size());
    }
    return Status::OK();
  }
};

std::string Relative(const io::TableLocation& location, const std::string& abs) {
  const std::string prefix = location.root + "/";
  return abs.rfind(prefix, 0) == 0 ? abs.substr(prefix.size()) : abs;
}

// Delta's metadata cleanup (see vacuum.h).
Status ExpireLog(const io::TableLocation& location, const Snapshot& snapshot,
                 const VacuumOptions& options, int64_t now_ms, VacuumResult* result) {
  auto enabled = snapshot.metadata().configuration.find("delta.enableExpiredLogCleanup");
  if (enabled != snapshot.metadata().configuration.end() && enabled->second == "false") {
    return Status::OK();
  }
  const int64_t retention = options.log_retention_ms.value_or(LogRetentionMs(snapshot.metadata()));
  const int64_t cutoff = now_ms - retention;
  ARROW_ASSIGN_OR_RAISE(auto files, location.log->ListFrom(kLogDir, ""));
  struct Checkpoint {
    int32_t expected = 0;
    int32_t found = 0;
    bool old = true;  // every part older than the cutoff
  };
  std::map<int64_t, Checkpoint> checkpoints;
  for (const auto& f : files) {
    auto parsed = ParseLogFileName(f.path.substr(f.path.rfind('/') + 1));
    if (!parsed || parsed->version > snapshot.version()) continue;
    if (parsed->type != LogFileType::kCheckpoint &&
        parsed->type != LogFileType::kMultiPartCheckpoint) {
      continue;
    }
    auto& c = checkpoints[parsed->version];
    c.expected = parsed->type == LogFileType::kCheckpoint ? 1 : parsed->parts;
    ++c.found;
    c.old = c.old && f.modification_time_ms < cutoff;
  }
  std::optional<int64_t> keep_from;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    // A classic and a multi-part checkpoint of one version count as one.
    if (it->second.old && it->second.found >= it->second.expected) {
      keep_from = it->first;
      break;
    }
  }
  if (!keep_from) return Status::OK();
  for (const auto& f : files) {
    auto parsed = ParseLogFileName(f.path.substr(f.path.rfind('/') + 1));
    if (!parsed || parsed->version >= *keep_from || f.modification_time_ms >= cutoff) continue;
    switch (parsed->type) {
      case LogFileType::kCommit:
      case LogFileType::kCheckpoint:
      case LogFileType::kMultiPartCheckpoint:
      case LogFileType::kChecksum:
        break;
      default:
        continue;  // v2 checkpoints, log compactions: not ours to judge
    }
    if (!options.dry_run) {
      Status st = location.log->Delete(f.path);
      if (!st.ok()) {
        return st.WithMessage("vacuum of ", location.uri, ": cannot delete ",
                              location.log->Describe(f.path), ": ", st.message());
      }
    }
    result->log_deleted.push_back(f.path);
  }
  return Status::OK();
}

}  // namespace

Result<VacuumResult> VacuumTable(const io::TableLocation& location,
                                 std::shared_ptr<const Snapshot> snapshot,
                                 const VacuumOptions& options) {
  const int64_t now = options.now_ms > 0 ? options.now_ms : WallClockMs();
  VacuumResult result;
  result.version = snapshot->version();
  result.dry_run = options.dry_run;
  result.retention_ms = options.retention_ms.value_or(DeletedFileRetentionMs(snapshot->metadata()));
  if (result.retention_ms < 0) {
    return Status::Invalid("vacuum of ", location.uri, ": negative retention");
  }
  result.cutoff_ms = now - result.retention_ms;

  std::set<std::string> referenced;
  for (const auto& add : snapshot->files()) Reference(location, add, &referenced);
  for (const auto& rm : snapshot->tombstones()) {
    // Readers of versions within the retention may still need these.
    if (rm.deletion_timestamp && *rm.deletion_timestamp >= result.cutoff_ms) {
      Reference(location, rm, &referenced);
    }
  }

  Walk walk{location, referenced, result.cutoff_ms, &result, {}};
  // On object stores the table's objects are listed and deleted through its
  // log store (object_store): one listing, and no directory markers that
  // Arrow's Azure filesystem would write when a "directory" empties.
  auto* lister =
      io::IsObjectStore(*location.fs) ? dynamic_cast<io::TreeLister*>(location.log.get()) : nullptr;
  if (lister != nullptr) {
    ARROW_RETURN_NOT_OK(walk.Objects(*lister));
  } else {
    ARROW_RETURN_NOT_OK(walk.Dir(location.root));
  }
  std::sort(walk.doomed.begin(), walk.doomed.end());
  for (const auto& [path, size] : walk.doomed) {
    if (!options.dry_run) {
      Status st = lister != nullptr ? location.log->Delete(Relative(location, path))
                                    : location.fs->DeleteFile(path);
      if (!st.ok()) {
        return st.WithMessage("vacuum of ", location.uri, ": cannot delete ", path, ": ",
                              st.message());
      }
    }
    result.deleted.push_back(Relative(location, path));
    result.bytes_deleted += size;
    if (options.progress) {
      options.progress(static_cast<int64_t>(result.deleted.size()),
                       static_cast<int64_t>(walk.doomed.size()));
    }
  }
  if (options.expire_log)
    ARROW_RETURN_NOT_OK(ExpireLog(location, *snapshot, options, now, &result));
  return result;
}

}  // namespace sluice::delta
