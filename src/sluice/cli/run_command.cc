// `sluice run`: the continuous (or --once) ingestion job, and with --http its
// metrics, health checks and status page (docs/operations.md).
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "sluice/cli/backfill_progress.h"
#include "sluice/cli/commands.h"
#include "sluice/cli/duration.h"
#include "sluice/cli/json_log.h"
#include "sluice/cli/ops_observer.h"
#include "sluice/core/clock.h"
#include "sluice/pipeline/event_log.h"
#include "sluice/pipeline/runner.h"
#include "sluice/server/http_server.h"
#include "sluice/server/ops_routes.h"
#include "sluice/server/pipeline_metrics.h"
#include "sluice/server/status_board.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "unknown"
#endif

namespace sluice::cli {

namespace {

// A stream is a backfill when its first count finds at least this many
// batches (and files) waiting.
constexpr int64_t kBackfillMinBatches = 4;
constexpr int64_t kBackfillMinUnits = 8;

void OnSignal(int) { pipeline::g_stop_requested = true; }

// What --http serves from, in the order it must be torn down (server first).
struct OpsServer {
  server::MetricsRegistry registry;
  std::unique_ptr<server::PipelineMetrics> metrics;
  std::unique_ptr<server::StatusBoard> board;
  std::unique_ptr<OpsObserver> observer;
  std::unique_ptr<server::HttpServer> http;

  ~OpsServer() {
    if (http) http->Stop();
  }
};

Result<std::unique_ptr<OpsServer>> StartOpsServer(const RunArgs& args,
                                                  const pipeline::Config& config,
                                                  std::ostream& out) {
  std::string token = args.http_token;
  if (token.empty()) {
    if (const char* env = std::getenv("SLUICE_HTTP_TOKEN")) token = env;
  }
  ARROW_ASSIGN_OR_RAISE(auto address, server::ParseListenAddress(args.http_address));
  ARROW_RETURN_NOT_OK(server::CheckBindAllowed(address, !token.empty(), args.http_insecure));
  auto ops = std::make_unique<OpsServer>();
  ARROW_ASSIGN_OR_RAISE(ops->metrics, server::PipelineMetrics::Make(&ops->registry));
  server::StatusBoardOptions board_options;
  board_options.pipeline_name = config.name;
  board_options.version = SLUICE_VERSION;
  board_options.started_at_ms = WallClockMs();
  ops->board = std::make_unique<server::StatusBoard>(board_options);
  ops->observer = std::make_unique<OpsObserver>(ops->metrics.get(), ops->board.get(),
                                                config.max_files_per_batch);
  server::HttpServerOptions http_options;
  http_options.address = address;
  http_options.token = token;
  // A liveness probe must get through a flood of slow clients.
  http_options.evict_slow_clients = true;
  // A flood from one client is answered 429 cheaply; other clients (probes,
  // Prometheus) keep their own budgets.
  http_options.rate_limit.requests_per_second = args.http_max_requests_per_second;
  http_options.rate_limit.burst = 2 * args.http_max_requests_per_second;
  ARROW_ASSIGN_OR_RAISE(
      auto* refused,
      ops->registry.AddCounter("sluice_http_requests_refused_total",
                               "HTTP requests refused before being served", {"reason"}));
  ARROW_ASSIGN_OR_RAISE(http_options.rate_refused, refused->WithLabels({"rate"}));
  ops->http = std::make_unique<server::HttpServer>(http_options);
  ARROW_RETURN_NOT_OK(server::AddOpsRoutes(ops->http.get(), &ops->registry, ops->board.get()));
  ARROW_RETURN_NOT_OK(ops->http->Start());
  server::ListenAddress bound = address;
  bound.port = ops->http->port();
  out << "[sluice] serving http://" << bound.ToString() << "/ (metrics, healthz, readyz"
      << (token.empty() ? "" : "; token required") << ")" << std::endl;
  return ops;
}

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
  // Progress lines: as they are, or one JSON object each (--log-format json).
  std::unique_ptr<JsonLogStreambuf> json_buf;
  std::unique_ptr<std::ostream> json_out;
  if (args.log_format == "json") {
    json_buf = std::make_unique<JsonLogStreambuf>(std::cout);
    json_out = std::make_unique<std::ostream>(json_buf.get());
  }
  std::ostream& progress = json_out ? *json_out : std::cout;
  std::unique_ptr<pipeline::EventLog> event_log;
  if (args.event_log) {
    auto retention = ParseDurationArg(args.event_log_retention);
    if (!retention.ok()) {
      std::cerr << "sluice run: --event-log-retention: " << retention.status().ToString()
                << std::endl;
      return 2;
    }
    pipeline::EventLogOptions log_options;
    log_options.retention_ms = *retention;
    event_log = std::make_unique<pipeline::EventLog>(*config, log_options, progress);
    options.observers.push_back(event_log.get());
  }
  // A first backfill (a stream that starts with many files waiting) shows
  // its progress on stderr; the commit lines stay on stdout.
  BackfillProgress backfill(
      std::cerr, Progress::StderrIsTerminal(),
      std::max<int64_t>(kBackfillMinBatches * config->max_files_per_batch, kBackfillMinUnits));
  options.observers.push_back(&backfill);
  std::unique_ptr<OpsServer> ops;
  if (args.http) {
    auto started = StartOpsServer(args, *config, progress);
    if (!started.ok()) {
      std::cerr << "sluice run: --http: " << started.status().ToString() << std::endl;
      return 2;
    }
    ops = std::move(*started);
    options.observers.push_back(ops->observer.get());
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  auto summary = pipeline::Run(*config, options, progress);
  progress.flush();
  if (!summary.ok()) {
    std::cerr << "sluice run: " << summary.status().ToString() << std::endl;
    return 1;
  }
  // --once with a stopped table is a failure the caller must see.
  return summary->failed_tables > 0 ? 3 : 0;
}

}  // namespace sluice::cli
