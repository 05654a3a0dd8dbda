// `sluice snapshot`: the table as of the end of a date, from its change log
// (pipeline/table_snapshot.h, docs/snapshots.md).
#include <iostream>

#include "sluice/cli/commands.h"
#include "sluice/cli/progress.h"
#include "sluice/io/table_location.h"
#include "sluice/pipeline/config.h"
#include "sluice/pipeline/table_snapshot.h"

namespace sluice::cli {

namespace {

// The DMS source's `source.dms.cdc_start_date` (the snapshot generator's
// rule: nothing before the CDC start), "" when not set.
std::string DmsCdcStartDate(const pipeline::Config& config) {
  auto it = config.source_settings.find("source.dms.cdc_start_date");
  return it == config.source_settings.end() ? "" : it->second;
}

}  // namespace

int RunSnapshot(const SnapshotArgs& args) {
  auto config = pipeline::LoadConfig(args.config, pipeline::ProcessEnvironment());
  if (!config.ok()) {
    std::cerr << "sluice snapshot: " << config.status().ToString() << std::endl;
    return 2;
  }
  if (config->sink_path.empty()) {
    std::cerr << "sluice snapshot: no sink: set sink.path (or DELTA_TABLE_PATH / SLUICE_SINK_PATH)"
              << std::endl;
    return 2;
  }
  auto dot = args.table.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == args.table.size()) {
    std::cerr << "sluice snapshot: --table expects <database>.<table>, got '" << args.table << "'"
              << std::endl;
    return 2;
  }
  auto date = pipeline::ParseSnapshotDate(args.date);
  if (!date.ok()) {
    std::cerr << "sluice snapshot: --date: " << date.status().message() << std::endl;
    return 2;
  }
  const std::string db = args.table.substr(0, dot);
  const std::string name = config->table_prefix + args.table.substr(dot + 1);
  const std::string db_dir = io::JoinPath(config->sink_path, db);

  pipeline::SnapshotOptions options;
  options.log_table = io::JoinPath(db_dir, name + "_log");
  options.root = io::JoinPath(db_dir, name + "_snapshot");
  options.date = *date;
  options.partitioned = args.partitioned || config->snapshot_partitioned;
  options.partition_column = config->snapshot_partition_column;
  options.rebuild = args.rebuild;
  options.primary_keys = config->ForTable(args.table).primary_keys;
  options.data = pipeline::DataWriteOptionsFor(*config);
  // snapshot.start_date, else the DMS CDC start date (its day; a time after
  // the date is allowed: "2025-01-02T10:00:00" starts on 2025-01-02).
  std::string start_key = "snapshot.start_date";
  std::string start_text = config->snapshot_start_date;
  if (start_text.empty()) {
    start_key = "source.dms.cdc_start_date";
    start_text = DmsCdcStartDate(*config);
  }
  if (!start_text.empty()) {
    auto start = pipeline::ParseSnapshotDate(start_text.substr(0, 10));
    if (!start.ok()) {
      std::cerr << "sluice snapshot: " << start_key << ": " << start.status().message()
                << std::endl;
      return 2;
    }
    options.start_date = *start;
  }
  options.progress = [](const std::string& line) {
    std::cout << "[sluice] snapshot: " << line << std::endl;
  };
  // Rate and ETA on stderr (redrawn on a terminal, plain lines otherwise).
  Progress files("snapshot " + args.table + " " + args.date, Progress::Unit::kFiles, std::cerr,
                 Progress::StderrIsTerminal());
  options.files_progress = [&](int64_t done, int64_t total) { files.Update(done, total); };
  auto summary = pipeline::TakeSnapshot(options);
  files.Finish();
  if (!summary.ok()) {
    std::cerr << "sluice snapshot " << args.table << " " << args.date << ": "
              << summary.status().message() << std::endl;
    return 1;
  }
  std::cout << "snapshot of " << args.table << " as of the end of " << args.date << " (UTC) in "
            << summary->output;
  if (options.partitioned)
    std::cout << " partition " << options.partition_column << "=" << args.date;
  std::cout << ": " << summary->rows << " rows in " << summary->files << " files, version "
            << summary->version << "; "
            << (summary->incremental ? "incremental (" : "full replay (")
            << (summary->incremental ? std::string("from the snapshot state") : summary->why_full)
            << "), " << summary->changes_applied << " changes applied from "
            << summary->log_files_read << " log files read (" << summary->log_files_skipped
            << " skipped by their _cdc_ts statistics)";
  if (summary->invalid) std::cout << ", " << summary->invalid << " without a usable key";
  std::cout << std::endl;
  return 0;
}

}  // namespace sluice::cli
