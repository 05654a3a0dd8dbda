#include "sluice/merge/tombstone_store.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <chrono>

#include "sluice/core/clock.h"
#include "sluice/delta/data_writer.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/merge/table_create.h"

namespace sluice::merge {

namespace {

// add.tags key holding the oldest deleted_at (ms) of a tombstone file, so a
// purge only opens files that hold expired rows.
constexpr const char* kMinDeletedAtTag = "sluice.minDeletedAtMs";

std::shared_ptr<arrow::Schema> TombstoneSchema() {
  static const auto schema = arrow::schema({
      arrow::field("key", arrow::binary(), false),
      arrow::field("seq", arrow::binary(), false),
      arrow::field("deleted_at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false),
      arrow::field("batch_version", arrow::int64(), false),
  });
  return schema;
}

Result<std::shared_ptr<arrow::Table>> ToTable(const std::vector<Tombstone>& tombstones) {
  arrow::BinaryBuilder key, seq;
  arrow::TimestampBuilder at(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                             arrow::default_memory_pool());
  arrow::Int64Builder version;
  for (const auto& t : tombstones) {
    ARROW_RETURN_NOT_OK(key.Append(t.key));
    ARROW_RETURN_NOT_OK(seq.Append(t.seq));
    ARROW_RETURN_NOT_OK(at.Append(t.deleted_at_ms * 1000));
    ARROW_RETURN_NOT_OK(version.Append(t.batch_version));
  }
  std::vector<std::shared_ptr<arrow::Array>> cols(4);
  ARROW_RETURN_NOT_OK(key.Finish(&cols[0]));
  ARROW_RETURN_NOT_OK(seq.Finish(&cols[1]));
  ARROW_RETURN_NOT_OK(at.Finish(&cols[2]));
  ARROW_RETURN_NOT_OK(version.Finish(&cols[3]));
  return arrow::Table::Make(TombstoneSchema(), cols);
}

Result<std::vector<Tombstone>> FromTable(const arrow::Table& table) {
  ARROW_ASSIGN_OR_RAISE(auto combined, table.CombineChunksToBatch());
  auto key = std::static_pointer_cast<arrow::BinaryArray>(combined->GetColumnByName("key"));
  auto seq = std::static_pointer_cast<arrow::BinaryArray>(combined->GetColumnByName("seq"));
  auto at =
      std::static_pointer_cast<arrow::TimestampArray>(combined->GetColumnByName("deleted_at"));
  auto version =
      std::static_pointer_cast<arrow::Int64Array>(combined->GetColumnByName("batch_version"));
  if (!key || !seq || !at || !version) {
    return Status::Invalid("tombstone table does not have the expected columns: ",
                           table.schema()->ToString());
  }
  std::vector<Tombstone> out;
  out.reserve(static_cast<size_t>(combined->num_rows()));
  for (int64_t i = 0; i < combined->num_rows(); ++i) {
    out.push_back(Tombstone{std::string(key->GetView(i)), std::string(seq->GetView(i)),
                            at->Value(i) / 1000, version->Value(i)});
  }
  return out;
}

int64_t MinDeletedAt(const std::vector<Tombstone>& ts) {
  int64_t m = INT64_MAX;
  for (const auto& t : ts) m = std::min(m, t.deleted_at_ms);
  return m;
}

// Writes `ts` as data files tagged with their oldest deleted_at.
Status AddFiles(const io::TableLocation& side, const std::vector<Tombstone>& ts,
                delta::Transaction& txn) {
  if (ts.empty()) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto table, ToTable(ts));
  ARROW_ASSIGN_OR_RAISE(auto adds, delta::WriteDataFiles(*side.fs, side.root, table, {}));
  for (auto& a : adds) {
    a.tags =
        std::map<std::string, std::string>{{kMinDeletedAtTag, std::to_string(MinDeletedAt(ts))}};
    txn.AddFile(std::move(a));
  }
  return Status::OK();
}

}  // namespace

delta::CompactionOptions TombstoneCompactionOptions(delta::CompactionOptions base) {
  base.merge_tags = [](const std::vector<const delta::Add*>& inputs)
      -> std::optional<std::map<std::string, std::string>> {
    int64_t min = inputs.empty() ? 0 : INT64_MAX;
    for (const auto* in : inputs) {
      if (!in->tags || !in->tags->count(kMinDeletedAtTag)) {
        min = 0;
        break;
      }
      min = std::min<int64_t>(min, std::atoll(in->tags->at(kMinDeletedAtTag).c_str()));
    }
    return std::map<std::string, std::string>{{kMinDeletedAtTag, std::to_string(min)}};
  };
  return base;
}

Result<io::TableLocation> TombstoneLocation(const io::TableLocation& table) {
  return io::OpenTableLocation(io::JoinPath(table.root, "_sluice/tombstones"));
}

Result<std::vector<Tombstone>> LoadTombstones(const io::TableLocation& table,
                                              int64_t max_batch_version, int64_t cutoff_ms) {
  ARROW_ASSIGN_OR_RAISE(auto side, TombstoneLocation(table));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(side));
  if (!snapshot) return std::vector<Tombstone>{};
  ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadSnapshot(*snapshot, side));
  ARROW_ASSIGN_OR_RAISE(auto all, FromTable(*rows));
  std::vector<Tombstone> out;
  out.reserve(all.size());
  for (auto& t : all) {
    if (t.batch_version <= max_batch_version && t.deleted_at_ms >= cutoff_ms) {
      out.push_back(std::move(t));
    }
  }
  return out;
}

Result<TombstoneCommit> CommitTombstones(const io::TableLocation& table,
                                         const std::vector<Tombstone>& tombstones,
                                         const std::string& app_id, int64_t version,
                                         int64_t cutoff_ms) {
  TombstoneCommit result;
  ARROW_ASSIGN_OR_RAISE(auto side, TombstoneLocation(table));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(side));
  if (snapshot) {
    auto done = snapshot->TxnVersion(app_id);
    if (done && *done >= version) {
      result.skipped = true;
      return result;
    }
  }
  std::unique_ptr<delta::Transaction> txn;
  std::vector<delta::Add> expired;
  if (!snapshot) {
    if (tombstones.empty()) return result;
    ARROW_ASSIGN_OR_RAISE(txn, CreateTableTransaction(side, *TombstoneSchema(), false, "WRITE"));
  } else {
    for (const auto& f : snapshot->files()) {
      if (!f.tags) continue;
      auto it = f.tags->find(kMinDeletedAtTag);
      if (it != f.tags->end() && std::atoll(it->second.c_str()) < cutoff_ms) expired.push_back(f);
    }
    if (tombstones.empty() && expired.empty()) return result;
    txn = std::make_unique<delta::Transaction>(snapshot, "WRITE");
  }
  // Purge: rewrite each file holding expired rows with the rest of them.
  int64_t now = WallClockMs();
  for (const auto& f : expired) {
    ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadDataFile(*snapshot, side, f));
    ARROW_ASSIGN_OR_RAISE(auto all, FromTable(*rows));
    std::vector<Tombstone> kept;
    for (auto& t : all) {
      if (t.deleted_at_ms >= cutoff_ms) kept.push_back(std::move(t));
    }
    result.purged += static_cast<int64_t>(all.size() - kept.size());
    ++result.files_rewritten;
    delta::Remove remove{};
    remove.path = f.path;
    remove.deletion_timestamp = now;
    remove.size = f.size;
    remove.partition_values = f.partition_values;
    remove.extended_file_metadata = true;
    txn->RemoveFile(std::move(remove));
    ARROW_RETURN_NOT_OK(AddFiles(side, kept, *txn));
  }
  ARROW_RETURN_NOT_OK(AddFiles(side, tombstones, *txn));
  result.written = static_cast<int64_t>(tombstones.size());
  txn->SetTxn(app_id, version);
  ARROW_RETURN_NOT_OK(txn->Commit().status());
  return result;
}

}  // namespace sluice::merge
