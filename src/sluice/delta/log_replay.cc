#include "sluice/delta/log_replay.h"

#include <arrow/buffer.h>

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "sluice/delta/checkpoint.h"
#include "sluice/delta/stats.h"

namespace sluice::delta {

namespace {

std::string FileKey(const std::string& path, const std::optional<DeletionVectorDescriptor>& dv) {
  return dv ? path + '\x1f' + dv->UniqueId() : path;
}

// Forward replay over an index keyed by file identity; the vector keeps
// insertion order so scans are deterministic.
//
// `only`, when given, holds every path the actions to apply name: only those
// files can change, so only they are indexed (a commit's few actions need not
// key every file of the table), and only they can make a tombstone live
// again (the state's tombstones are never live paths).
class Replayer {
 public:
  explicit Replayer(TableState& state, const std::unordered_set<std::string_view>* only = nullptr)
      : state_(state), only_(only) {
    for (size_t i = 0; i < state_.files.size(); ++i) {
      if (!Touched(state_.files[i].path)) continue;
      index_[FileKey(state_.files[i].path, state_.files[i].deletion_vector)] = i;
    }
  }

  void Apply(const Action& action) {
    if (auto* a = std::get_if<Add>(&action)) {
      std::string key = FileKey(a->path, a->deletion_vector);
      auto it = index_.find(key);
      if (it != index_.end()) {
        Count(state_.files[it->second], -1);
        state_.files.Replace(it->second, *a);
      } else {
        index_[key] = state_.files.size();
        state_.files.push_back(*a);
      }
      Count(*a, +1);
      removed_.erase(a->path);
    } else if (auto* r = std::get_if<Remove>(&action)) {
      auto it = index_.find(FileKey(r->path, r->deletion_vector));
      if (it != index_.end()) {
        Count(state_.files[it->second], -1);
        dead_.push_back(it->second);
        index_.erase(it);
      }
      removed_[r->path] = *r;
    } else if (auto* t = std::get_if<Txn>(&action)) {
      state_.txns[t->app_id] = *t;
    } else if (auto* p = std::get_if<Protocol>(&action)) {
      state_.protocol = *p;
      state_.has_protocol = true;
    } else if (auto* m = std::get_if<Metadata>(&action)) {
      state_.metadata = *m;
      state_.has_metadata = true;
    }
  }

  void Finish() {
    // A tombstone for a path that is live again (DV update = remove + add of
    // the same path) is not a tombstone. The index holds every live file that
    // can matter (the touched ones); their paths outlive the erase below
    // (the list shares its files).
    std::unordered_set<std::string_view> live;
    live.reserve(index_.size());
    for (const auto& [key, i] : index_) live.insert(state_.files[i].path);
    if (!dead_.empty()) {
      std::vector<bool> drop(state_.files.size(), false);
      for (size_t i : dead_) drop[i] = true;
      state_.files.Erase(drop);
    }
    std::vector<Remove> tombstones;
    for (auto& t : state_.tombstones) {
      if (!live.count(t.path) && !removed_.count(t.path)) tombstones.push_back(std::move(t));
    }
    for (auto& [path, r] : removed_) {
      if (!live.count(path)) tombstones.push_back(std::move(r));
    }
    state_.tombstones = std::move(tombstones);
  }

 private:
  bool Touched(std::string_view path) const { return !only_ || only_->count(path) > 0; }

  // Keeps state_.num_records (when tracked) in step with one file coming
  // (+1) or going (-1); a file without a count ends the tracking.
  void Count(const Add& file, int sign) {
    if (!state_.num_records) return;
    auto n = LiveRecordsOf(file);
    if (!n) {
      state_.num_records.reset();
      return;
    }
    *state_.num_records += sign * *n;
  }

  TableState& state_;
  const std::unordered_set<std::string_view>* only_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<size_t> dead_;
  std::map<std::string, Remove> removed_;
};

}  // namespace

std::optional<int64_t> LiveRecordsOf(const Add& file) {
  if (!file.stats) return std::nullopt;
  auto n = NumRecordsFromStats(*file.stats);
  if (!n.ok() || !n->has_value()) return std::nullopt;
  int64_t live = **n;
  if (file.deletion_vector) live -= file.deletion_vector->cardinality;
  return live;
}

void ApplyCommit(TableState& state, const std::vector<Action>& actions) {
  std::unordered_set<std::string_view> touched;
  for (const auto& a : actions) {
    if (auto* add = std::get_if<Add>(&a)) touched.insert(add->path);
    if (auto* rm = std::get_if<Remove>(&a)) touched.insert(rm->path);
  }
  Replayer replayer(state, &touched);
  for (const auto& a : actions) replayer.Apply(a);
  replayer.Finish();
}

Result<TableState> ReplayLog(io::LogStore& store, const LogSegment& segment) {
  TableState state;
  Replayer replayer(state);
  for (const auto& part : segment.checkpoint_parts) {
    ARROW_ASSIGN_OR_RAISE(std::string bytes, store.Read(part.path));
    auto buffer = std::make_shared<arrow::Buffer>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                  static_cast<int64_t>(bytes.size()));
    ARROW_ASSIGN_OR_RAISE(auto actions, ReadCheckpointParquet(buffer, store.Describe(part.path)));
    for (const auto& a : actions) replayer.Apply(a);
    state.timestamp_ms = std::max(state.timestamp_ms, part.modification_time_ms);
  }
  for (const auto& commit : segment.commits) {
    ARROW_ASSIGN_OR_RAISE(std::string text, store.Read(commit.path));
    ARROW_ASSIGN_OR_RAISE(auto actions, CommitFromJson(text, store.Describe(commit.path)));
    for (const auto& a : actions) replayer.Apply(a);
    state.timestamp_ms = commit.modification_time_ms;
  }
  replayer.Finish();
  state.version = segment.version;
  if (!state.has_protocol || !state.has_metadata) {
    return Status::Invalid("the Delta log ", store.Describe(kLogDir), " at version ",
                           segment.version, " has no ",
                           state.has_protocol ? "metaData" : "protocol", " action");
  }
  return state;
}

}  // namespace sluice::delta
