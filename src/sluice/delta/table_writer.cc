#include "sluice/delta/table_writer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>

#include <chrono>

#include "sluice/core/clock.h"
#include "sluice/core/uuid.h"
#include "sluice/delta/deletion_vector.h"
#include "sluice/delta/schema.h"
#include "sluice/delta/table_features.h"
#include "sluice/delta/table_reader.h"

namespace sluice::delta {

namespace {}  // namespace

Result<std::shared_ptr<const Snapshot>> LoadIfExists(const io::TableLocation& location) {
  auto snap = Snapshot::Load(location.log);
  if (snap.ok()) return *snap;
  if (snap.status().IsKeyError()) return std::shared_ptr<const Snapshot>();
  return snap.status();
}

Result<CommitResult> WriteTable(const io::TableLocation& location,
                                const std::shared_ptr<arrow::Table>& data,
                                const TableWriteOptions& options) {
  std::shared_ptr<const Snapshot> snapshot;
  if (options.read_snapshot) {
    snapshot = *options.read_snapshot;
  } else {
    ARROW_ASSIGN_OR_RAISE(snapshot, LoadIfExists(location));
  }
  std::vector<std::string> partition_columns = options.partition_columns;
  std::unique_ptr<Transaction> txn;
  if (!snapshot) {
    ARROW_ASSIGN_OR_RAISE(std::string schema_json, SchemaToDeltaJson(*data->schema()));
    Metadata metadata;
    metadata.id = NewUuidV4();
    metadata.schema_string = schema_json;
    metadata.partition_columns = partition_columns;
    metadata.configuration = options.configuration;
    if (options.deletion_vectors) metadata.configuration["delta.enableDeletionVectors"] = "true";
    metadata.created_time = WallClockMs();
    Protocol protocol =
        ProtocolForNewTable(options.deletion_vectors, SchemaUsesTimestampNtz(*data->schema()));
    txn = std::make_unique<Transaction>(location.log, protocol, metadata,
                                        options.overwrite ? "CREATE OR REPLACE TABLE" : "WRITE");
  } else {
    partition_columns = snapshot->metadata().partition_columns;
    bool same = snapshot->schema()->Equals(*data->schema(), /*check_metadata=*/false);
    if (!same && !options.allow_schema_change) {
      return Status::Invalid("table ", location.uri, ": data schema differs from the table's:\n",
                             "table: ", snapshot->schema()->ToString(),
                             "\ndata:  ", data->schema()->ToString());
    }
    txn = std::make_unique<Transaction>(snapshot, "WRITE");
    if (!same) {
      Metadata metadata = snapshot->metadata();
      ARROW_ASSIGN_OR_RAISE(metadata.schema_string, SchemaToDeltaJson(*data->schema()));
      txn->UpdateMetadata(std::move(metadata));
      if (SchemaUsesTimestampNtz(*data->schema()) &&
          !snapshot->protocol().HasReaderFeature(kTimestampNtz)) {
        Protocol upgraded = snapshot->protocol();
        Protocol wanted = ProtocolForNewTable(upgraded.HasReaderFeature(kDeletionVectors), true);
        txn->UpdateProtocol(wanted);
      }
    }
    if (options.overwrite) {
      int64_t now = WallClockMs();
      for (const auto& f : snapshot->files()) txn->RemoveFile(RemoveActionFor(f, now));
    }
  }
  txn->SetOperationParameters(
      std::string("{\"mode\":\"") + (options.overwrite ? "Overwrite" : "Append") + "\"" +
      (options.operation_parameters.empty() ? "" : ",") + options.operation_parameters + "}");
  ARROW_ASSIGN_OR_RAISE(auto adds, WriteDataFiles(*location.fs, location.root, data,
                                                  partition_columns, options.data));
  for (auto& a : adds) txn->AddFile(std::move(a));
  if (options.txn) txn->SetTxn(options.txn->app_id, options.txn->version);
  for (const auto& t : options.more_txns) txn->SetTxn(t.app_id, t.version);
  return txn->Commit(options.commit);
}

Result<CommitResult> DeleteRows(const io::TableLocation& location,
                                std::shared_ptr<const Snapshot> snapshot,
                                const std::map<std::string, DeletionBitmap>& rows_by_file,
                                DeleteMode mode, const CommitOptions& commit) {
  bool dv_enabled = snapshot->protocol().HasReaderFeature(kDeletionVectors) &&
                    snapshot->protocol().HasWriterFeature(kDeletionVectors);
  bool use_dv = mode != DeleteMode::kCopyOnWrite;
  if (use_dv && !dv_enabled) {
    return Status::Invalid("table ", location.uri,
                           " does not have the deletionVectors feature; use copy-on-write");
  }
  Transaction txn(snapshot, "DELETE");
  int64_t now = WallClockMs();
  std::vector<std::pair<Add, DeletionBitmap>> dv_updates;
  int64_t deleted = 0;
  for (const auto& file : snapshot->files()) {
    auto it = rows_by_file.find(file.path);
    if (it == rows_by_file.end() || it->second.Cardinality() == 0) continue;
    DeletionBitmap bitmap;
    if (file.deletion_vector) {
      ARROW_ASSIGN_OR_RAISE(bitmap,
                            ReadDeletionVector(*location.fs, location.root, *file.deletion_vector));
    }
    uint64_t before = bitmap.Cardinality();
    bitmap.Union(it->second);
    if (bitmap.Cardinality() == before) continue;  // nothing new
    deleted += static_cast<int64_t>(bitmap.Cardinality() - before);
    txn.RemoveFile(RemoveActionFor(file, now));
    if (use_dv) {
      dv_updates.emplace_back(file, std::move(bitmap));
      continue;
    }
    // Copy-on-write: rewrite the file without the deleted rows.
    Add without_dv = file;
    without_dv.deletion_vector.reset();
    ARROW_ASSIGN_OR_RAISE(auto rows, ReadDataFile(*snapshot, location, without_dv));
    arrow::BooleanBuilder keep;
    ARROW_RETURN_NOT_OK(keep.Reserve(rows->num_rows()));
    for (int64_t r = 0; r < rows->num_rows(); ++r) {
      keep.UnsafeAppend(!bitmap.Contains(static_cast<uint64_t>(r)));
    }
    ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
    ARROW_ASSIGN_OR_RAISE(auto kept, arrow::compute::Filter(rows, mask));
    ARROW_ASSIGN_OR_RAISE(auto adds, WriteDataFiles(*location.fs, location.root, kept.table(),
                                                    snapshot->metadata().partition_columns));
    for (auto& a : adds) txn.AddFile(std::move(a));
  }
  if (!dv_updates.empty() && mode == DeleteMode::kInlineDeletionVectors) {
    for (auto& [add, bm] : dv_updates) {
      Add updated = add;
      updated.deletion_vector = InlineDeletionVector(bm);
      txn.AddFile(std::move(updated));
    }
  } else if (!dv_updates.empty()) {
    DeletionVectorFileWriter dv_writer(location.fs, location.root);
    std::vector<DeletionVectorDescriptor> descriptors;
    for (auto& [add, bm] : dv_updates) {
      ARROW_ASSIGN_OR_RAISE(auto d, dv_writer.Add(bm));
      descriptors.push_back(std::move(d));
    }
    ARROW_RETURN_NOT_OK(dv_writer.Finish());
    for (size_t i = 0; i < dv_updates.size(); ++i) {
      Add updated = dv_updates[i].first;
      updated.deletion_vector = descriptors[i];
      updated.data_change = true;
      txn.AddFile(std::move(updated));
    }
  }
  txn.SetOperationParameters("{\"predicate\":\"[rows by key]\"}");
  (void)deleted;
  return txn.Commit(commit);
}

}  // namespace sluice::delta
