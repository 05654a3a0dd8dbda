#include "sluice/merge/tombstone_store.h"

#include <arrow/api.h>

#include "sluice/core/clock.h"

namespace sluice::merge {

namespace {

std::shared_ptr<arrow::DataType> TimeType() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

Result<std::shared_ptr<arrow::Table>> ToTable(const std::vector<Tombstone>& tombstones) {
  arrow::BinaryBuilder key, seq;
  arrow::TimestampBuilder at(TimeType(), arrow::default_memory_pool());
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
  return arrow::Table::Make(TombstoneTable().spec().schema, cols);
}

Result<std::vector<Tombstone>> FromTable(const arrow::Table& table) {
  ARROW_ASSIGN_OR_RAISE(auto combined, table.CombineChunksToBatch());
  auto key = std::dynamic_pointer_cast<arrow::BinaryArray>(combined->GetColumnByName("key"));
  auto seq = std::dynamic_pointer_cast<arrow::BinaryArray>(combined->GetColumnByName("seq"));
  auto at =
      std::dynamic_pointer_cast<arrow::TimestampArray>(combined->GetColumnByName("deleted_at"));
  auto version =
      std::dynamic_pointer_cast<arrow::Int64Array>(combined->GetColumnByName("batch_version"));
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

}  // namespace

const SideTable& TombstoneTable() {
  static const SideTable table(SideTableSpec{
      "tombstones",
      arrow::schema({
          arrow::field("key", arrow::binary(), false),
          arrow::field("seq", arrow::binary(), false),
          arrow::field("deleted_at", TimeType(), false),
          arrow::field("batch_version", arrow::int64(), false),
      }),
      "deleted_at",
      // The oldest deleted_at (ms) of a file.
      "sluice.minDeletedAtMs",
  });
  return table;
}

delta::CompactionOptions TombstoneCompactionOptions(delta::CompactionOptions base) {
  return TombstoneTable().CompactionOptions(std::move(base));
}

Result<io::TableLocation> TombstoneLocation(const io::TableLocation& table) {
  return TombstoneTable().Location(table);
}

Result<std::vector<Tombstone>> LoadTombstones(const io::TableLocation& table,
                                              int64_t max_batch_version, int64_t cutoff_ms) {
  ARROW_ASSIGN_OR_RAISE(auto rows, TombstoneTable().Load(table, max_batch_version, cutoff_ms));
  if (!rows) return std::vector<Tombstone>{};
  return FromTable(*rows);
}

Result<TombstoneCommit> CommitTombstones(const io::TableLocation& table,
                                         const std::vector<Tombstone>& tombstones,
                                         const std::string& app_id, int64_t version,
                                         int64_t cutoff_ms,
                                         std::shared_ptr<const delta::Snapshot>* latest,
                                         const delta::CommitOptions& commit) {
  std::shared_ptr<arrow::Table> rows;
  if (!tombstones.empty()) {
    ARROW_ASSIGN_OR_RAISE(rows, ToTable(tombstones));
  }
  return TombstoneTable().Commit(table, rows, app_id, version, WallClockMs(), cutoff_ms,
                                 /*purge_alone=*/true, latest, commit);
}

Result<std::optional<delta::MaintenanceReport>> MaintainTombstones(
    const io::TableLocation& table, const delta::MaintenancePolicy& policy, int64_t& last_vacuum_ms,
    int64_t now_ms) {
  return TombstoneTable().Maintain(table, policy, last_vacuum_ms, now_ms);
}

}  // namespace sluice::merge
