#include "sluice/merge/history_orphans.h"

#include <arrow/api.h>

namespace sluice::merge {

namespace {

std::shared_ptr<arrow::DataType> TsType() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
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
  return arrow::Table::Make(OrphanDeleteTable().spec().schema, cols);
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

}  // namespace

const SideTable& OrphanDeleteTable() {
  static const SideTable table(SideTableSpec{
      "orphan_deletes",
      arrow::schema({
          arrow::field("key", arrow::binary(), false),
          arrow::field("seq", arrow::binary(), false),
          arrow::field("ts", TsType(), false),
          arrow::field("recorded_at", TsType(), false),
          arrow::field("batch_version", arrow::int64(), false),
      }),
      "recorded_at",
      // The oldest recorded_at (ms) of a file.
      "sluice.minRecordedAtMs",
  });
  return table;
}

Result<io::TableLocation> OrphanDeleteLocation(const io::TableLocation& history) {
  return OrphanDeleteTable().Location(history);
}

Result<std::vector<HistoryOrphan>> LoadOrphanDeletes(const io::TableLocation& history,
                                                     int64_t max_batch_version, int64_t cutoff_ms) {
  ARROW_ASSIGN_OR_RAISE(auto rows, OrphanDeleteTable().Load(history, max_batch_version, cutoff_ms));
  if (!rows) return std::vector<HistoryOrphan>{};
  return FromTable(*rows);
}

Result<OrphanDeleteCommit> CommitOrphanDeletes(const io::TableLocation& history,
                                               const std::vector<HistoryOrphan>& orphans,
                                               const std::string& app_id, int64_t version,
                                               int64_t now_ms, int64_t cutoff_ms,
                                               const delta::CommitOptions& commit) {
  if (orphans.empty()) return OrphanDeleteCommit{};
  for (const auto& o : orphans) {
    if (o.batch_version != version) {
      return Status::Invalid("orphan delete of batch ", o.batch_version,
                             " written with txn version ", version);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto rows, ToTable(orphans));
  return OrphanDeleteTable().Commit(history, rows, app_id, version, now_ms, cutoff_ms,
                                    /*purge_alone=*/false, /*latest=*/nullptr, commit);
}

Result<std::optional<delta::MaintenanceReport>> MaintainOrphanDeletes(
    const io::TableLocation& history, const delta::MaintenancePolicy& policy,
    int64_t& last_vacuum_ms, int64_t now_ms) {
  return OrphanDeleteTable().Maintain(history, policy, last_vacuum_ms, now_ms);
}

}  // namespace sluice::merge
