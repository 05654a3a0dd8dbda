#include "sluice/delta/commit_reader.h"

#include "sluice/delta/log_path.h"

namespace sluice::delta {

Result<std::vector<Action>> ReadCommit(io::LogStore& store, int64_t version) {
  const std::string path = CommitPath(version);
  auto text = store.Read(path);
  if (!text.ok()) {
    if (io::IsNotFound(text.status())) {
      return Status::KeyError("commit ", version, " (", store.Describe(path),
                              ") no longer exists: log entries older than the table's "
                              "delta.logRetentionDuration are cleaned up");
    }
    return text.status();
  }
  return CommitFromJson(*text, store.Describe(path));
}

Result<std::vector<Add>> DataFilesAddedIn(io::LogStore& store, int64_t version) {
  ARROW_ASSIGN_OR_RAISE(auto actions, ReadCommit(store, version));
  std::vector<Add> out;
  for (auto& action : actions) {
    if (auto* add = std::get_if<Add>(&action); add && add->data_change) {
      out.push_back(std::move(*add));
    }
  }
  return out;
}

}  // namespace sluice::delta
