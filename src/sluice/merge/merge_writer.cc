#include "sluice/merge/merge_writer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <chrono>

#include "sluice/core/clock.h"
#include "sluice/delta/deletion_vector.h"
#include "sluice/delta/schema.h"
#include "sluice/delta/stats.h"
#include "sluice/delta/table_features.h"
#include "sluice/delta/table_reader.h"
#include "sluice/merge/partial_image.h"
#include "sluice/merge/table_create.h"

namespace sluice::merge {

namespace {

class StalePlanDetail : public arrow::StatusDetail {
 public:
  const char* type_id() const override { return "sluice::StalePlan"; }
  std::string ToString() const override { return "the table moved since the plan was made"; }
};

// Writes `data` as new files, reporting each with its row count.
Result<std::vector<WrittenFile>> WriteFiles(const io::TableLocation& location,
                                            const std::shared_ptr<arrow::Table>& data,
                                            const delta::DataWriteOptions& options,
                                            delta::Transaction& txn) {
  std::vector<WrittenFile> written;
  ARROW_ASSIGN_OR_RAISE(auto adds,
                        delta::WriteDataFiles(*location.fs, location.root, data, {}, options));
  for (auto& add : adds) {
    ARROW_ASSIGN_OR_RAISE(auto rows, delta::NumRecordsFromStats(add.stats.value_or("{}")));
    if (!rows) return Status::Invalid("data writer produced a file without numRecords");
    written.push_back({add.path, *rows});
    txn.AddFile(std::move(add));
  }
  return written;
}

// Copy-on-write: `file` without the rows in `deleted` (its full deleted set).
Result<FileRewrite> Rewrite(const delta::Snapshot& snapshot, const io::TableLocation& location,
                            const delta::Add& file, const delta::DeletionBitmap& deleted,
                            const delta::DataWriteOptions& options, delta::Transaction& txn) {
  delta::Add raw = file;
  raw.deletion_vector.reset();
  ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadDataFile(snapshot, location, raw));
  arrow::BooleanBuilder keep;
  ARROW_RETURN_NOT_OK(keep.Reserve(rows->num_rows()));
  for (int64_t r = 0; r < rows->num_rows(); ++r) {
    keep.UnsafeAppend(!deleted.Contains(static_cast<uint64_t>(r)));
  }
  ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
  ARROW_ASSIGN_OR_RAISE(auto kept, arrow::compute::Filter(rows, mask));
  FileRewrite rw;
  rw.old_path = file.path;
  rw.deleted = deleted.ToSortedVector();
  ARROW_ASSIGN_OR_RAISE(rw.replacements, WriteFiles(location, kept.table(), options, txn));
  return rw;
}

}  // namespace

bool IsStalePlan(const Status& st) {
  if (st.ok()) return false;
  if (delta::IsCommitConflict(st)) return true;
  return st.detail() && std::string(st.detail()->type_id()) == "sluice::StalePlan";
}

Status StalePlan(const std::string& message) {
  return Status(arrow::StatusCode::Invalid, message, std::make_shared<StalePlanDetail>());
}

Result<MergeCommit> WriteMerge(const io::TableLocation& location,
                               std::shared_ptr<const delta::Snapshot> snapshot,
                               const MergePlan& plan, const MergeWriteOptions& options) {
  MergeCommit result;
  result.snapshot = snapshot;
  if (options.app_id.empty()) return Status::Invalid("a merge commit needs a txn app_id");
  if (snapshot) {
    auto done = snapshot->TxnVersion(options.app_id);
    if (done && *done >= options.version) {
      result.outcome.already_applied = true;
      result.outcome.version = snapshot->version();
      return result;
    }
  }
  const int64_t base = snapshot ? snapshot->version() : -1;
  if (plan.base_version != base) {
    return StalePlan("merge plan was made against table version " +
                     std::to_string(plan.base_version) + " but the table is at version " +
                     std::to_string(base) + "; re-plan");
  }
  if (!plan.appends) return Status::Invalid("merge plan has no appends table");
  const int64_t now = options.now_ms != 0 ? options.now_ms : WallClockMs();
  const bool use_dv = options.mode == MergeMode::kDeletionVectors;

  // The main commit's transaction, with its checks done before anything is
  // written anywhere.
  std::unique_ptr<delta::Transaction> txn;
  if (!snapshot) {
    auto configuration = options.configuration;
    if (!plan.truncate_seq.empty()) {
      configuration[kTruncateSeqProperty] = EncodeTruncateSeq(plan.truncate_seq);
    }
    for (const auto& [k, v] : plan.properties) configuration[k] = v;
    ARROW_ASSIGN_OR_RAISE(txn, CreateTableTransaction(location, *plan.appends->schema(), use_dv,
                                                      "MERGE", configuration));
  } else {
    if (!snapshot->metadata().partition_columns.empty()) {
      return Status::NotImplemented("merge into partitioned table ", location.uri);
    }
    if (use_dv && !(snapshot->protocol().HasReaderFeature(delta::kDeletionVectors) &&
                    snapshot->protocol().HasWriterFeature(delta::kDeletionVectors))) {
      return Status::Invalid("table ", location.uri,
                             " does not have the deletionVectors feature; use copy_on_write");
    }
    txn = std::make_unique<delta::Transaction>(snapshot, "MERGE");
    delta::Metadata metadata = snapshot->metadata();
    bool metadata_changed = false;
    if (!snapshot->schema()->Equals(*plan.appends->schema(), /*check_metadata=*/false)) {
      if (!options.allow_schema_change) {
        return Status::Invalid("table ", location.uri, ": merge schema differs from the table's:\n",
                               "table: ", snapshot->schema()->ToString(),
                               "\nmerge: ", plan.appends->schema()->ToString());
      }
      ARROW_ASSIGN_OR_RAISE(metadata.schema_string,
                            delta::SchemaToDeltaJson(*plan.appends->schema()));
      metadata_changed = true;
    }
    // The truncate watermark lands with the rows it deleted, in one commit.
    if (!plan.truncate_seq.empty()) {
      metadata.configuration[kTruncateSeqProperty] = EncodeTruncateSeq(plan.truncate_seq);
      metadata_changed = true;
    }
    for (const auto& [k, v] : plan.properties) {
      metadata.configuration[k] = v;
      metadata_changed = true;
    }
    if (metadata_changed) txn->UpdateMetadata(std::move(metadata));
  }

  // A plan deleting rows of a file another writer has since removed (an
  // OPTIMIZE, a DELETE) is stale: found out before anything is written.
  if (!plan.deletes.empty()) {
    size_t present = 0;
    if (snapshot) {
      for (const auto& file : snapshot->files()) present += plan.deletes.count(file.path);
    }
    if (present != plan.deletes.size()) {
      return StalePlan("merge plan deletes rows of files that are not in table version " +
                       std::to_string(base) + "; re-plan");
    }
  }

  // Unchanged values of partial images, read from the rows they replace.
  ARROW_ASSIGN_OR_RAISE(auto appends, FillCarriedValues(location, plan.appends, plan.carried));

  // 1. Tombstones, in their own table, before the main commit.
  ARROW_ASSIGN_OR_RAISE(result.tombstones,
                        CommitTombstones(location, plan.tombstones, options.app_id, options.version,
                                         now - options.tombstone_retention_ms,
                                         options.tombstone_snapshot, options.commit));

  // 2. Deleted rows: DVs (merged with the file's existing DV) or rewrites.
  size_t touched = 0;
  std::vector<std::pair<delta::Add, delta::DeletionBitmap>> dv_updates;
  if (snapshot) {
    for (const auto& file : snapshot->files()) {
      auto it = plan.deletes.find(file.path);
      if (it == plan.deletes.end()) continue;
      ++touched;
      delta::DeletionBitmap bitmap;
      if (file.deletion_vector) {
        ARROW_ASSIGN_OR_RAISE(
            bitmap, delta::ReadDeletionVector(*location.fs, location.root, *file.deletion_vector));
      }
      bitmap.Union(it->second);
      txn->RemoveFile(delta::RemoveActionFor(file, now));
      if (use_dv) {
        dv_updates.emplace_back(file, std::move(bitmap));
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto rw,
                            Rewrite(*snapshot, location, file, bitmap, options.data, *txn));
      result.outcome.rewrites.push_back(std::move(rw));
    }
  }
  if (touched != plan.deletes.size()) {
    return Status::Invalid("merge plan deletes rows of files that are not in table version ", base);
  }
  if (!dv_updates.empty()) {
    delta::DeletionVectorFileWriter dv_writer(location.fs, location.root);
    std::vector<delta::DeletionVectorDescriptor> descriptors;
    for (auto& [add, bitmap] : dv_updates) {
      ARROW_ASSIGN_OR_RAISE(auto d, dv_writer.Add(bitmap));
      descriptors.push_back(std::move(d));
    }
    ARROW_RETURN_NOT_OK(dv_writer.Finish());
    for (size_t i = 0; i < dv_updates.size(); ++i) {
      delta::Add updated = dv_updates[i].first;
      updated.deletion_vector = descriptors[i];
      updated.data_change = true;
      txn->AddFile(std::move(updated));
    }
  }

  // 3. New row images, then the commit with the txn.
  ARROW_ASSIGN_OR_RAISE(result.outcome.appended, WriteFiles(location, appends, options.data, *txn));
  txn->SetTxn(options.app_id, options.version);
  txn->SetOperationParameters(std::string(R"({"mode":")") +
                              (use_dv ? "deletionVectors" : "copyOnWrite") + R"(","upserts":)" +
                              std::to_string(plan.counts.upserts) + R"(,"deletes":)" +
                              std::to_string(plan.counts.deletes) + "}");
  ARROW_ASSIGN_OR_RAISE(auto committed, txn->Commit(options.commit));
  result.outcome.version = committed.version;
  result.snapshot = committed.snapshot;
  return result;
}

}  // namespace sluice::merge
