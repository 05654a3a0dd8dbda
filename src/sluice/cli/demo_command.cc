// `sluice demo`: the real pipeline on a stream it makes up. Writes a Google
// Datastream JSON stream of a small MySQL database (demo_stream.h) under
// DIR/stream, ingests it with pipeline::Run exactly as `sluice run --once`
// would (change log, merged and SCD2 history tables under DIR/lake, with the
// same progress lines and summary), then reads every table back and checks
// its rows against what was generated.
#include <arrow/api.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "sluice/cli/commands.h"
#include "sluice/cli/demo_stream.h"
#include "sluice/delta/snapshot.h"
#include "sluice/delta/table_reader.h"
#include "sluice/io/table_location.h"
#include "sluice/pipeline/runner.h"

namespace sluice::cli {

namespace {

namespace fs = std::filesystem;

// What one Delta table holds, read back from its log (and, for a history
// table, its rows).
struct TableReadBack {
  bool exists = false;
  int64_t version = -1;
  int64_t rows = 0;
  std::optional<int64_t> current;  ///< history: versions still open (__END_AT null)
};

Result<TableReadBack> ReadBack(const std::string& path, bool history) {
  TableReadBack out;
  if (!fs::is_directory(fs::path(path) / "_delta_log")) return out;
  ARROW_ASSIGN_OR_RAISE(auto location, io::OpenTableLocation(path));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::Snapshot::Load(location.log));
  out.exists = true;
  out.version = snapshot->version();
  std::optional<int64_t> rows = snapshot->NumRecords();
  if (!history && rows) {
    out.rows = *rows;
    return out;
  }
  ARROW_ASSIGN_OR_RAISE(auto table, delta::ReadSnapshot(*snapshot, location));
  out.rows = table->num_rows();
  if (auto end_at = table->GetColumnByName("__END_AT")) {
    out.current = end_at->null_count();
  }
  return out;
}

// DIR may be new, empty, or an earlier demo's output (only stream/ and
// lake/); anything else is the user's and is left alone.
Status PrepareDirectory(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return Status::Invalid(dir.string(), " exists and is not a directory");
    }
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name != "stream" && name != "lake") {
        return Status::Invalid(dir.string(), " holds '", name,
                               "': sluice demo only replaces its own stream/ and lake/; "
                               "choose a new or empty directory with --dir");
      }
    }
    if (ec) return Status::IOError("cannot list ", dir.string(), ": ", ec.message());
    for (const char* own : {"stream", "lake"}) {
      fs::remove_all(dir / own, ec);
      if (ec) return Status::IOError("cannot remove ", (dir / own).string(), ": ", ec.message());
    }
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create ", dir.string(), ": ", ec.message());
  return Status::OK();
}

pipeline::Config DemoConfig(const fs::path& dir) {
  pipeline::Config config;
  config.name = "sluice-demo";
  config.format = "json";
  config.source_path = (dir / "stream").string();
  config.table_source_type = "local-directory";
  config.sink_path = (dir / "lake").string();
  config.log_tables = true;
  config.history_tables = true;
  // Merge every batch, so the progress shows the merged and history tables
  // following the log (a real job merges every minute).
  config.merge_interval_ms = 0;
  // The source's column types, as a user pins them for JSON input (JSON has
  // no decimal, timestamp or boolean types of its own).
  for (const auto& spec : DemoTables()) {
    auto& table = config.tables[spec.qualified()];
    for (const auto& column : spec.columns) table.column_types[column.name] = column.delta_type;
  }
  return config;
}

void PrintRow(const std::string& name, const TableReadBack& t, const std::string& what) {
  char line[160];
  std::snprintf(line, sizeof(line), "  %-24s v%-4lld %8lld  %s", name.c_str(),
                static_cast<long long>(t.version), static_cast<long long>(t.rows), what.c_str());
  std::cout << line << "\n";
}

Status RunDemoImpl(const DemoArgs& args, int* exit_code) {
  DemoStreamOptions stream_options;
  stream_options.rows = args.rows;
  stream_options.batches = args.batches;
  if (Status st = CheckDemoStreamOptions(stream_options); !st.ok()) {
    *exit_code = 2;
    return st;
  }
  const fs::path dir = fs::absolute(args.dir).lexically_normal();
  ARROW_RETURN_NOT_OK(PrepareDirectory(dir));
  const std::string stream_dir = (dir / "stream").string();
  const std::string lake_dir = (dir / "lake").string();

  std::cout
      << "[demo] writing a Google Datastream JSON stream of a MySQL database (shop.customers, "
         "shop.orders): a backfill, then "
      << args.batches << " minutes of binlog changes, into " << stream_dir << std::endl;
  auto t0 = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto stats, WriteDemoStream(stream_dir, stream_options));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& specs = DemoTables();
  char took[32];
  std::snprintf(took, sizeof(took), "%.2f", secs);
  std::cout << "[demo] " << stats.events << " events in " << stats.files << " files (" << took
            << " s)" << std::endl;
  for (size_t t = 0; t < specs.size(); ++t) {
    const auto& c = stats.tables[t];
    std::cout << "[demo]   " << specs[t].qualified() << ": " << c.backfill << " backfill rows, "
              << c.inserts << " inserts, " << c.updates << " updates, " << c.deletes
              << " deletes in " << c.files << " files" << std::endl;
  }

  pipeline::Config config = DemoConfig(dir);
  ARROW_RETURN_NOT_OK(pipeline::ValidateForRun(config));
  std::cout << "\n[demo] ingesting it as `sluice run --once` would (source.format = json, "
               "sink.history_tables = true):\n"
            << std::endl;
  pipeline::RunOptions run_options;
  run_options.once = true;
  ARROW_ASSIGN_OR_RAISE(auto summary, pipeline::Run(config, run_options, std::cout));
  if (summary.failed_tables > 0) {
    *exit_code = 3;
    return Status::Invalid(summary.failed_tables, " table(s) stopped (see above)");
  }

  std::cout << "\n== Sluice demo: the tables, read back from " << lake_dir << " ==\n";
  std::vector<std::string> problems;
  for (size_t t = 0; t < specs.size(); ++t) {
    const auto& spec = specs[t];
    const auto& generated = stats.tables[t];
    const int64_t events =
        generated.backfill + generated.inserts + generated.updates + generated.deletes;
    const std::string base = lake_dir + "/" + spec.database + "/" + spec.table;
    ARROW_ASSIGN_OR_RAISE(auto log, ReadBack(base + "_log", false));
    ARROW_ASSIGN_OR_RAISE(auto merged, ReadBack(base, false));
    ARROW_ASSIGN_OR_RAISE(auto history, ReadBack(base + "_history", true));
    if (events == 0) continue;
    PrintRow(spec.qualified() + "_log", log,
             "change events (generated " + std::to_string(events) + ")");
    PrintRow(spec.qualified(), merged,
             "live rows (generated " + std::to_string(generated.live_rows) + ")");
    PrintRow(spec.qualified() + "_history", history,
             "versions" + (history.current ? ", " + std::to_string(*history.current) + " current"
                                           : std::string()));
    if (!log.exists || log.rows != events) {
      problems.push_back(spec.qualified() + "_log holds " + std::to_string(log.rows) + " rows, " +
                         std::to_string(events) + " events were generated");
    }
    if (!merged.exists || merged.rows != generated.live_rows) {
      problems.push_back(spec.qualified() + " holds " + std::to_string(merged.rows) +
                         " rows, the source ends with " + std::to_string(generated.live_rows));
    }
    if (history.current && *history.current != generated.live_rows) {
      problems.push_back(spec.qualified() + "_history has " + std::to_string(*history.current) +
                         " current versions, the source ends with " +
                         std::to_string(generated.live_rows) + " rows");
    }
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += "\n  " + p;
    return Status::Invalid("the tables do not match the generated stream:", all);
  }
  std::cout << "  every table matches the generated stream.\n\n"
            << "Look closer:\n"
            << "  sluice inspect " << lake_dir << "/shop/orders\n"
            << "  sluice cat " << lake_dir << "/shop/orders_history --out history.parquet\n"
            << "  sluice replay --log-table " << lake_dir
            << "/shop/orders_log --as-of <time> --out orders-then" << std::endl;
  return Status::OK();
}

}  // namespace

int RunDemo(const DemoArgs& args) {
  int exit_code = 1;
  Status st = RunDemoImpl(args, &exit_code);
  if (!st.ok()) {
    std::cerr << "sluice demo: " << st.ToString() << std::endl;
    return exit_code;
  }
  return 0;
}

}  // namespace sluice::cli
