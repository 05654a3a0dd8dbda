// `sluice replay`: a table as it was at a moment, rebuilt from its change log.
#include <chrono>
#include <iostream>

#include "sluice/cli/commands.h"
#include "sluice/cli/parquet_files.h"
#include "sluice/cli/progress.h"
#include "sluice/core/clock.h"
#include "sluice/pipeline/table_replay.h"

namespace sluice::cli {

int RunReplay(const ReplayArgs& args) {
  pipeline::ReplayOptions options;
  options.log_table = args.log_table;
  options.out = args.out;
  options.primary_keys = args.keys;
  options.mode =
      args.copy_on_write ? merge::MergeMode::kCopyOnWrite : merge::MergeMode::kDeletionVectors;
  if (args.as_of == "now") {
    options.as_of_us = WallClockUs();
  } else {
    auto ms = ParseTimestampMs(args.as_of);
    if (!ms.ok()) {
      std::cerr << "sluice replay: --as-of: " << ms.status().message() << std::endl;
      return 2;
    }
    // Millisecond precision: everything within that millisecond counts.
    options.as_of_us = *ms * 1000 + 999;
  }
  // Progress on stderr (rate and ETA on a terminal, plain lines otherwise);
  // stdout keeps the result line.
  Progress progress("replay " + args.log_table, Progress::Unit::kFiles, std::cerr,
                    Progress::StderrIsTerminal());
  options.progress = [&](int64_t done, int64_t total, int64_t) { progress.Update(done, total); };
  auto summary = pipeline::ReplayLogTable(options);
  progress.Finish();
  if (!summary.ok()) {
    std::cerr << "sluice replay " << args.log_table << ": " << summary.status().ToString()
              << std::endl;
    return 1;
  }
  std::cout << "replayed " << args.log_table << " as of " << args.as_of << " into " << args.out
            << ": " << summary->rows_taken << " of " << summary->log_rows << " changes applied ("
            << summary->rows_later << " later";
  if (summary->rows_no_time) std::cout << ", " << summary->rows_no_time << " without a time";
  if (summary->invalid) std::cout << ", " << summary->invalid << " without a usable key";
  std::cout << "), " << summary->commits << " commits, "
            << (summary->rows_out ? std::to_string(*summary->rows_out) : std::string("no"))
            << " rows" << std::endl;
  return 0;
}

}  // namespace sluice::cli
