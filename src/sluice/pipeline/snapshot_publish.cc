#include "sluice/pipeline/snapshot_publish.h"

#include <arrow/api.h>

#include "sluice/core/clock.h"
#include "sluice/core/uuid.h"
#include "sluice/delta/schema.h"
#include "sluice/delta/table_features.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/delta/transaction.h"
#include "sluice/pipeline/table_snapshot.h"

namespace sluice::pipeline {

Result<Published> PublishSnapshot(const merge::MergedTable& state, const PublishTarget& target) {
  const io::TableLocation& out = target.location;
  const std::optional<int32_t>& latest = target.latest_before;
  Published published;
  const auto& snap = *state.snapshot();
  std::shared_ptr<arrow::Schema> schema = snap.schema();
  std::vector<std::string> partition_columns;
  std::shared_ptr<arrow::Scalar> date_value;
  if (target.partitioned) {
    if (schema->GetFieldByName(target.partition_column)) {
      return Status::Invalid("the table has a column named '", target.partition_column,
                             "', the snapshot date column; set snapshot.partition_column to "
                             "another name");
    }
    ARROW_ASSIGN_OR_RAISE(schema,
                          schema->AddField(schema->num_fields(),
                                           arrow::field(target.partition_column, arrow::date32())));
    partition_columns.push_back(target.partition_column);
    date_value = std::make_shared<arrow::Date32Scalar>(target.date);
  }
  ARROW_ASSIGN_OR_RAISE(auto existing, delta::LoadIfExists(out));
  std::unique_ptr<delta::Transaction> txn;
  const std::string date_text = FormatSnapshotDate(target.date);
  const int64_t now = WallClockMs();
  if (!existing) {
    ARROW_ASSIGN_OR_RAISE(std::string schema_json, delta::SchemaToDeltaJson(*schema));
    delta::Metadata metadata;
    metadata.id = NewUuidV4();
    metadata.schema_string = schema_json;
    metadata.partition_columns = partition_columns;
    metadata.configuration = snap.metadata().configuration;
    // No deletion vectors: every reader can read a snapshot.
    metadata.configuration.erase("delta.enableDeletionVectors");
    metadata.created_time = now;
    txn = std::make_unique<delta::Transaction>(
        out.log, delta::ProtocolForNewTable(false, delta::SchemaUsesTimestampNtz(*schema)),
        metadata, "CREATE OR REPLACE TABLE");
  } else {
    if (existing->metadata().partition_columns != partition_columns) {
      return Status::Invalid("snapshot table ", out.uri, " is partitioned by [",
                             existing->metadata().partition_columns.empty()
                                 ? std::string()
                                 : existing->metadata().partition_columns[0],
                             "], not by the configured column [", target.partition_column, "]");
    }
    txn = std::make_unique<delta::Transaction>(existing, "WRITE");
    if (!existing->schema()->Equals(*schema, /*check_metadata=*/false)) {
      // The source's schema evolved (columns are only ever added): the
      // snapshot follows it; older dates read the new columns as NULL.
      delta::Metadata metadata = existing->metadata();
      ARROW_ASSIGN_OR_RAISE(metadata.schema_string, delta::SchemaToDeltaJson(*schema));
      txn->UpdateMetadata(std::move(metadata));
    }
    for (const auto& f : existing->files()) {
      if (target.partitioned) {
        auto it = f.partition_values.find(target.partition_column);
        if (it == f.partition_values.end() || it->second != date_text) continue;
      }
      txn->RemoveFile(delta::RemoveActionFor(f, now));
    }
  }
  txn->SetOperationParameters(target.partitioned
                                  ? "{\"mode\":\"Overwrite\",\"replaceWhere\":\"" +
                                        target.partition_column + " = '" + date_text + "'\"}"
                                  : std::string("{\"mode\":\"Overwrite\"}"));
  const auto& files = snap.files();
  int64_t done = 0;
  // The state's small files (one per incremental run) are written together.
  std::vector<std::shared_ptr<arrow::Table>> pending;
  int64_t pending_bytes = 0;
  int64_t rows_read = 0;
  auto write = [&]() -> Status {
    if (pending.empty()) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto rows, arrow::ConcatenateTables(pending));
    pending.clear();
    pending_bytes = 0;
    if (date_value) {
      ARROW_ASSIGN_OR_RAISE(auto column, arrow::MakeArrayFromScalar(*date_value, rows->num_rows()));
      ARROW_ASSIGN_OR_RAISE(
          rows, rows->AddColumn(rows->num_columns(), schema->field(schema->num_fields() - 1),
                                std::make_shared<arrow::ChunkedArray>(column)));
    }
    published.rows += rows->num_rows();
    ARROW_ASSIGN_OR_RAISE(
        auto adds, delta::WriteDataFiles(*out.fs, out.root, rows, partition_columns, target.data));
    for (auto& a : adds) {
      txn->AddFile(std::move(a));
      ++published.files;
    }
    return Status::OK();
  };
  for (const auto& file : files) {
    ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadDataFile(snap, state.location(), file));
    ++done;
    if (rows->num_rows() > 0) {
      pending_bytes += file.size;
      rows_read += rows->num_rows();
      pending.push_back(std::move(rows));
    }
    if (pending_bytes >= target.data.target_file_size / 4) ARROW_RETURN_NOT_OK(write());
    if (target.progress && (done % 16 == 0 || done == static_cast<int64_t>(files.size()))) {
      target.progress("copying state files " + std::to_string(done) + "/" +
                      std::to_string(files.size()) + ", " + std::to_string(rows_read) + " rows");
    }
  }
  ARROW_RETURN_NOT_OK(write());
  // The latest date published; a rebuild of an older date leaves it.
  int32_t mark = target.date;
  if (target.partitioned && latest && *latest > mark) mark = *latest;
  txn->SetTxn(kSnapshotAppId, mark);
  ARROW_ASSIGN_OR_RAISE(auto commit, txn->Commit());
  published.version = commit.version;
  return published;
}

}  // namespace sluice::pipeline
