#include "sluice/pipeline/stream_pipeline.h"

#include <arrow/record_batch.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "sluice/core/bytes_written.h"
#include "sluice/core/clock.h"
#include "sluice/delta/transaction.h"
#include "sluice/pipeline/fault_points.h"

namespace sluice::pipeline {

namespace {

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

bool Retryable(const Status& st) { return st.IsIOError() || delta::IsCommitConflict(st); }

// Stream checkpoint documents (multi-table streams).
std::string CheckpointJson(const sources::Position& p, const std::vector<std::string>& tables) {
  nlohmann::json offsets = nlohmann::json::array();
  for (const auto& o : p.offsets) offsets.push_back({o.suffix, o.version});
  return nlohmann::json{{"offsets", offsets}, {"state", p.state}, {"tables", tables}}.dump();
}

}  // namespace

std::map<std::string, int64_t> SplitBytesByRows(
    const std::vector<sources::Unit>& units,
    const std::vector<Result<sources::DecodedUnit>>& decoded) {
  std::map<std::string, int64_t> out;
  for (size_t k = 0; k < units.size() && k < decoded.size(); ++k) {
    if (!decoded[k].ok()) continue;
    std::vector<std::pair<std::string, int64_t>> rows;  // per table, in unit order
    int64_t total = 0;
    for (const auto& tc : decoded[k]->tables) {
      int64_t n = static_cast<int64_t>(tc.bad.size());
      for (const auto& b : tc.batches) n += b->num_rows();
      rows.emplace_back(tc.table.Qualified(), n);
      total += n;
    }
    if (total == 0) continue;
    // Each table its rounded-down share; what rounding left goes to the
    // table with the most rows, so the shares add up to the unit's bytes.
    int64_t given = 0;
    size_t largest = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const int64_t share =
          static_cast<int64_t>(static_cast<__int128>(units[k].bytes) * rows[i].second / total);
      out[rows[i].first] += share;
      given += share;
      if (rows[i].second > rows[largest].second) largest = i;
    }
    out[rows[largest].first] += units[k].bytes - given;
  }
  return out;
}

StreamPipeline::StreamPipeline(const Config& config, std::unique_ptr<sources::Stream> stream,
                               delta::CheckpointQueue* checkpoint_queue)
    : config_(config),
      stream_(std::move(stream)),
      checkpoint_queue_(checkpoint_queue),
      app_id_(config.name + "/" + stream_->id()) {}

StreamPipeline::~StreamPipeline() = default;

std::vector<const TableIngest*> StreamPipeline::tables() const {
  std::vector<const TableIngest*> out;
  for (const auto& [name, t] : tables_) out.push_back(t.ingest.get());
  return out;
}

std::string StreamPipeline::FollowerStopped(const std::string& qualified) const {
  auto it = tables_.find(qualified);
  return it == tables_.end() ? std::string() : it->second.follower_stopped;
}

std::vector<TableStep> StreamPipeline::LateSteps() {
  std::vector<TableStep> out;
  for (auto& [name, t] : tables_) {
    const int64_t bytes = t.late_bytes->exchange(0);
    if (bytes == 0) continue;
    TableStep step;
    step.table = name;
    step.bytes_written = bytes;
    out.push_back(std::move(step));
  }
  return out;
}

std::string StreamPipeline::name() const {
  if (!stream_->routes_many() && tables_.size() == 1) return tables_.begin()->first;
  return stream_->id();
}

TableStep& StreamPipeline::StepFor(StreamStep& step, const std::string& table) {
  for (auto& t : step.tables) {
    if (t.table == table) return t;
  }
  step.tables.push_back(TableStep{});
  step.tables.back().table = table;
  return step.tables.back();
}

Result<StreamPipeline::TableState*> StreamPipeline::TableFor(const sources::SourceTable& table) {
  const std::string qualified = table.Qualified();
  auto it = tables_.find(qualified);
  if (it != tables_.end()) return &it->second;
  auto ingest =
      std::make_unique<TableIngest>(config_, table, stream_->id(), app_id_, checkpoint_queue_);
  ARROW_RETURN_NOT_OK(ingest->Open());
  TableState& state = tables_[qualified];
  state.ingest = std::move(ingest);
  return &state;
}

Status StreamPipeline::Open() {
  tables_.clear();
  resume_.clear();
  if (stream_->routes_many()) {
    // The stream checkpoint names the tables and the position to resume from.
    ARROW_ASSIGN_OR_RAISE(auto sink, io::OpenTableLocation(config_.sink_path));
    checkpoints_ = std::make_unique<PositionStore>(
        sink.log, "_sluice/streams/" + config_.name + "/" + stream_->id() + "/");
    ARROW_ASSIGN_OR_RAISE(auto seqs, checkpoints_->After(0));
    std::optional<sources::Position> committed;
    checkpoint_seq_ = 0;
    if (!seqs.empty()) {
      checkpoint_seq_ = seqs.back();
      ARROW_ASSIGN_OR_RAISE(auto text, checkpoints_->Read(checkpoint_seq_));
      auto doc = nlohmann::json::parse(text.value_or(""), nullptr, false);
      if (doc.is_discarded() || !doc.is_object()) {
        return Status::Invalid("stream ", stream_->id(), ": checkpoint ",
                               checkpoints_->Describe(checkpoint_seq_), " is not valid");
      }
      sources::Position p;
      for (const auto& o : doc["offsets"]) {
        p.offsets.push_back({o[0].get<std::string>(), o[1].get<int64_t>()});
      }
      p.state = doc["state"].get<std::string>();
      for (const auto& name : doc["tables"]) {
        std::string qualified = name.get<std::string>();
        auto dot = qualified.find('.');
        ARROW_RETURN_NOT_OK(TableFor({qualified.substr(0, dot),
                                      dot == std::string::npos ? "" : qualified.substr(dot + 1)})
                                .status());
      }
      committed = std::move(p);
    }
    ARROW_RETURN_NOT_OK(stream_->Restore(committed));
    opened_ = true;
    return Status::OK();
  }
  // A single-table stream: its table's identity comes from its input; a
  // stream seen before its first unit landed waits (a folder named
  // "sales_eu_orders" must not become table "eu_orders" of "sales" by guess).
  ARROW_ASSIGN_OR_RAISE(auto table, stream_->Identify());
  if (!table) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto* state, TableFor(*table));
  TableIngest& ingest = *state->ingest;
  ARROW_ASSIGN_OR_RAISE(auto committed, ingest.Committed(/*with_state=*/true));
  ARROW_RETURN_NOT_OK(stream_->Restore(committed));
  // A position state stored after the committed one is a batch that was
  // planned (by a run that died, or by another process): redo exactly that
  // batch, so that its dead letters (already under that version) match.
  const int64_t done = committed ? committed->key() : 0;
  // States a run that died left behind, older than the committed one.
  ARROW_RETURN_NOT_OK(ingest.positions().Prune(done));
  committed_key_ = done;
  ARROW_ASSIGN_OR_RAISE(auto planned, ingest.positions().After(done));
  for (int64_t version : planned) {
    ARROW_ASSIGN_OR_RAISE(auto text, ingest.positions().Read(version));
    if (!text) continue;
    sources::Position p;
    p.offsets.push_back({"", version});
    p.state = *text;
    auto batch = stream_->Planned(p);
    if (batch.ok() && batch->base == sources::PlannedBatch::Base::kHere) {
      resume_ = std::move(batch->units);
      break;
    }
  }
  opened_ = true;
  return Status::OK();
}

void StreamPipeline::Prefetch() {
  if (opened_ && resume_.empty()) stream_->Prefetch();
}

Result<StreamStep> StreamPipeline::Step(bool drain) {
  auto result = StepOnce(drain);
  if (!result.ok()) {
    // A failed step may have written its position state, dead letters or a
    // commit: open again (re-reading the tables and the planned batch) so
    // the retry redoes exactly that batch, as after a restart.
    opened_ = false;
  }
  return result;
}

Status StreamPipeline::Ingest(std::vector<sources::Unit> units, StreamStep& step) {
  const int64_t ingested_at = WallClockUs();
  sources::DecodeContext ctx{ingested_at};
  // Decode the units in parallel (each is independent and pure), then take
  // their results in unit order.
  std::vector<Result<sources::DecodedUnit>> decoded;
  const size_t parallel = std::max(1u, std::thread::hardware_concurrency());
  for (size_t first = 0; first < units.size(); first += parallel) {
    std::vector<std::future<Result<sources::DecodedUnit>>> wave;
    for (size_t k = first; k < std::min(units.size(), first + parallel); ++k) {
      wave.push_back(std::async(std::launch::async, [&, k]() -> Result<sources::DecodedUnit> {
        ARROW_RETURN_NOT_OK(CheckFault("decode"));
        return stream_->Decode(units[k], ctx);
      }));
    }
    for (auto& w : wave) decoded.push_back(w.get());
  }
  // A unit not complete yet ends the batch there: it and the units after it
  // come again in a later batch (with the same ordinals).
  size_t taken = 0;
  for (; taken < decoded.size(); ++taken) {
    ARROW_RETURN_NOT_OK(decoded[taken].status());
    if (!decoded[taken]->complete) {
      step.waiting = true;
      break;
    }
  }
  units.resize(taken);
  decoded.resize(taken);
  if (units.empty()) return Status::OK();

  ARROW_ASSIGN_OR_RAISE(auto position, stream_->PositionAfter(units));
  std::vector<std::string> names;
  for (const auto& u : units) names.push_back(u.Label());

  // Route each unit's rows to its table.
  std::map<std::string, TableBatch> batches;
  std::vector<sources::BadRecord> unrouted;
  std::vector<sources::SourceTable> identities;
  for (auto& d : decoded) {
    for (const auto& tc : d->tables) {
      auto& b = batches[tc.table.Qualified()];
      if (b.changes.empty()) identities.push_back(tc.table);
      b.changes.push_back(&tc);
    }
    for (auto& bad : d->bad) unrouted.push_back(std::move(bad));
  }

  if (!stream_->routes_many()) {
    // One table: the position's state first, created once.
    TableState& t = tables_.begin()->second;
    TableIngest& ingest = *t.ingest;
    ARROW_ASSIGN_OR_RAISE(auto existing, ingest.positions().Create(position.key(), position.state));
    if (existing && *existing != position.state) {
      sources::Position theirs = position;
      theirs.state = *existing;
      ARROW_ASSIGN_OR_RAISE(auto planned, stream_->Planned(theirs));
      using Base = sources::PlannedBatch::Base;
      std::vector<std::string> their_names;
      for (const auto& u : planned.units) their_names.push_back(u.Label());
      if (planned.base == Base::kHere && their_names == names) {
        position = std::move(theirs);  // the same batch: commit under its state
      } else if (planned.base == Base::kHere) {
        // Another process (or a run that died) planned another batch for
        // this version: that batch is the one this version holds.
        resume_ = std::move(planned.units);
        step.waiting = true;
        return Status::OK();
      } else if (planned.base == Base::kAhead) {
        // Planned from a newer position: another process committed since
        // this one read its position, and this state may be the one it
        // committed. Keep it; read the committed position again.
        opened_ = false;
        step.waiting = true;
        return Status::OK();
      } else {
        // Planned from an older position: it can never commit. Plan again.
        ARROW_RETURN_NOT_OK(ingest.positions().Discard(position.key()));
        step.waiting = true;
        return Status::OK();
      }
    }
    std::vector<const sources::TableChanges*> all;
    for (auto& [name, b] : batches) all.insert(all.end(), b.changes.begin(), b.changes.end());
    ARROW_RETURN_NOT_OK(CommitTable(ingest, std::move(all), std::move(unrouted), position, names,
                                    ingested_at, step));
    stream_->Advance(position);
    step.units_committed = static_cast<int64_t>(units.size());
    step.worked = true;
    // States before the committed one are never read again.
    // (one delete, not a listing: Open pruned whatever came before).
    if (committed_key_ > 0 && committed_key_ < position.key()) {
      ARROW_RETURN_NOT_OK(ingest.positions().Discard(committed_key_));
    }
    committed_key_ = position.key();
    return Status::OK();
  }

  // Several tables: each commits the batch's position (skipping what its
  // txns already hold), then the stream checkpoint moves. A unit's bytes are
  // read once for all its tables: each table is given the share of its rows.
  const auto shares = SplitBytesByRows(units, decoded);
  for (const auto& id : identities) {
    ARROW_ASSIGN_OR_RAISE(auto* t, TableFor(id));
    TableIngest& ingest = *t->ingest;
    if (ingest.Holds(position)) continue;
    ARROW_RETURN_NOT_OK(CommitTable(ingest, batches[id.Qualified()].changes, {}, position, names,
                                    ingested_at, step));
    auto share = shares.find(id.Qualified());
    if (share != shares.end()) StepFor(step, id.Qualified()).source_bytes = share->second;
  }
  if (!unrouted.empty()) {
    // Input no table can claim: the stream's own dead letters.
    DeadLetterWriter dead(stream_->id(), config_.sink_path, DataWriteOptionsFor(config_),
                          checkpoint_queue_);
    for (auto& b : unrouted) dead.Add({b.where, b.offset, b.reason, b.raw});
    std::lock_guard<std::mutex> lock(dead_letters_mu_);
    ARROW_RETURN_NOT_OK(dead.Flush(app_id_, checkpoint_seq_ + 1, ingested_at));
  }
  ARROW_RETURN_NOT_OK(SaveStreamCheckpoint(position));
  stream_->Advance(position);
  step.units_committed = static_cast<int64_t>(units.size());
  step.worked = true;
  return Status::OK();
}

Status StreamPipeline::CommitTable(TableIngest& ingest,
                                   std::vector<const sources::TableChanges*> changes,
                                   std::vector<sources::BadRecord> unrouted,
                                   const sources::Position& position,
                                   const std::vector<std::string>& units, int64_t ingested_at_us,
                                   StreamStep& step) {
  TableBatch batch;
  batch.changes = std::move(changes);
  batch.bad = std::move(unrouted);
  batch.position = position;
  batch.units = units;
  batch.ingested_at_us = ingested_at_us;
  TableStep& out = StepFor(step, ingest.qualified());
  const auto started = std::chrono::steady_clock::now();
  ARROW_RETURN_NOT_OK(CheckFault("log commit"));
  auto state = tables_.find(ingest.qualified());
  BytesWrittenScope written(&out.bytes_written,
                            state == tables_.end() ? LateBytes() : state->second.late_bytes);
  ARROW_RETURN_NOT_OK(ingest.Commit(batch, dead_letters_mu_, out.ingest, out.follow));
  out.ingest.ms = MsSince(started);
  return Status::OK();
}

Status StreamPipeline::SaveStreamCheckpoint(const sources::Position& position) {
  std::vector<std::string> names;
  for (const auto& [name, t] : tables_) names.push_back(name);
  ARROW_RETURN_NOT_OK(CheckFault("stream checkpoint"));
  ARROW_ASSIGN_OR_RAISE(auto existing,
                        checkpoints_->Create(checkpoint_seq_ + 1, CheckpointJson(position, names)));
  if (existing) {
    // Another process moved the stream: start over from the tables.
    return Status::IOError("stream ", stream_->id(), ": checkpoint ", checkpoint_seq_ + 1,
                           " was written by another process");
  }
  ++checkpoint_seq_;
  return checkpoints_->Prune(checkpoint_seq_);
}

void StreamPipeline::FollowerFailed(TableState& t, const Status& st, TableStep& out) {
  TableIngest& ingest = *t.ingest;
  ingest.Reset();  // the follower reloads its tables on the next try
  if (Retryable(st) && ++t.follower_failures <= 8) {
    int backoff = 1 << std::min(t.follower_failures, 5);
    t.follower_retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(backoff);
    out.follower_retry = st.ToString() + " (retrying in " + std::to_string(backoff) + "s)";
    return;
  }
  t.follower_stopped = st.ToString();
  out.follower_stopped = t.follower_stopped;
}

Status StreamPipeline::Follow(TableState& t, bool drain, bool units_empty, bool defer,
                              TableStep& out) {
  TableIngest& ingest = *t.ingest;
  if (!config_.log_tables || !t.follower_stopped.empty()) return Status::OK();
  if (!ingest.keys_known() || ingest.keys().empty() || !ingest.log_snapshot()) return Status::OK();
  if (std::chrono::steady_clock::now() < t.follower_retry_at) return Status::OK();
  if (out.follow.merged || out.follow.history || defer) return Status::OK();
  BytesWrittenScope written(&out.bytes_written, t.late_bytes);
  const int64_t now_ms = WallClockUs() / 1000;
  auto follower = ingest.Follower();
  Status st = follower.status();
  if (st.ok()) {
    TableFollower& f = **follower;
    const bool behind = f.through() < ingest.log_snapshot()->version();
    const bool due = (drain && units_empty) || t.last_merge_ms == 0 ||
                     now_ms - t.last_merge_ms >= config_.merge_interval_ms;
    if (!behind || !due) return Status::OK();
    const auto started = std::chrono::steady_clock::now();
    t.last_merge_ms = now_ms;
    auto pending = f.Prepare(*ingest.log_snapshot(), *ingest.log_location(), ingest.tail(), now_ms,
                             out.follow);
    st = pending.status();
    if (st.ok() && *pending) {
      st = CheckFault("follower commit");
      if (st.ok()) st = f.Run(**pending, dead_letters_mu_, out.follow);
      if (st.ok()) f.Finish(**pending, ingest.tail());
    }
    out.follow.ms = MsSince(started);
  }
  if (!st.ok()) {
    FollowerFailed(t, st, out);
  } else {
    t.follower_failures = 0;
  }
  return Status::OK();
}

Result<StreamStep> StreamPipeline::StepOnce(bool drain) {
  StreamStep step;
  if (!opened_) {
    ARROW_RETURN_NOT_OK(Open());
    if (!opened_) {  // the stream's table is not known yet
      step.waiting = stream_->waiting();
      return step;
    }
  }
  std::vector<sources::Unit> units;
  if (!resume_.empty()) {
    units = std::move(resume_);
    resume_.clear();
  } else {
    ARROW_ASSIGN_OR_RAISE(units,
                          stream_->Pending(static_cast<size_t>(config_.max_files_per_batch)));
  }
  step.waiting = stream_->waiting();
  for (auto& n : stream_->TakeNotices()) step.notices.push_back(std::move(n));
  int64_t unit_bytes = 0;
  for (const auto& u : units) unit_bytes += u.bytes;

  // Two batches in memory at once only when they fit the budget: the rows a
  // merge holds plus the next input, decoded (~1.6 times its bytes).
  auto overlap_fits = [&](TableState& t, int64_t next_bytes, bool next_nonempty) {
    if (config_.merge_overlap_bytes <= 0 || !next_nonempty) return false;
    if (!t.ingest->keys_known() || t.ingest->keys().empty()) return false;
    auto f = t.ingest->Follower();
    if (!f.ok() || *f == nullptr) return false;
    return t.ingest->tail().BytesAfter((*f)->through()) + 2 * next_bytes <=
           config_.merge_overlap_bytes;
  };

  // A merge due before this batch (of the log as it stands) runs on a worker
  // while the batch is decoded and committed to the log: the two touch
  // different tables, and the merged table still follows the log in order.
  // Single-table streams only (the batch's tables are known in advance).
  TableState* overlap_table = nullptr;
  std::optional<TableFollower::PendingMerge> overlapped;
  FollowResult overlap_result;
  int64_t overlap_bytes = 0;  // written by the overlapped merge (its own thread)
  if (!stream_->routes_many() && tables_.size() == 1 && config_.log_tables) {
    TableState& t = tables_.begin()->second;
    TableIngest& ingest = *t.ingest;
    if (t.follower_stopped.empty() && ingest.keys_known() && !ingest.keys().empty() &&
        ingest.log_snapshot() && t.last_merge_ms != 0 &&
        std::chrono::steady_clock::now() >= t.follower_retry_at &&
        overlap_fits(t, unit_bytes, !units.empty())) {
      const int64_t now_ms = WallClockUs() / 1000;
      ARROW_ASSIGN_OR_RAISE(auto* f, ingest.Follower());
      const bool behind = f->through() < ingest.log_snapshot()->version();
      if (behind && now_ms - t.last_merge_ms >= config_.merge_interval_ms) {
        auto pending = f->Prepare(*ingest.log_snapshot(), *ingest.log_location(), ingest.tail(),
                                  now_ms, overlap_result);
        if (!pending.ok()) {
          FollowerFailed(t, pending.status(), StepFor(step, ingest.qualified()));
        } else if (*pending) {
          t.last_merge_ms = now_ms;
          overlapped = std::move(*pending);
          overlap_table = &t;
        }
      }
    }
  }
  std::future<Status> merge;
  if (overlapped) {
    TableFollower* f = *overlap_table->ingest->Follower();
    merge = std::async(std::launch::async, [&, f, late = overlap_table->late_bytes] {
      BytesWrittenScope written(&overlap_bytes, late);
      const auto started = std::chrono::steady_clock::now();
      Status st = CheckFault("follower commit");
      if (st.ok()) st = f->Run(*overlapped, dead_letters_mu_, overlap_result);
      overlap_result.ms = MsSince(started);
      return st;
    });
  }
  const size_t asked = units.size();
  // Input bytes of the first k units, for the step's source_bytes.
  std::vector<int64_t> bytes_before(units.size() + 1, 0);
  for (size_t k = 0; k < units.size(); ++k) bytes_before[k + 1] = bytes_before[k] + units[k].bytes;
  Status ingested = units.empty() ? Status::OK() : Ingest(std::move(units), step);
  if (ingested.ok() && !stream_->routes_many()) {
    for (auto& t : step.tables) {
      const auto n = static_cast<size_t>(std::clamp<int64_t>(t.ingest.units, 0, asked));
      t.source_bytes = bytes_before[n];
    }
  }
  if (overlapped) {
    Status merged = merge.get();  // also when the ingest failed: never left running
    TableStep& out = StepFor(step, overlap_table->ingest->qualified());
    out.bytes_written += overlap_bytes;
    if (merged.ok()) {
      (*overlap_table->ingest->Follower())->Finish(*overlapped, overlap_table->ingest->tail());
      out.follow = overlap_result;
      overlap_table->follower_failures = 0;
      step.worked = true;
    } else {
      FollowerFailed(*overlap_table, merged, out);
    }
  }
  ARROW_RETURN_NOT_OK(ingested);
  const bool units_empty = asked == 0;
  if (auto listed = stream_->pending_count()) {
    step.pending_units = *listed + static_cast<int64_t>(asked) - step.units_committed;
  }
  // More input waits when the source counts units beyond this batch (a
  // batch of one Kafka unit per partition is as many units as the batch
  // takes, however few messages each holds); a source that cannot count
  // has more when its batch was full.
  step.more_pending = step.pending_units
                          ? *step.pending_units > 0
                          : asked >= static_cast<size_t>(config_.max_files_per_batch);
  step.lag_messages = stream_->lag_messages();

  // The followers catch up with their logs (unless one just did). When more
  // input is already waiting, a due merge is left to the next step, which
  // runs it alongside that step's ingest; so with merge_interval 0s the
  // merged table is at most one log commit behind while input flows, and
  // level once it stops.
  for (auto& [name, t] : tables_) {
    TableStep& out = StepFor(step, name);
    const bool defer = !units_empty && step.more_pending && t.last_merge_ms != 0 &&
                       overlap_fits(t, unit_bytes, true);
    ARROW_RETURN_NOT_OK(Follow(t, drain, units_empty, defer, out));
    if (out.follow.merged || out.follow.history) step.worked = true;
  }

  // Maintenance between batches: every maintenance_interval, and once when
  // a --once run has drained its input and caught up.
  for (auto& [name, t] : tables_) {
    TableStep& out = StepFor(step, name);
    TableIngest& ingest = *t.ingest;
    const int64_t now_ms = WallClockUs() / 1000;
    const bool caught_up = units_empty && !out.follow.merged && !out.follow.history;
    if (!ingest.log_snapshot() && !(ingest.keys_known() && !ingest.keys().empty())) continue;
    if (!t.maintenance.Due(config_, now_ms, drain, caught_up)) continue;
    t.maintenance.Start(now_ms, out.maintenance);
    BytesWrittenScope written(&out.bytes_written, t.late_bytes);
    ARROW_RETURN_NOT_OK(CheckFault("maintenance"));
    ARROW_RETURN_NOT_OK(t.maintenance.RunLog(config_, ingest, now_ms, out.maintenance));
    if (t.follower_stopped.empty() && std::chrono::steady_clock::now() >= t.follower_retry_at) {
      auto f = ingest.Follower();
      Status st = f.status();
      if (st.ok() && *f) st = t.maintenance.RunFollower(config_, **f, now_ms, out.maintenance);
      if (!st.ok()) FollowerFailed(t, st, out);
    }
    if (out.maintenance.worked()) step.worked = true;
  }
  // Drop steps that did nothing.
  std::vector<TableStep> kept;
  for (auto& t : step.tables) {
    if (t.ingest.units > 0 || t.follow.merged || t.follow.history || t.maintenance.worked() ||
        !t.follower_stopped.empty() || !t.follower_retry.empty() || t.bytes_written > 0) {
      kept.push_back(std::move(t));
    }
  }
  step.tables = std::move(kept);
  return step;
}

}  // namespace sluice::pipeline
