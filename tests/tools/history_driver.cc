// history_driver: applies a directory of change batches to an SCD2 history
// table with the real history code (HistoryTable: HistoryIndex +
// PlanHistory + WriteHistory), with simulated restarts, and writes the
// table's rows to a Parquet file. Test-only; driven by
// tests/merge_reference/test_history_differential.py, which compares the
// output with model.py's history().
//
//   history_driver --batches DIR --table DIR --out FILE --keys id[,k2]
//                  [--track c1,c2] [--mode deletion_vectors|copy_on_write]
//                  [--rebuild-after 0,3] [--retry 2]
//                  [--checkpoint-interval n] [--file-rows n]
//
// DIR holds batch_0000.parquet, ... in the canonical change schema. Batch i
// commits with txn version i + 1. A column appearing in a later batch
// evolves the schema as the pipeline does (EvolveSchema(merge) +
// ConformBatch, allow_schema_change).
//
//   --rebuild-after i  after batch i, the index rebuilt from the table (and
//                      its orphan delete side table) must equal the
//                      incremental one; then it is dropped (a restart: the
//                      next batch rebuilds it).
//   --retry i          after batch i committed, a restarted process replays
//                      it (same version): it must be already_applied.
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
#include "sluice/merge/history_index.h"
#include "sluice/merge/history_table.h"
#include "sluice/pipeline/schema_evolution.h"

namespace {

using arrow::Result;
using arrow::Status;
using namespace sluice;

constexpr const char* kApp = "history_driver";

struct Args {
  std::string batches, table, out, mode = "deletion_vectors";
  std::vector<std::string> keys, track;
  std::set<int64_t> rebuild_after, retry;
  int64_t checkpoint_interval = 10;
  int64_t file_rows = 0;
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
    ARROW_ASSIGN_OR_RAISE(history_,
                          merge::HistoryTable::Open(location_, {args_.keys, args_.track}));
    write_.mode = args_.mode == "copy_on_write" ? merge::MergeMode::kCopyOnWrite
                                                : merge::MergeMode::kDeletionVectors;
    write_.app_id = kApp;
    write_.commit.checkpoint_interval = args_.checkpoint_interval;
    if (args_.file_rows > 0) {
      write_.data.row_group_rows = args_.file_rows;
      write_.data.target_file_size = 1;
    }
    int64_t batches = 0;
    for (int64_t i = 0;; ++i) {
      char name[64];
      std::snprintf(name, sizeof(name), "batch_%04lld.parquet", static_cast<long long>(i));
      auto path = std::filesystem::path(args_.batches) / name;
      if (!std::filesystem::exists(path)) break;
      ARROW_ASSIGN_OR_RAISE(auto raw, ReadBatch(path.string()));
      ARROW_ASSIGN_OR_RAISE(auto batch, Conform(raw));
      ARROW_RETURN_NOT_OK(Apply(*batch, i + 1, /*expect_applied=*/false));
      if (args_.retry.count(i)) {
        history_->Reset();  // a restarted process
        ARROW_RETURN_NOT_OK(Apply(*batch, i + 1, /*expect_applied=*/true));
      }
      if (args_.rebuild_after.count(i)) {
        ARROW_RETURN_NOT_OK(CheckRebuild());
        history_->Reset();
      }
      ++batches;
    }
    ARROW_RETURN_NOT_OK(CheckRebuild());
    return WriteOutput(batches);
  }

 private:
  Result<std::shared_ptr<arrow::RecordBatch>> Conform(
      const std::shared_ptr<arrow::RecordBatch>& batch) {
    if (!schema_) {
      schema_ = first_schema_ = pipeline::StorableSchema(batch->schema());
    } else {
      ARROW_ASSIGN_OR_RAISE(schema_, pipeline::EvolveSchema("driver", schema_, *batch,
                                                            pipeline::SchemaEvolution::kMerge));
    }
    return pipeline::ConformBatch("driver", batch, schema_);
  }

  Status Apply(const arrow::RecordBatch& batch, int64_t version, bool expect_applied) {
    auto write = write_;
    write.version = version;
    write.allow_schema_change = schema_ != first_schema_;
    ARROW_ASSIGN_OR_RAISE(auto step, history_->Apply(batch, write));
    if (step.already_applied != expect_applied) {
      return Status::Invalid("batch version ", version, ": already_applied is ",
                             step.already_applied, ", expected ", expect_applied);
    }
    return Status::OK();
  }

  /// The index rebuilt from the table equals the incremental one.
  Status CheckRebuild() {
    const merge::HistoryIndex* held = history_->index();
    if (!held) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(location_));
    if (!snapshot) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto rebuilt,
                          merge::HistoryIndex::Build(*snapshot, location_, held->encoder()));
    if (rebuilt->version() != held->version()) {
      return Status::Invalid("rebuilt index at version ", rebuilt->version(), ", incremental at ",
                             held->version());
    }
    auto a = rebuilt->Entries();
    auto b = held->Entries();
    if (a.size() != b.size()) {
      return Status::Invalid("rebuilt index has ", a.size(), " versions, incremental ", b.size());
    }
    for (size_t i = 0; i < a.size(); ++i) {
      if (!(a[i] == b[i])) {
        return Status::Invalid("rebuilt and incremental index differ at version ", i, " (file '",
                               a[i].file, "' vs '", b[i].file, "', row ", a[i].row, " vs ",
                               b[i].row, ")");
      }
    }
    // Orphan deletes: the side table holds exactly what the index learnt.
    auto oa = rebuilt->Orphans();
    auto ob = held->Orphans();
    if (oa != ob) {
      return Status::Invalid("rebuilt index has ", oa.size(), " orphan deletes, incremental ",
                             ob.size(), " (or they differ)");
    }
    return Status::OK();
  }

  Status WriteOutput(int64_t batches) {
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
    std::cout << "{\"batches\": " << batches << ", \"rows\": " << table->num_rows()
              << ", \"version\": " << (snapshot ? snapshot->version() : -1) << "}\n";
    return Status::OK();
  }

  Args args_;
  io::TableLocation location_;
  merge::HistoryWriteOptions write_;
  std::unique_ptr<merge::HistoryTable> history_;
  std::shared_ptr<arrow::Schema> schema_, first_schema_;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "history_driver: " << flag << " needs a value\n";
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
    } else if (flag == "--track") {
      args.track = Split(value);
    } else if (flag == "--mode") {
      args.mode = value;
    } else if (flag == "--rebuild-after") {
      args.rebuild_after = SplitInts(value);
    } else if (flag == "--retry") {
      args.retry = SplitInts(value);
    } else if (flag == "--checkpoint-interval") {
      args.checkpoint_interval = std::stoll(value);
    } else if (flag == "--file-rows") {
      args.file_rows = std::stoll(value);
    } else {
      std::cerr << "history_driver: unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (args.batches.empty() || args.table.empty() || args.out.empty() || args.keys.empty() ||
      (args.mode != "deletion_vectors" && args.mode != "copy_on_write")) {
    std::cerr << "usage: history_driver --batches DIR --table DIR --out FILE --keys k1[,k2] "
                 "[--track c1,c2] [--mode deletion_vectors|copy_on_write] [--rebuild-after i,j] "
                 "[--retry i,j] [--checkpoint-interval n] [--file-rows n]\n";
    return 2;
  }
  auto st = Driver(std::move(args)).Run();
  if (!st.ok()) {
    std::cerr << "history_driver: " << st.ToString() << "\n";
    return 1;
  }
  return 0;
}
