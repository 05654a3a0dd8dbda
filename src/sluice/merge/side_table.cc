#include "sluice/merge/side_table.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "sluice/core/arrow_init.h"
#include "sluice/delta/data_writer.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/delta/transaction.h"
#include "sluice/merge/table_create.h"

namespace sluice::merge {

namespace {

constexpr const char* kBatchVersion = "batch_version";

// The rows of `table` for which keep(batch_version, time_us) holds.
template <typename Keep>
Result<std::shared_ptr<arrow::Table>> FilterRows(const std::shared_ptr<arrow::Table>& table,
                                                 const std::string& time_column, Keep keep,
                                                 int64_t* dropped = nullptr) {
  ARROW_ASSIGN_OR_RAISE(auto combined, table->CombineChunksToBatch());
  auto version =
      std::dynamic_pointer_cast<arrow::Int64Array>(combined->GetColumnByName(kBatchVersion));
  auto time =
      std::dynamic_pointer_cast<arrow::TimestampArray>(combined->GetColumnByName(time_column));
  if (!version || !time) {
    return Status::Invalid("side table does not have the expected columns: ",
                           table->schema()->ToString());
  }
  arrow::BooleanBuilder mask;
  ARROW_RETURN_NOT_OK(mask.Reserve(combined->num_rows()));
  int64_t kept = 0;
  for (int64_t i = 0; i < combined->num_rows(); ++i) {
    const bool k = keep(version->Value(i), time->Value(i));
    kept += k ? 1 : 0;
    mask.UnsafeAppend(k);
  }
  if (dropped) *dropped = combined->num_rows() - kept;
  if (kept == combined->num_rows()) return arrow::Table::FromRecordBatches({combined});
  ARROW_RETURN_NOT_OK(InitArrowCompute());
  ARROW_ASSIGN_OR_RAISE(auto filter, mask.Finish());
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(combined, filter));
  return arrow::Table::FromRecordBatches({filtered.record_batch()});
}

}  // namespace

Result<io::TableLocation> SideTable::Location(const io::TableLocation& owner) const {
  return io::OpenSubLocation(owner, "_sluice/" + spec_.name);
}

Result<std::shared_ptr<arrow::Table>> SideTable::Load(const io::TableLocation& owner,
                                                      int64_t max_batch_version,
                                                      int64_t cutoff_ms) const {
  ARROW_ASSIGN_OR_RAISE(auto side, Location(owner));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(side));
  if (!snapshot) return std::shared_ptr<arrow::Table>();
  ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadSnapshot(*snapshot, side));
  return FilterRows(rows, spec_.time_column, [&](int64_t version, int64_t time_us) {
    return version <= max_batch_version && time_us / 1000 >= cutoff_ms;
  });
}

Status SideTable::AddFiles(const io::TableLocation& side, const std::shared_ptr<arrow::Table>& rows,
                           delta::Transaction& txn) const {
  if (!rows || rows->num_rows() == 0) return Status::OK();
  int64_t oldest = INT64_MAX;
  for (const auto& chunk : rows->GetColumnByName(spec_.time_column)->chunks()) {
    const auto& time = static_cast<const arrow::TimestampArray&>(*chunk);
    for (int64_t i = 0; i < time.length(); ++i) oldest = std::min(oldest, time.Value(i) / 1000);
  }
  ARROW_ASSIGN_OR_RAISE(auto adds, delta::WriteDataFiles(*side.fs, side.root, rows, {}));
  for (auto& a : adds) {
    a.tags = std::map<std::string, std::string>{{spec_.min_time_tag, std::to_string(oldest)}};
    txn.AddFile(std::move(a));
  }
  return Status::OK();
}

Result<SideTableCommit> SideTable::Commit(const io::TableLocation& owner,
                                          const std::shared_ptr<arrow::Table>& rows,
                                          const std::string& app_id, int64_t version,
                                          int64_t now_ms, int64_t cutoff_ms, bool purge_alone,
                                          std::shared_ptr<const delta::Snapshot>* latest,
                                          const delta::CommitOptions& commit) const {
  const bool has_rows = rows && rows->num_rows() > 0;
  if (!has_rows && !purge_alone) return SideTableCommit{};
  if (has_rows && !rows->schema()->Equals(*spec_.schema, /*check_metadata=*/false)) {
    return Status::Invalid("rows for side table ", spec_.name, " have schema ",
                           rows->schema()->ToString(), ", expected ", spec_.schema->ToString());
  }
  ARROW_ASSIGN_OR_RAISE(auto side, Location(owner));
  std::shared_ptr<const delta::Snapshot> cached = latest ? *latest : nullptr;
  if (latest) latest->reset();  // unknown until a commit (or read) succeeds
  std::shared_ptr<const delta::Snapshot> committed;
  if (cached) {
    auto result =
        CommitOn(side, cached, rows, app_id, version, now_ms, cutoff_ms, commit, &committed);
    if (result.ok() || !delta::IsCommitConflict(result.status())) {
      if (result.ok() && latest) *latest = committed ? committed : cached;
      return result;
    }
    // Someone else moved the side table since the cached read: redo on a
    // fresh read (which also sees whether they wrote this version already).
  }
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(side));
  ARROW_ASSIGN_OR_RAISE(auto result, CommitOn(side, snapshot, rows, app_id, version, now_ms,
                                              cutoff_ms, commit, &committed));
  if (latest) *latest = committed ? committed : snapshot;
  return result;
}

Result<SideTableCommit> SideTable::CommitOn(
    const io::TableLocation& side, std::shared_ptr<const delta::Snapshot> snapshot,
    const std::shared_ptr<arrow::Table>& rows, const std::string& app_id, int64_t version,
    int64_t now_ms, int64_t cutoff_ms, const delta::CommitOptions& commit,
    std::shared_ptr<const delta::Snapshot>* committed) const {
  SideTableCommit result;
  const bool has_rows = rows && rows->num_rows() > 0;
  if (snapshot) {
    auto done = snapshot->TxnVersion(app_id);
    if (done && *done >= version) {
      result.skipped = true;
      return result;
    }
  }
  std::vector<delta::Add> expired;
  if (snapshot) {
    for (const auto& f : snapshot->files()) {
      if (!f.tags) continue;
      auto it = f.tags->find(spec_.min_time_tag);
      if (it != f.tags->end() && std::atoll(it->second.c_str()) < cutoff_ms) expired.push_back(f);
    }
  }
  if (!has_rows && expired.empty()) return result;
  std::unique_ptr<delta::Transaction> txn;
  if (!snapshot) {
    ARROW_ASSIGN_OR_RAISE(txn, CreateTableTransaction(side, *spec_.schema, false, "WRITE"));
  } else {
    txn = std::make_unique<delta::Transaction>(snapshot, "WRITE");
  }
  // Purge: rewrite each file holding expired rows with the rest of them.
  for (const auto& f : expired) {
    ARROW_ASSIGN_OR_RAISE(auto all, delta::ReadDataFile(*snapshot, side, f));
    int64_t dropped = 0;
    ARROW_ASSIGN_OR_RAISE(
        auto kept,
        FilterRows(
            all, spec_.time_column,
            [&](int64_t, int64_t time_us) { return time_us / 1000 >= cutoff_ms; }, &dropped));
    result.purged += dropped;
    ++result.files_rewritten;
    txn->RemoveFile(delta::RemoveActionFor(f, now_ms));
    ARROW_RETURN_NOT_OK(AddFiles(side, kept, *txn));
  }
  ARROW_RETURN_NOT_OK(AddFiles(side, rows, *txn));
  result.written = has_rows ? rows->num_rows() : 0;
  txn->SetTxn(app_id, version);
  ARROW_ASSIGN_OR_RAISE(auto done, txn->Commit(commit));
  *committed = std::move(done.snapshot);
  return result;
}

delta::CompactionOptions SideTable::CompactionOptions(delta::CompactionOptions base) const {
  base.merge_tags = [tag = spec_.min_time_tag](const std::vector<const delta::Add*>& inputs)
      -> std::optional<std::map<std::string, std::string>> {
    int64_t min = inputs.empty() ? 0 : INT64_MAX;
    for (const auto* in : inputs) {
      if (!in->tags || !in->tags->count(tag)) {
        min = 0;
        break;
      }
      min = std::min<int64_t>(min, std::atoll(in->tags->at(tag).c_str()));
    }
    return std::map<std::string, std::string>{{tag, std::to_string(min)}};
  };
  return base;
}

Result<std::optional<delta::MaintenanceReport>> SideTable::Maintain(
    const io::TableLocation& owner, const delta::MaintenancePolicy& policy, int64_t& last_vacuum_ms,
    int64_t now_ms) const {
  ARROW_ASSIGN_OR_RAISE(auto side, Location(owner));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(side));
  if (!snapshot) return std::nullopt;
  delta::MaintenancePolicy side_policy = policy;
  side_policy.compaction = CompactionOptions(policy.compaction);
  side_policy.last_vacuum_ms = last_vacuum_ms;
  auto report = delta::MaintainTable(side, snapshot, side_policy, now_ms);
  if (!report.ok() && delta::IsCommitConflict(report.status())) {
    return std::nullopt;  // another writer of the side table went first
  }
  ARROW_RETURN_NOT_OK(report.status());
  last_vacuum_ms = report->last_vacuum_ms;
  return std::optional<delta::MaintenanceReport>(std::move(*report));
}

}  // namespace sluice::merge
