// `sluice run`: the continuous (or --once) ingestion job.
#include <csignal>
#include <iostream>

#include "sluice/cli/commands.h"
#include "sluice/pipeline/runner.h"

namespace sluice::cli {

namespace {

void OnSignal(int) { pipeline::g_stop_requested = true; }

}  // namespace

int RunRun(const RunArgs& args) {
  auto config = pipeline::LoadConfig(args.config, pipeline::ProcessEnvironment());
  if (!config.ok()) {
    std::cerr << "sluice run: " << config.status().ToString() << std::endl;
    return 2;
  }
  pipeline::RunOptions options;
  options.once = args.once;
  options.metrics_path = args.metrics;
  if (!args.shard.empty()) {
    int i = 0, n = 0;
    if (std::sscanf(args.shard.c_str(), "%d/%d", &i, &n) != 2 || n < 1 || i < 0 || i >= n) {
      std::cerr << "sluice run: --shard expects i/n with 0 <= i < n, got '" << args.shard << "'"
                << std::endl;
      return 2;
    }
    options.shard_index = i;
    options.shard_count = n;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  auto summary = pipeline::Run(*config, options, std::cout);
  if (!summary.ok()) {
    std::cerr << "sluice run: " << summary.status().ToString() << std::endl;
    return 1;
  }
  // --once with a stopped table is a failure the caller must see.
  return summary->failed_tables > 0 ? 3 : 0;
}

}  // namespace sluice::cli
