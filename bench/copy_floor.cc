// The copy floor of the benchmark (docs/BENCHMARKS.md): reads the Datastream
// Avro files of one table folder in path order, decodes them with Sluice's own
// decoder (sources/datastream DecodeFile, formats/avro) and writes each batch
// of N files once as Parquet with Sluice's own data writer (delta/data_writer:
// the same codec, row groups and parallel column encoding as the log and
// merged tables). Nothing else: no normalisation, no
// sequence keys, no Delta log, no merge. What Sluice does beyond this is the
// price of the log and merged tables.
//
// With --format dms-parquet|dms-csv it reads the DMS files of one table
// folder instead (full load first, then path order, as sluice run hands them
// out) with the DMS source's own reader (sources/dms ReadDmsFile: Parquet
// columns as typed, CSV cells as text, no casts) and writes them the same way.
//
//   copy_floor --source DIR --out DIR [--files-per-batch N] [--compression C]
//              [--format avro|dms-parquet|dms-csv]
//
// Prints one JSON object: {"files":n,"events":n,"batches":n,"bytes_written":n,
// "seconds":x,"decode_seconds":x,"write_seconds":x,"batch_ms":[...]}.
#include <arrow/buffer.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "sluice/delta/data_writer.h"
#include "sluice/sources/datastream/file_decoder.h"
#include "sluice/sources/dms/dms_file_reader.h"

namespace {

namespace fs = std::filesystem;
namespace ds = sluice::sources::datastream;
namespace dms = sluice::sources::dms;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string source;
  std::string out;
  int files_per_batch = 10;
  std::string compression = "zstd";
  std::string format = "avro";  ///< avro | dms-parquet | dms-csv
  bool dms() const { return format != "avro"; }
};

struct Totals {
  int64_t files = 0;
  int64_t events = 0;
  int64_t batches = 0;
  int64_t bytes_written = 0;
  double decode_seconds = 0;
  double write_seconds = 0;
  std::vector<double> batch_ms;
};

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The input files in the order sluice run reads them: path order; for DMS
// full-load files first (docs/dms.md, Order of units).
sluice::Result<std::vector<std::string>> ListFiles(const std::string& root,
                                                   const Options& options) {
  std::string ext = options.format == "avro"          ? ".avro"
                    : options.format == "dms-parquet" ? ".parquet"
                                                      : ".csv";
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ext) {
      files.push_back(it->path().string());
    }
  }
  if (ec) return sluice::Status::IOError("listing ", root, ": ", ec.message());
  auto full_load_first = [&](const std::string& path) {
    return !(options.dms() && fs::path(path).filename().string().starts_with("LOAD"));
  };
  std::sort(files.begin(), files.end(), [&](const std::string& a, const std::string& b) {
    return std::pair(full_load_first(a), a) < std::pair(full_load_first(b), b);
  });
  return files;
}

// One file's rows: Datastream Avro through DecodeFile, DMS through the DMS
// source's reader; undecodable parts fail the run (the floor has no dead
// letters).
sluice::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> DecodeInput(
    const std::shared_ptr<arrow::Buffer>& bytes, const std::string& path, const Options& run) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  if (!run.dms()) {
    ARROW_ASSIGN_OR_RAISE(auto decoded, ds::DecodeFile(bytes, path, ds::DecodeOptions{}));
    if (decoded.unreadable || !decoded.bad.empty()) {
      return sluice::Status::Invalid(path, ": ", decoded.bad.size(), " undecodable parts");
    }
    return std::move(decoded.batches);
  }
  dms::DmsSettings settings;
  settings.parquet = run.format == "dms-parquet";
  auto name = dms::ParseDmsFileName(fs::path(path).filename().string(), settings.parquet);
  if (!name) return sluice::Status::Invalid(path, ": not a DMS file name");
  ARROW_ASSIGN_OR_RAISE(auto rows, dms::ReadDmsFile(bytes, *name, path, settings, {}));
  if (!rows.bad.empty()) {
    return sluice::Status::Invalid(path, ": ", rows.bad.size(), " undecodable records");
  }
  for (auto& part : rows.parts) out.push_back(std::move(part.batch));
  return out;
}

sluice::Status CopyBatch(const std::vector<std::string>& paths, const std::string& out_dir,
                         const Options& run, Totals& totals) {
  auto t0 = Clock::now();
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (const auto& path : paths) {
    ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
    ARROW_ASSIGN_OR_RAISE(auto size, file->GetSize());
    ARROW_ASSIGN_OR_RAISE(auto bytes, file->Read(size));
    ARROW_ASSIGN_OR_RAISE(auto decoded, DecodeInput(bytes, path, run));
    for (auto& b : decoded) {
      totals.events += b->num_rows();
      batches.push_back(std::move(b));
    }
    ++totals.files;
  }
  auto t1 = Clock::now();
  totals.decode_seconds += std::chrono::duration<double>(t1 - t0).count();
  if (!batches.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(batches));
    // Sluice's own data writer (its Parquet settings, parallel column
    // encoding and per-file stats): the floor is one write of the input.
    arrow::fs::LocalFileSystem local;
    sluice::delta::DataWriteOptions write;
    write.compression = run.compression;
    ARROW_ASSIGN_OR_RAISE(auto adds,
                          sluice::delta::WriteDataFiles(local, out_dir, table, {}, write));
    for (const auto& add : adds) totals.bytes_written += add.size;
  }
  totals.write_seconds += SecondsSince(t1);
  totals.batch_ms.push_back(SecondsSince(t0) * 1000.0);
  ++totals.batches;
  return sluice::Status::OK();
}

sluice::Status Run(const Options& options) {
  auto t0 = Clock::now();
  ARROW_ASSIGN_OR_RAISE(auto files, ListFiles(options.source, options));
  std::error_code ec;
  fs::create_directories(options.out, ec);
  if (ec) return sluice::Status::IOError("creating ", options.out, ": ", ec.message());
  Totals totals;
  for (size_t first = 0; first < files.size(); first += options.files_per_batch) {
    size_t last = std::min(files.size(), first + options.files_per_batch);
    std::vector<std::string> group(files.begin() + first, files.begin() + last);
    ARROW_RETURN_NOT_OK(CopyBatch(group, options.out, options, totals));
  }
  std::printf(
      "{\"files\":%lld,\"events\":%lld,\"batches\":%lld,\"bytes_written\":%lld,"
      "\"seconds\":%.6f,\"decode_seconds\":%.6f,\"write_seconds\":%.6f,\"batch_ms\":[",
      static_cast<long long>(totals.files), static_cast<long long>(totals.events),
      static_cast<long long>(totals.batches), static_cast<long long>(totals.bytes_written),
      SecondsSince(t0), totals.decode_seconds, totals.write_seconds);
  for (size_t i = 0; i < totals.batch_ms.size(); ++i) {
    std::printf("%s%.3f", i ? "," : "", totals.batch_ms[i]);
  }
  std::printf("]}\n");
  return sluice::Status::OK();
}

int Usage() {
  std::fprintf(stderr,
               "usage: copy_floor --source DIR --out DIR [--files-per-batch N] [--compression C]\n"
               "                  [--format avro|dms-parquet|dms-csv]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    if (arg == "--source") {
      options.source = argv[++i];
    } else if (arg == "--out") {
      options.out = argv[++i];
    } else if (arg == "--files-per-batch") {
      options.files_per_batch = std::atoi(argv[++i]);
    } else if (arg == "--compression") {
      options.compression = argv[++i];
    } else if (arg == "--format") {
      options.format = argv[++i];
    } else {
      return Usage();
    }
  }
  if (options.source.empty() || options.out.empty() || options.files_per_batch < 1 ||
      (options.format != "avro" && options.format != "dms-parquet" &&
       options.format != "dms-csv")) {
    return Usage();
  }
  auto st = Run(options);
  if (!st.ok()) {
    std::fprintf(stderr, "copy_floor: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
