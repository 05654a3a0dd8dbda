#include "sluice/delta/transaction.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "sluice/core/bytes_written.h"
#include "sluice/core/clock.h"
#include "sluice/delta/checkpoint_queue.h"
#include "sluice/delta/checkpointer.h"
#include "sluice/delta/log_path.h"
#include "sluice/delta/table_features.h"

namespace sluice::delta {

std::string CommitConflictDetail::ToString() const {
  return "conflicting concurrent commit at version " + std::to_string(winning_version_);
}

bool IsCommitConflict(const Status& st) {
  return st.detail() && std::string(st.detail()->type_id()) == "sluice::CommitConflict";
}

namespace {

Status Conflict(int64_t version, const std::string& why) {
  return Status(arrow::StatusCode::Invalid,
                "commit conflict: version " + std::to_string(version) + " " + why,
                std::make_shared<CommitConflictDetail>(version));
}

}  // namespace

Transaction::Transaction(std::shared_ptr<const Snapshot> read_snapshot, std::string operation)
    : store_(read_snapshot->store_ptr()),
      read_snapshot_(std::move(read_snapshot)),
      operation_(std::move(operation)) {}

Transaction::Transaction(std::shared_ptr<io::LogStore> store, Protocol protocol, Metadata metadata,
                         std::string operation)
    : store_(std::move(store)),
      operation_(std::move(operation)),
      protocol_(std::move(protocol)),
      metadata_(std::move(metadata)) {}

void Transaction::SetTxn(const std::string& app_id, int64_t version) {
  for (auto& t : txns_) {
    if (t.app_id == app_id) {
      t.version = version;
      return;
    }
  }
  txns_.push_back(Txn{app_id, version, std::nullopt});
}

std::vector<Action> Transaction::BuildActions(int64_t now_ms) const {
  std::vector<Action> actions;
  nlohmann::json info = {{"timestamp", now_ms},
                         {"operation", operation_},
                         {"engineInfo", "sluice/0.1"},
                         {"isBlindAppend", removes_.empty()}};
  auto params = nlohmann::json::parse(operation_parameters_, nullptr, false);
  info["operationParameters"] = params.is_discarded() ? nlohmann::json::object() : params;
  if (read_snapshot_) info["readVersion"] = read_snapshot_->version();
  actions.emplace_back(CommitInfo{info.dump()});
  if (protocol_) actions.emplace_back(*protocol_);
  if (metadata_) actions.emplace_back(*metadata_);
  for (const auto& t : txns_) {
    Txn txn = t;
    txn.last_updated = now_ms;
    actions.emplace_back(std::move(txn));
  }
  for (const auto& r : removes_) {
    Remove rm = r;
    if (!rm.deletion_timestamp) rm.deletion_timestamp = now_ms;
    actions.emplace_back(std::move(rm));
  }
  for (const auto& a : adds_) actions.emplace_back(a);
  return actions;
}

Status Transaction::CheckConflict(int64_t version, const std::vector<Action>& winner) const {
  if (!read_snapshot_) return Conflict(version, "created the table concurrently");
  std::set<std::string> our_removed;
  for (const auto& r : removes_) our_removed.insert(r.path);
  std::set<std::string> our_apps;
  for (const auto& t : txns_) our_apps.insert(t.app_id);
  for (const auto& action : winner) {
    if (std::holds_alternative<Metadata>(action)) {
      return Conflict(version, "changed the table's metadata");
    }
    if (std::holds_alternative<Protocol>(action)) {
      return Conflict(version, "changed the table's protocol");
    }
    if (auto* r = std::get_if<Remove>(&action)) {
      if (our_removed.count(r->path)) {
        return Conflict(version, "also removed or updated file " + r->path);
      }
    }
    if (auto* t = std::get_if<Txn>(&action)) {
      if (our_apps.count(t->app_id)) {
        return Conflict(version, "advanced the progress of application '" + t->app_id + "' to " +
                                     std::to_string(t->version));
      }
    }
  }
  return Status::OK();
}

Result<CommitResult> Transaction::Commit(const CommitOptions& options) {
  if (read_snapshot_) {
    ARROW_RETURN_NOT_OK(CheckWriteSupported(protocol_.value_or(read_snapshot_->protocol()),
                                            metadata_.value_or(read_snapshot_->metadata())));
  } else {
    ARROW_RETURN_NOT_OK(CheckWriteSupported(*protocol_, *metadata_));
  }
  int64_t version = read_snapshot_ ? read_snapshot_->version() + 1 : 0;
  CommitResult result;
  std::vector<std::vector<Action>> winners;  // commits that landed since we read
  for (int attempt = 1; attempt <= options.max_attempts; ++attempt) {
    int64_t now_ms = WallClockMs();
    std::vector<Action> actions = BuildActions(now_ms);
    const std::string json = CommitToJson(actions);
    Status st = store_->PutIfAbsent(CommitPath(version), json);
    if (st.ok()) {
      CountBytesWritten(static_cast<int64_t>(json.size()));
      result.version = version;
      result.attempts = attempt;
      // The new snapshot: the read state plus the winners plus ours.
      TableState state = read_snapshot_ ? read_snapshot_->state() : TableState{};
      // The row count follows the commit's files (not a re-read of every
      // file's stats); a new table starts at zero rows.
      state.num_records = read_snapshot_ ? read_snapshot_->KnownNumRecords() : 0;
      for (const auto& w : winners) ApplyCommit(state, w);
      ApplyCommit(state, actions);
      if (protocol_) state.has_protocol = true;
      if (metadata_) state.has_metadata = true;
      state.version = version;
      state.timestamp_ms = now_ms;
      std::optional<int64_t> ckpt =
          read_snapshot_ ? read_snapshot_->checkpoint_version() : std::nullopt;
      ARROW_ASSIGN_OR_RAISE(result.snapshot, Snapshot::FromState(store_, std::move(state), ckpt));
      int64_t interval = options.checkpoint_interval;
      auto conf = result.snapshot->metadata().configuration.find("delta.checkpointInterval");
      if (conf != result.snapshot->metadata().configuration.end()) {
        interval = std::atoll(conf->second.c_str());
      }
      if (interval > 0 && version > 0 && version % interval == 0) {
        if (options.checkpoint_queue != nullptr) {
          // Off the commit path: the snapshot is immutable, so the queue
          // writes exactly this state later (checkpoint_queue.h).
          options.checkpoint_queue->Enqueue(result.snapshot);
          result.checkpoint_queued = true;
        } else {
          // The commit has landed; a failed checkpoint only costs read speed.
          result.checkpointed = WriteCheckpoint(*result.snapshot).ok();
        }
      }
      return result;
    }
    if (!st.IsAlreadyExists()) {
      return st.WithMessage("commit of version ", version, " to ", store_->Describe(kLogDir),
                            " failed: ", st.message());
    }
    // Lost the race: read every commit that landed since, decide whether
    // any conflicts, then try after the newest. A short random backoff keeps
    // two writers from staying in lock-step (one always losing).
    ARROW_ASSIGN_OR_RAISE(auto landed, ListCommits(*store_, version));
    if (landed.empty() || landed.front().first != version) {
      // The listing raced with the winner's link(); read the one we know of.
      landed.insert(landed.begin(), {version, io::FileEntry{CommitPath(version), 0, 0}});
    }
    for (const auto& [v, entry] : landed) {
      if (v < version) continue;
      ARROW_ASSIGN_OR_RAISE(std::string text, store_->Read(CommitPath(v)));
      ARROW_ASSIGN_OR_RAISE(auto winner, CommitFromJson(text, store_->Describe(CommitPath(v))));
      ARROW_RETURN_NOT_OK(CheckConflict(v, winner));
      winners.push_back(std::move(winner));
      version = v + 1;
    }
    if (attempt > 2) {
      thread_local std::mt19937 rng{std::random_device{}()};
      int max_ms = std::min(50, 1 << std::min(attempt, 6));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (max_ms + 1)));
    }
  }
  return Status::IOError("gave up committing to ", store_->Describe(kLogDir), " after ",
                         options.max_attempts,
                         " attempts lost to concurrent writers (last tried version ", version, ")");
}

}  // namespace sluice::delta
