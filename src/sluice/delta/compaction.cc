#include "sluice/delta/compaction.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/filesystem/filesystem.h>

#include <algorithm>
#include <chrono>

#include "sluice/core/clock.h"
#include "sluice/delta/deletion_vector.h"
#include "sluice/delta/partition_value.h"
#include "sluice/delta/stats.h"
#include "sluice/delta/table_reader.h"

namespace sluice::delta {

namespace {

// Share of the file's rows its DV hides; 0 without a DV or without stats
// (then only the size can make it a candidate).
Result<double> DeletedRatio(const Add& add) {
  if (!add.deletion_vector || add.deletion_vector->cardinality <= 0) return 0.0;
  if (!add.stats) return 0.0;
  ARROW_ASSIGN_OR_RAISE(auto records, NumRecordsFromStats(*add.stats));
  if (!records || *records <= 0) return 0.0;
  return std::min(
      1.0, static_cast<double>(add.deletion_vector->cardinality) / static_cast<double>(*records));
}

// The tags all inputs agree on (a tag some input lacks or sets differently
// describes only part of the rows, so it cannot describe the new file).
std::optional<std::map<std::string, std::string>> CommonTags(
    const std::vector<const Add*>& inputs) {
  if (inputs.empty() || !inputs.front()->tags) return std::nullopt;
  std::map<std::string, std::string> common = *inputs.front()->tags;
  for (const Add* in : inputs) {
    for (auto it = common.begin(); it != common.end();) {
      bool same = in->tags && in->tags->count(it->first) && in->tags->at(it->first) == it->second;
      it = same ? std::next(it) : common.erase(it);
    }
  }
  if (common.empty()) return std::nullopt;
  return common;
}

// Directory of a partition, as data_writer.cc lays it out ("" unpartitioned).
std::string PartitionDir(const std::vector<std::string>& columns, const PartitionValues& values) {
  std::string dir;
  for (const auto& c : columns) {
    auto it = values.find(c);
    std::optional<std::string> v = it == values.end() ? std::nullopt : it->second;
    if (!dir.empty()) dir += "/";
    dir += PartitionPathSegment(c, v);
  }
  return dir;
}

// The live rows of one input, without partition columns, and the indexes in
// the file of those rows (ascending).
struct InputRows {
  std::shared_ptr<arrow::Table> table;
  std::vector<uint64_t> survivors;
  int64_t purged = 0;
};

Result<InputRows> ReadInput(const Snapshot& snapshot, const io::TableLocation& location,
                            const Add& add, const std::vector<int>& data_fields) {
  Add raw = add;
  raw.deletion_vector.reset();  // row indexes are positions in the file
  ARROW_ASSIGN_OR_RAISE(auto rows, ReadDataFile(snapshot, location, raw));
  ARROW_ASSIGN_OR_RAISE(rows, rows->SelectColumns(data_fields));
  InputRows out;
  const int64_t n = rows->num_rows();
  if (!add.deletion_vector) {
    out.survivors.resize(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r)
      out.survivors[static_cast<size_t>(r)] = static_cast<uint64_t>(r);
    out.table = rows;
    return out;
  }
  ARROW_ASSIGN_OR_RAISE(auto deleted,
                        ReadDeletionVector(*location.fs, location.root, *add.deletion_vector));
  arrow::BooleanBuilder keep;
  ARROW_RETURN_NOT_OK(keep.Reserve(n));
  for (int64_t r = 0; r < n; ++r) {
    bool live = !deleted.Contains(static_cast<uint64_t>(r));
    keep.UnsafeAppend(live);
    if (live) out.survivors.push_back(static_cast<uint64_t>(r));
  }
  out.purged = n - static_cast<int64_t>(out.survivors.size());
  ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(rows, mask));
  out.table = filtered.table();
  return out;
}

// Rewrites one bin; appends the new files to `result` and their adds to `adds`.
Status RewriteBin(const Snapshot& snapshot, const io::TableLocation& location,
                  const CompactionBin& bin, const CompactionOptions& options,
                  std::vector<Add>* adds, CompactionResult* result) {
  const auto& parts = snapshot.metadata().partition_columns;
  std::vector<int> data_fields;
  std::vector<std::shared_ptr<arrow::Field>> data_schema_fields;
  for (int i = 0; i < snapshot.schema()->num_fields(); ++i) {
    const auto& f = snapshot.schema()->field(i);
    if (std::find(parts.begin(), parts.end(), f->name()) != parts.end()) continue;
    data_fields.push_back(i);
    data_schema_fields.push_back(f);
  }
  std::vector<InputRows> inputs;
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const Add* in : bin.inputs) {
    ARROW_ASSIGN_OR_RAISE(auto rows, ReadInput(snapshot, location, *in, data_fields));
    result->rows_purged += rows.purged;
    tables.push_back(rows.table);
    inputs.push_back(std::move(rows));
  }
  std::shared_ptr<arrow::Table> data;
  if (tables.empty()) {
    ARROW_ASSIGN_OR_RAISE(data, arrow::Table::MakeEmpty(arrow::schema(data_schema_fields)));
  } else {
    ARROW_ASSIGN_OR_RAISE(data, arrow::ConcatenateTables(tables));
  }
  tables.clear();

  // Partition columns are not stored in files, and the partition values are
  // copied from the inputs as they are (re-serializing could change them).
  const std::string dir = PartitionDir(parts, bin.partition_values);
  const std::string root = dir.empty() ? location.root : io::JoinPath(location.root, dir);
  DataWriteOptions data_options = options.data;
  data_options.target_file_size = options.target_file_size;
  ARROW_ASSIGN_OR_RAISE(auto written, WriteDataFiles(*location.fs, root, data, {}, data_options));

  // Walk the survivors alongside the new files to record the segments.
  size_t input = 0, pos = 0;
  for (auto& add : written) {
    if (!dir.empty()) add.path = EncodeAddPath(dir + "/" + DecodeAddPath(add.path));
    add.partition_values = bin.partition_values;
    add.data_change = false;
    std::optional<int64_t> records;
    if (add.stats) {
      ARROW_ASSIGN_OR_RAISE(records, NumRecordsFromStats(*add.stats));
    }
    if (!records) return Status::Invalid("compaction: new file ", add.path, " has no numRecords");
    CompactedFile file;
    file.path = add.path;
    file.rows = *records;
    std::vector<const Add*> sources;
    for (int64_t left = *records; left > 0;) {
      while (input < inputs.size() && pos >= inputs[input].survivors.size()) {
        ++input;
        pos = 0;
      }
      if (input >= inputs.size()) {
        return Status::Invalid("compaction: files written hold more rows than were read");
      }
      const auto& surv = inputs[input].survivors;
      size_t take = std::min(surv.size() - pos, static_cast<size_t>(left));
      CompactedSegment seg;
      seg.old_path = bin.inputs[input]->path;
      seg.rows.assign(surv.begin() + static_cast<int64_t>(pos),
                      surv.begin() + static_cast<int64_t>(pos + take));
      file.segments.push_back(std::move(seg));
      sources.push_back(bin.inputs[input]);
      pos += take;
      left -= static_cast<int64_t>(take);
    }
    add.tags = options.merge_tags ? options.merge_tags(sources) : CommonTags(sources);
    result->rows += file.rows;
    result->bytes_after += add.size;
    result->files.push_back(std::move(file));
    adds->push_back(std::move(add));
  }
  return Status::OK();
}

// Best effort: files of a commit that did not land are garbage.
void DeleteWritten(const io::TableLocation& location, const std::vector<Add>& adds) {
  for (const auto& a : adds) {
    auto abs = ResolveDataPath(location, a.path);
    if (abs.ok()) (void)location.fs->DeleteFile(*abs);
  }
}

}  // namespace

Result<CompactionPlan> PlanCompaction(const Snapshot& snapshot, const CompactionOptions& options) {
  const int64_t target = std::max<int64_t>(1, options.target_file_size);
  const int64_t small = options.small_file_size > 0 ? options.small_file_size : target / 4;
  const size_t min_small = static_cast<size_t>(std::max(2, options.min_small_files));
  // Candidates per partition, in snapshot order.
  std::map<PartitionValues, std::vector<std::pair<const Add*, double>>> by_partition;
  for (const auto& add : snapshot.files()) {
    ARROW_ASSIGN_OR_RAISE(double ratio, DeletedRatio(add));
    if (ratio > options.max_deleted_ratio || add.size < small) {
      by_partition[add.partition_values].emplace_back(&add, ratio);
    }
  }
  CompactionPlan plan;
  int64_t planned_bytes = 0;
  auto close = [&](CompactionBin& bin) {
    if (bin.inputs.empty()) return;
    bool deleted =
        std::count(bin.reasons.begin(), bin.reasons.end(), CompactionReason::kDeleted) != 0;
    bool over_budget = options.max_bytes > 0 && planned_bytes > 0 &&
                       planned_bytes + bin.input_bytes > options.max_bytes;
    if ((deleted || bin.inputs.size() >= min_small) && !over_budget) {
      planned_bytes += bin.input_bytes;
      plan.bins.push_back(std::move(bin));
    } else {
      plan.files_deferred += static_cast<int64_t>(bin.inputs.size());
    }
    bin = CompactionBin{};
  };
  for (const auto& [values, files] : by_partition) {
    CompactionBin bin;
    double bin_live_bytes = 0;  // estimated size of the bin's output
    for (const auto& [add, ratio] : files) {
      double live_bytes = static_cast<double>(add->size) * (1.0 - ratio);
      if (!bin.inputs.empty() && bin_live_bytes + live_bytes > static_cast<double>(target)) {
        close(bin);
        bin_live_bytes = 0;
      }
      bin.partition_values = values;
      bin.inputs.push_back(add);
      bin.reasons.push_back(ratio > options.max_deleted_ratio ? CompactionReason::kDeleted
                                                              : CompactionReason::kSmall);
      bin.input_bytes += add->size;
      bin_live_bytes += live_bytes;
    }
    close(bin);
  }
  return plan;
}

Result<CompactionResult> CompactTable(const io::TableLocation& location,
                                      std::shared_ptr<const Snapshot> snapshot,
                                      const CompactionOptions& options) {
  CompactionResult result;
  result.read_version = result.version = snapshot->version();
  result.snapshot = snapshot;
  ARROW_ASSIGN_OR_RAISE(auto plan, PlanCompaction(*snapshot, options));
  result.files_deferred = plan.files_deferred;
  if (plan.Empty()) return result;

  Transaction txn(snapshot, "OPTIMIZE");
  std::vector<Add> adds;
  const int64_t now = WallClockMs();
  int64_t total_bytes = 0;
  for (const auto& bin : plan.bins) {
    for (const Add* in : bin.inputs) total_bytes += in->size;
  }
  auto run = [&]() -> Status {
    for (const auto& bin : plan.bins) {
      ARROW_RETURN_NOT_OK(RewriteBin(*snapshot, location, bin, options, &adds, &result));
      for (const Add* in : bin.inputs) {
        Remove remove = RemoveActionFor(*in, now);
        remove.data_change = false;
        txn.RemoveFile(std::move(remove));
        result.removed.push_back(in->path);
        result.bytes_before += in->size;
      }
      if (options.progress) options.progress(result.bytes_before, total_bytes);
    }
    return Status::OK();
  };
  Status st = run();
  if (!st.ok()) {
    DeleteWritten(location, adds);
    return st.WithMessage("compaction of ", location.uri, ": ", st.message());
  }
  for (const auto& a : adds) txn.AddFile(a);
  txn.SetOperationParameters(R"({"predicate":"[]","zOrderBy":"[]","auto":"false"})");
  auto commit = txn.Commit(options.commit);
  if (!commit.ok()) {
    // A conflict means our commit did not land: the files are unreferenced.
    if (IsCommitConflict(commit.status())) DeleteWritten(location, adds);
    return commit.status().WithMessage("compaction of ", location.uri, ": ",
                                       commit.status().message());
  }
  result.committed = true;
  result.version = commit->version;
  result.snapshot = commit->snapshot;
  result.files_removed = static_cast<int64_t>(result.removed.size());
  result.files_added = static_cast<int64_t>(result.files.size());
  return result;
}

}  // namespace sluice::delta
