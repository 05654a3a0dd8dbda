// `sluice write | delete | cat | checkpoint`: direct operations on one table.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>

#include <iostream>
#include <unordered_set>

#include "sluice/cli/commands.h"
#include "sluice/cli/parquet_files.h"
#include "sluice/delta/checkpointer.h"
#include "sluice/delta/data_writer.h"
#include "sluice/delta/table_reader.h"
#include "sluice/delta/table_writer.h"

namespace sluice::cli {

namespace {

int Fail(const std::string& what, const Status& st) {
  std::cerr << "sluice: " << what << ": " << st.ToString() << std::endl;
  return 1;
}

// Row indexes, per data file, whose `key` value is in `keys`. Keys are
// compared through their string form, which is exact for the key types
// sources produce (integers, strings, decimals, dates).
Result<std::map<std::string, delta::DeletionBitmap>> MatchKeys(
    const delta::Snapshot& snapshot, const io::TableLocation& location, const std::string& key,
    const std::unordered_set<std::string>& keys) {
  std::map<std::string, delta::DeletionBitmap> out;
  for (const auto& file : snapshot.files()) {
    delta::Add raw = file;
    raw.deletion_vector.reset();  // row indexes are positions in the file
    ARROW_ASSIGN_OR_RAISE(auto rows, delta::ReadDataFile(snapshot, location, raw));
    auto column = rows->GetColumnByName(key);
    if (!column) return Status::Invalid("table has no column '", key, "'");
    int64_t row = 0;
    delta::DeletionBitmap bitmap;
    for (const auto& chunk : column->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i, ++row) {
        if (chunk->IsNull(i)) continue;
        ARROW_ASSIGN_OR_RAISE(auto scalar, chunk->GetScalar(i));
        if (keys.count(scalar->ToString())) bitmap.Add(static_cast<uint64_t>(row));
      }
    }
    if (bitmap.Cardinality() > 0) out[file.path] = std::move(bitmap);
  }
  return out;
}

}  // namespace

int RunWrite(const WriteArgs& args) {
  auto codec = delta::ValidateCompression(args.codec.name, args.codec.level);
  if (!codec.ok()) return Fail("--compression", codec);
  auto location = io::OpenTableLocation(args.table);
  if (!location.ok()) return Fail(args.table, location.status());
  auto data = ReadParquetFile(args.input);
  if (!data.ok()) return Fail(args.input, data.status());
  delta::TableWriteOptions options;
  options.partition_columns = args.partition_by;
  options.deletion_vectors = !args.no_deletion_vectors;
  options.overwrite = args.mode == "overwrite";
  options.data.target_file_size = args.target_file_size;
  options.data.compression = args.codec.name;
  options.data.compression_level = args.codec.level;
  options.commit.checkpoint_interval = args.checkpoint_interval;
  if (!args.txn.empty()) {
    auto eq = args.txn.rfind('=');
    if (eq == std::string::npos) return Fail("--txn", Status::Invalid("expected APP_ID=VERSION"));
    options.txn = delta::Txn{args.txn.substr(0, eq), std::stoll(args.txn.substr(eq + 1)), {}};
  }
  auto result = delta::WriteTable(*location, *data, options);
  if (!result.ok()) return Fail("write to " + args.table, result.status());
  std::cout << "committed version " << result->version << " (" << (*data)->num_rows() << " rows)"
            << (result->checkpointed ? ", checkpoint written" : "") << std::endl;
  return 0;
}

int RunDelete(const DeleteArgs& args) {
  auto location = io::OpenTableLocation(args.table);
  if (!location.ok()) return Fail(args.table, location.status());
  auto snapshot = delta::Snapshot::Load(location->log);
  if (!snapshot.ok()) return Fail(args.table, snapshot.status());
  auto keys_table = ReadParquetFile(args.keys_from);
  if (!keys_table.ok()) return Fail(args.keys_from, keys_table.status());
  auto column = (*keys_table)->GetColumnByName(args.key);
  if (!column) return Fail(args.keys_from, Status::Invalid("no column '", args.key, "'"));
  std::unordered_set<std::string> keys;
  for (const auto& chunk : column->chunks()) {
    for (int64_t i = 0; i < chunk->length(); ++i) {
      if (chunk->IsNull(i)) continue;
      auto scalar = chunk->GetScalar(i);
      if (!scalar.ok()) return Fail(args.keys_from, scalar.status());
      keys.insert((*scalar)->ToString());
    }
  }
  auto matches = MatchKeys(**snapshot, *location, args.key, keys);
  if (!matches.ok()) return Fail("delete from " + args.table, matches.status());
  if (matches->empty()) {
    std::cout << "no rows matched" << std::endl;
    return 0;
  }
  auto mode = args.copy_on_write ? delta::DeleteMode::kCopyOnWrite
              : args.inline_dv   ? delta::DeleteMode::kInlineDeletionVectors
                                 : delta::DeleteMode::kDeletionVectors;
  auto result = delta::DeleteRows(*location, *snapshot, *matches, mode);
  if (!result.ok()) return Fail("delete from " + args.table, result.status());
  std::cout << "committed version " << result->version << std::endl;
  return 0;
}

int RunCat(const CatArgs& args) {
  auto location = io::OpenTableLocation(args.table);
  if (!location.ok()) return Fail(args.table, location.status());
  Result<std::shared_ptr<const delta::Snapshot>> snapshot;
  if (!args.timestamp.empty()) {
    auto ts = ParseTimestampMs(args.timestamp);
    if (!ts.ok()) return Fail("--timestamp", ts.status());
    snapshot = delta::Snapshot::LoadAsOf(location->log, *ts);
  } else {
    snapshot = delta::Snapshot::Load(location->log, args.version);
  }
  if (!snapshot.ok()) return Fail(args.table, snapshot.status());
  auto rows = delta::ReadSnapshot(**snapshot, *location);
  if (!rows.ok()) return Fail(args.table, rows.status());
  Status st = WriteParquetFile(*rows, args.out);
  if (!st.ok()) return Fail(args.out, st);
  return 0;
}

int RunCheckpoint(const std::string& table) {
  auto location = io::OpenTableLocation(table);
  if (!location.ok()) return Fail(table, location.status());
  auto snapshot = delta::Snapshot::Load(location->log);
  if (!snapshot.ok()) return Fail(table, snapshot.status());
  Status st = delta::WriteCheckpoint(**snapshot);
  if (!st.ok()) return Fail("checkpoint of " + table, st);
  std::cout << "checkpoint written at version " << (*snapshot)->version() << std::endl;
  return 0;
}

}  // namespace sluice::cli
