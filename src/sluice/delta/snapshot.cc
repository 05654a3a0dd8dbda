#include "sluice/delta/snapshot.h"

#include <arrow/type.h>

#include "sluice/delta/schema.h"
#include "sluice/delta/stats.h"
#include "sluice/delta/table_features.h"

namespace sluice::delta {

Result<std::shared_ptr<const Snapshot>> Snapshot::FromState(std::shared_ptr<io::LogStore> store,
                                                            TableState state,
                                                            std::optional<int64_t> checkpoint) {
  ARROW_RETURN_NOT_OK(CheckReadSupported(state.protocol, state.metadata));
  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  auto schema = SchemaFromDeltaJson(state.metadata.schema_string);
  if (!schema.ok()) {
    return schema.status().WithMessage("table ", store->Describe(""), " version ", state.version,
                                       ": ", schema.status().message());
  }
  snap->schema_ = *schema;
  snap->store_ = std::move(store);
  snap->state_ = std::move(state);
  snap->checkpoint_version_ = checkpoint;
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Result<std::shared_ptr<const Snapshot>> Snapshot::Load(std::shared_ptr<io::LogStore> store,
                                                       std::optional<int64_t> version) {
  ARROW_ASSIGN_OR_RAISE(LogSegment segment, BuildLogSegment(*store, version));
  ARROW_ASSIGN_OR_RAISE(TableState state, ReplayLog(*store, segment));
  return FromState(std::move(store), std::move(state), segment.checkpoint_version);
}

Result<std::shared_ptr<const Snapshot>> Snapshot::LoadAsOf(std::shared_ptr<io::LogStore> store,
                                                           int64_t timestamp_ms) {
  ARROW_ASSIGN_OR_RAISE(auto commits, ListCommits(*store, 0));
  if (commits.empty()) {
    return Status::KeyError("not a Delta table: no commits in ", store->Describe(kLogDir));
  }
  // Commit timestamps must increase with versions; Delta adjusts a file time
  // that is not after its predecessor's to predecessor + 1 ms.
  std::optional<int64_t> chosen;
  int64_t prev = INT64_MIN;
  for (const auto& [v, f] : commits) {
    int64_t ts = std::max(f.modification_time_ms, prev == INT64_MIN ? INT64_MIN : prev + 1);
    prev = ts;
    if (ts <= timestamp_ms) chosen = v;
  }
  if (!chosen) {
    return Status::Invalid("timestamp ", timestamp_ms, " ms is before the first commit of ",
                           store->Describe(""));
  }
  return Load(std::move(store), chosen);
}

std::optional<int64_t> Snapshot::TxnVersion(const std::string& app_id) const {
  auto it = state_.txns.find(app_id);
  if (it == state_.txns.end()) return std::nullopt;
  return it->second.version;
}

std::optional<int64_t> Snapshot::NumRecords() const {
  if (state_.num_records) return state_.num_records;
  std::call_once(records_once_, [this] {
    int64_t total = 0;
    for (const auto& f : state_.files) {
      auto n = LiveRecordsOf(f);
      if (!n) return;  // records_ stays unset
      total += *n;
    }
    records_ = total;
  });
  records_counted_.store(true, std::memory_order_release);
  return records_;
}

std::optional<int64_t> Snapshot::KnownNumRecords() const {
  if (state_.num_records) return state_.num_records;
  if (!records_counted_.load(std::memory_order_acquire)) return std::nullopt;
  return records_;
}

}  // namespace sluice::delta
