// merge_driver: applies a directory of change batches to a merged table with
// the real merge (PlanBatch + WriteMerge + KeyIndex), with simulated crashes,
// and writes the merged table's rows to a Parquet file. Test-only; driven by
// tests/merge_reference/test_differential.py, which compares the output with
// the Python reference model (tests/merge_reference/model.py).
//
//   merge_driver --batches DIR --table DIR --out FILE --keys id[,k2]
//                [--mode deletion_vectors|copy_on_write]
//                [--rebuild-after 0,3] [--retry 2] [--orphan-tombstones 4]
//
// DIR holds batch_0000.parquet, batch_0001.parquet, ... in the canonical
// change schema (payload + _cdc_op utf8 + _cdc_seq binary + _cdc_ts). Batch
// i commits with txn version i + 1. Schema changes (a column appearing in a
// later batch) evolve as the pipeline does: EvolveSchema(merge) +
// ConformBatch, allow_schema_change when the merged schema changes.
//
// Crashes:
//   --rebuild-after i      after batch i, the index rebuilt from the table +
//                          tombstones must equal the incremental one; the
//                          incremental one is then dropped (a restart).
//   --retry i              after batch i committed, a restarted process
//                          replays batch i (same version): WriteMerge must
//                          report already_applied and change nothing.
//   --orphan-tombstones i  batch i's tombstones are committed, then the
//                          process "dies" before the main commit; a restart
//                          rebuilds the index and redoes batch i.
//
// Exit code 0 on success; 2 on usage errors; 1 with a message otherwise.
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"
#include "sluice/io/table_location.h"
#include "sluice/merge/key_index.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/merge_writer.h"
#include "sluice/merge/tombstone_store.h"
#include "sluice/pipeline/schema_evolution.h"

namespace {

using arrow::Result;
using arrow::Status;
using namespace sluice;

constexpr const char* kApp = "merge_driver";
constexpr int64_t kNowMs = 1'700'000'000'000;

struct Args {
  std::string batches, table, out, mode = "deletion_vectors";
  std::vector<std::string> keys;
  std::set<int64_t> rebuild_after, retry, orphan;
  int64_t checkpoint_interval = 10;
  int64_t file_rows = 0;  ///< 0: the writer's default sizes
};

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::set<int64_t> SplitInts(const std::string& s) {
  std::set<int64_t> out;
  for (const auto& item : Split(s)) out.insert(std::stoll(item));
  return out;
}

Result<std::shared_ptr<arrow::RecordBatch>> ReadBatch(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(file, arrow::default_memory_pool()));
  std::shared_ptr<arrow::Table> table;
  ARROW_RETURN_NOT_OK(reader->ReadTable(&table));
  return table->CombineChunksToBatch();
}

class Driver {
 public:
  explicit Driver(Args args) : args_(std::move(args)) {}

  Status Run() {
    ARROW_ASSIGN_OR_RAISE(location_, io::OpenTableLocation(args_.table));
    options_.mode = args_.mode == "copy_on_write" ? merge::MergeMode::kCopyOnWrite
                                                  : merge::MergeMode::kDeletionVectors;
    options_.app_id = kApp;
    options_.now_ms = kNowMs;
    options_.commit.checkpoint_interval = args_.checkpoint_interval;
    if (args_.file_rows > 0) {
      // The size check runs per row group: one row group per file.
      options_.data.row_group_rows = args_.file_rows;
      options_.data.target_file_size = 1;
    }
    for (int64_t i = 0;; ++i) {
      char name[64];
      std::snprintf(name, sizeof(name), "batch_%04lld.parquet", static_cast<long long>(i));
      auto path = std::filesystem::path(args_.batches) / name;
      if (!std::filesystem::exists(path)) break;
      ARROW_ASSIGN_OR_RAISE(auto raw, ReadBatch(path.string()));
      ARROW_ASSIGN_OR_RAISE(auto batch, Conform(raw));
      const int64_t version = i + 1;
      if (args_.orphan.count(i)) {
        // Crash between the tombstone commit and the main commit.
        ARROW_RETURN_NOT_OK(EnsureIndex(*batch));
        ARROW_ASSIGN_OR_RAISE(auto plan, merge::PlanBatch(*index_, *batch, {kNowMs, version}));
        ARROW_RETURN_NOT_OK(merge::CommitTombstones(location_, plan.tombstones, kApp, version,
                                                    kNowMs - options_.tombstone_retention_ms)
                                .status());
        index_.reset();
      }
      ARROW_RETURN_NOT_OK(Apply(*batch, version, /*expect_applied=*/false));
      if (args_.retry.count(i)) {
        index_.reset();  // a restarted process
        ARROW_RETURN_NOT_OK(Apply(*batch, version, /*expect_applied=*/true));
      }
      if (args_.rebuild_after.count(i)) {
        ARROW_RETURN_NOT_OK(CheckRebuild());
        index_.reset();
      }
      ++batches_;
    }
    if (batches_ > 0) ARROW_RETURN_NOT_OK(CheckRebuild());
    return WriteOutput();
  }

 private:
  Result<std::shared_ptr<arrow::RecordBatch>> Conform(
      const std::shared_ptr<arrow::RecordBatch>& batch) {
    if (!schema_) {
      schema_ = pipeline::StorableSchema(batch->schema());
    } else {
      ARROW_ASSIGN_OR_RAISE(schema_, pipeline::EvolveSchema("driver", schema_, *batch,
                                                            pipeline::SchemaEvolution::kMerge));
    }
    return pipeline::ConformBatch("driver", batch, schema_);
  }

  Status EnsureIndex(const arrow::RecordBatch& batch) {
    if (index_) return Status::OK();
    auto merged_schema = merge::MergedTableSchema(*batch.schema());
    ARROW_ASSIGN_OR_RAISE(auto encoder, merge::KeyEncoder::Make(*merged_schema, args_.keys));
    ARROW_ASSIGN_OR_RAISE(snapshot_, delta::LoadIfExists(location_));
    if (!snapshot_) {
      index_ = std::make_unique<merge::KeyIndex>(std::move(encoder), location_);
      return Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(index_, Rebuilt(std::move(encoder)));
    return Status::OK();
  }

  Result<std::unique_ptr<merge::KeyIndex>> Rebuilt(merge::KeyEncoder encoder) {
    auto done = snapshot_->TxnVersion(kApp);
    ARROW_ASSIGN_OR_RAISE(auto tombstones,
                          merge::LoadTombstones(location_, done ? *done : 0,
                                                kNowMs - options_.tombstone_retention_ms));
    return merge::KeyIndex::Build(*snapshot_, location_, std::move(encoder), tombstones);
  }

  Status Apply(const arrow::RecordBatch& batch, int64_t version, bool expect_applied) {
    ARROW_RETURN_NOT_OK(EnsureIndex(batch));
    ARROW_ASSIGN_OR_RAISE(auto plan, merge::PlanBatch(*index_, batch, {kNowMs, version}));
    auto options = options_;
    options.version = version;
    options.allow_schema_change =
        snapshot_ && !snapshot_->schema()->Equals(*plan.appends->schema(), false);
    ARROW_ASSIGN_OR_RAISE(auto commit, merge::WriteMerge(location_, snapshot_, plan, options));
    if (commit.outcome.already_applied != expect_applied) {
      return Status::Invalid("batch version ", version, ": already_applied is ",
                             commit.outcome.already_applied, ", expected ", expect_applied);
    }
    snapshot_ = commit.snapshot;
    if (!plan.truncate_seq.empty() && !commit.outcome.already_applied) {
      // A truncate is not followed row by row: rebuild, as MergedTable does.
      ARROW_ASSIGN_OR_RAISE(index_, Rebuilt(index_->encoder()));
      return Status::OK();
    }
    ARROW_RETURN_NOT_OK(index_->Apply(plan, commit.outcome));
    return Status::OK();
  }

  /// The index rebuilt from the table + tombstones equals the incremental one.
  Status CheckRebuild() {
    if (!index_ || !snapshot_) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto rebuilt, Rebuilt(index_->encoder()));
    if (rebuilt->version() != index_->version()) {
      return Status::Invalid("rebuilt index at version ", rebuilt->version(), ", incremental at ",
                             index_->version());
    }
    auto a = rebuilt->Entries();
    auto b = index_->Entries();
    if (a.size() != b.size()) {
      return Status::Invalid("rebuilt index has ", a.size(), " entries, incremental ", b.size());
    }
    for (size_t i = 0; i < a.size(); ++i) {
      // Tombstones' deleted_at is the same pinned clock; files/rows must agree.
      if (!(a[i] == b[i])) {
        return Status::Invalid("rebuilt and incremental index differ at entry ", i, " (live ",
                               a[i].live, " vs ", b[i].live, ", file '", a[i].file, "' vs '",
                               b[i].file, "', row ", a[i].row, " vs ", b[i].row, ")");
      }
    }
    return Status::OK();
  }

  Status WriteOutput() {
    ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(location_));
    std::shared_ptr<arrow::Table> table;
    if (snapshot) {
      ARROW_ASSIGN_OR_RAISE(table, delta::ReadSnapshot(*snapshot, location_));
    } else {
      ARROW_ASSIGN_OR_RAISE(table, arrow::Table::MakeEmpty(arrow::schema({})));
    }
    ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(args_.out));
    ARROW_RETURN_NOT_OK(
        parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 64 * 1024));
    ARROW_RETURN_NOT_OK(out->Close());
    std::cout << "{\"batches\": " << batches_ << ", \"rows\": " << table->num_rows()
              << ", \"version\": " << (snapshot ? snapshot->version() : -1) << "}\n";
    return Status::OK();
  }

  Args args_;
  io::TableLocation location_;
  merge::MergeWriteOptions options_;
  std::shared_ptr<arrow::Schema> schema_;
  std::shared_ptr<const delta::Snapshot> snapshot_;
  std::unique_ptr<merge::KeyIndex> index_;
  int64_t batches_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "merge_driver: " << flag << " needs a value\n";
      return 2;
    }
    std::string value = argv[++i];
    if (flag == "--batches") {
      args.batches = value;
    } else if (flag == "--table") {
      args.table = value;
    } else if (flag == "--out") {
      args.out = value;
    } else if (flag == "--keys") {
      args.keys = Split(value);
    } else if (flag == "--mode") {
      args.mode = value;
    } else if (flag == "--rebuild-after") {
      args.rebuild_after = SplitInts(value);
    } else if (flag == "--retry") {
      args.retry = SplitInts(value);
    } else if (flag == "--orphan-tombstones") {
      args.orphan = SplitInts(value);
    } else if (flag == "--checkpoint-interval") {
      args.checkpoint_interval = std::stoll(value);
    } else if (flag == "--file-rows") {
      args.file_rows = std::stoll(value);
    } else {
      std::cerr << "merge_driver: unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (args.batches.empty() || args.table.empty() || args.out.empty() || args.keys.empty() ||
      (args.mode != "deletion_vectors" && args.mode != "copy_on_write")) {
    std::cerr << "usage: merge_driver --batches DIR --table DIR --out FILE --keys k1[,k2] "
                 "[--mode deletion_vectors|copy_on_write] [--rebuild-after i,j] [--retry i,j] "
                 "[--orphan-tombstones i,j] [--checkpoint-interval n] [--file-rows n]\n";
    return 2;
  }
  auto st = Driver(std::move(args)).Run();
  if (!st.ok()) {
    std::cerr << "merge_driver: " << st.ToString() << "\n";
    return 1;
  }
  return 0;
}
