#include "sluice/merge/history_orphans.h"

#include <arrow/api.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "sluice/delta/data_writer.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/merge/table_create.h"

namespace sluice::merge {

namespace {

// add.tags key holding the oldest recorded_at (ms) of a file, so a purge
// only opens files that hold expired rows.
constexpr const char* kMinRecordedAtTag = "sluice.minRecordedAtMs";

std::shared_ptr<arrow::DataType> TsType() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

std::shared_ptr<arrow::Schema> OrphanSchema() {
  static const auto schema = arrow::schema({
      arrow::field("key", arrow::binary(), false),
      arrow::field("seq", arrow::binary(), false),
      arrow::field("ts", TsType(), false),
      arrow::field("recorded_at", TsType(), false),
      arrow::field("batch_version", arrow::int64(), false),
  });
  return schema;
}

Result<std::shared_ptr<arrow::Table>> ToTable(const std::vector<HistoryOrphan>& orphans) {
  arrow::BinaryBuilder key, seq;
  arrow::TimestampBuilder ts(TsType(), arrow::default_memory_pool());
  arrow::TimestampBuilder at(TsType(), arrow::default_memory_pool());
  arrow::Int64Builder version;
  for (const auto& o : orphans) {
    ARROW_RETURN_NOT_OK(key.Append(o.key));
    ARROW_RETURN_NOT_OK(seq.Append(o.seq));
    ARROW_RETURN_NOT_OK(ts.Append(o.ts_us));
    ARROW_RETURN_NOT_OK(at.Append(o.recorded_at_ms * 1000));
    ARROW_RETURN_NOT_OK(version.Append(o.batch_version));
  }
  std::vector<std::shared_ptr<arrow::Array>> cols(5);
  ARROW_RETURN_NOT_OK(key.Finish(&cols[0]));
  ARROW_RETURN_NOT_OK(seq.Finish(&cols[1]));
  ARROW_RETURN_NOT_OK(ts.Finish(&cols[2]));
  ARROW_RETURN_NOT_OK(at.Finish(&cols[3]));
  ARROW_RETURN_NOT_OK(version.Finish(&cols[4]));
  return arrow::Table::Make(OrphanSchema(), cols);
}

Result<std::vector<HistoryOrphan>> FromTable(const arrow::Table& table) {
  ARROW_ASSIGN_OR_RAISE(auto combined, table.CombineChunksToBatch());
  auto key = std::dynamic_pointer_cast<arrow::BinaryArray>(combined->GetColumnByName("key"));
  auto seq = std::dynamic_pointer_cast<arrow::BinaryArray>(combined->GetColumnByName("seq"));
  auto ts = std::dynamic_pointer_cast<arrow::TimestampArray>(combined->GetColumnByName("ts"));
  auto at =
      std::dynamic_pointer_cast<arrow::TimestampArray>(combined->GetColumnByName("recorded_at"));
  auto version =
      std::dynamic_pointer_cast<arrow::Int64Array>(combined->GetColumnByName("batch_version"));
  if (!key || !seq || !ts || !at || !version) {
    return Status::Invalid("orphan delete table does not have the expected columns: ",
                           table.schema()->ToString());
  }
  std::vector<HistoryOrphan> out;
  out.reserve(static_cast<size_t>(combined->num_rows()));
  for (int64_t i = 0; i < combined->num_rows(); ++i) {
    out.push_back(HistoryOrphan{std::string(key->GetView(i)), std::string(seq->GetView(i)),
                                ts->Value(i), at->Value(i) / 1000, version->Value(i)});
  }
  return out;
}

// Writes `orphans` as data files tagged with their oldest recorded_at.
Status AddFiles(const io::TableLocation& side, const std::vector<HistoryOrphan>& orphans,
                delta::Transaction& txn) {
  if (orphans.empty()) return Status::OK();
  int64_t oldest = INT64_MAX;
  for (const auto& o : orphans) oldest = std::min(oldest, o.recorded_at_ms);
  ARROW_ASSIGN_OR_RAISE(auto table, ToTable(orphans));
  ARROW_ASSIGN_OR_RAISE(auto adds, delta::WriteDataFiles(*side.fs, side.root, table, {}));
  for (auto& a : adds) {
    a.tags = std::map<std::string, std::string>{{kMinRecordedAtTag, std::to_string(oldest)}};
    txn.AddFile(std::move(a));
  }
  return Status::OK();
}

}  // namespace

Result<io::TableLocation> OrphanDeleteLocation(const io::TableLocation& history) {
  return io::OpenTableLocation(io::JoinPath(history.root, "_sluice/orphan_deletes"));
}

Result<std::vector<HistoryOrphan>> LoadOrphanDeletes(const io::TableLocation& history,
                                                     int64_t max_batch_version, int64_t cutoff_ms) {
  ARROW_ASSIGN_OR_RAISE(auto side, OrphanDeleteLocation(history));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(side));
  if (!snapshot) return std::vector<HistoryOrphan>{};
  ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadSnapshot(*snapshot, side));
  ARROW_ASSIGN_OR_RAISE(auto all, FromTable(*rows));
  std::vector<HistoryOrphan> out;
  out.reserve(all.size());
  for (auto& o : all) {
    if (o.batch_version <= max_batch_version && o.recorded_at_ms >= cutoff_ms) {
      out.push_back(std::move(o));
    }
  }
  return out;
}

Result<OrphanDeleteCommit> CommitOrphanDeletes(const io::TableLocation& history,
                                               const std::vector<HistoryOrphan>& orphans,
                                               const std::string& app_id, int64_t version,
                                               int64_t now_ms, int64_t cutoff_ms) {
  OrphanDeleteCommit result;
  if (orphans.empty()) return result;
  for (const auto& o : orphans) {
    if (o.batch_version != version) {
      return Status::Invalid("orphan delete of batch ", o.batch_version,
                             " written with txn version ", version);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto side, OrphanDeleteLocation(history));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(side));
  if (snapshot) {
    auto done = snapshot->TxnVersion(app_id);
    if (done && *done >= version) {
      result.skipped = true;
      return result;
    }
  }
  std::unique_ptr<delta::Transaction> txn;
  if (!snapshot) {
    ARROW_ASSIGN_OR_RAISE(txn, CreateTableTransaction(side, *OrphanSchema(), false, "WRITE"));
  } else {
    txn = std::make_unique<delta::Transaction>(snapshot, "WRITE");
    // Purge: rewrite each file holding expired rows with the rest of them.
    for (const auto& f : snapshot->files()) {
      if (!f.tags) continue;
      auto it = f.tags->find(kMinRecordedAtTag);
      if (it == f.tags->end() || std::atoll(it->second.c_str()) >= cutoff_ms) continue;
      ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadDataFile(*snapshot, side, f));
      ARROW_ASSIGN_OR_RAISE(auto all, FromTable(*rows));
      std::vector<HistoryOrphan> kept;
      for (auto& o : all) {
        if (o.recorded_at_ms >= cutoff_ms) kept.push_back(std::move(o));
      }
      result.purged += static_cast<int64_t>(all.size() - kept.size());
      txn->RemoveFile(delta::RemoveActionFor(f, now_ms));
      ARROW_RETURN_NOT_OK(AddFiles(side, kept, *txn));
    }
  }
  ARROW_RETURN_NOT_OK(AddFiles(side, orphans, *txn));
  result.written = static_cast<int64_t>(orphans.size());
  txn->SetTxn(app_id, version);
  ARROW_RETURN_NOT_OK(txn->Commit().status());
  return result;
}

}  // namespace sluice::merge
