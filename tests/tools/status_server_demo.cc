// Serves the ops endpoints (status page, /api/status, /metrics, /healthz,
// /readyz) for three fake tables whose figures change over time, for
// tests/ops and for looking at the page by hand:
//
//   build/tests/unit/status_server_demo --port 9400 [--token T]
//       [--stop-after-s N] [--interval-ms MS] [--request-timeout-ms MS]
//
// shop.orders runs, shop.customers catches up through a shrinking backlog,
// inventory.items runs until --stop-after-s (0: stopped from the start) and
// then stops on a refused schema change. Prints "listening on URL" once
// bound; exits on SIGINT/SIGTERM.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "sluice/core/clock.h"
#include "sluice/server/http_server.h"
#include "sluice/server/metrics_registry.h"
#include "sluice/server/ops_routes.h"
#include "sluice/server/pipeline_metrics.h"
#include "sluice/server/status_board.h"

namespace {

using namespace sluice::server;

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct FakeTable {
  std::string name;
  double events_per_second = 0;
  int64_t events = 0;
  int64_t merged = 0;
  int64_t log_version = 0;
  int64_t merged_version = 0;
  int64_t dead = 0;
  int64_t backlog = 0;
  TableMetrics metrics;
};

[[noreturn]] void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--port P] [--host H] [--token T] [--stop-after-s N] "
               "[--interval-ms MS] [--request-timeout-ms MS]\n",
               argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;
  double stop_after_s = 0;
  int64_t interval_ms = 1000;
  int64_t request_timeout_ms = 5000;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) Usage(argv[0]);
    if (arg == "--port") {
      port = std::atoi(argv[++i]);
    } else if (arg == "--host") {
      host = argv[++i];
    } else if (arg == "--token") {
      token = argv[++i];
    } else if (arg == "--stop-after-s") {
      stop_after_s = std::atof(argv[++i]);
    } else if (arg == "--request-timeout-ms") {
      request_timeout_ms = std::atoll(argv[++i]);
    } else if (arg == "--interval-ms") {
      interval_ms = std::atoll(argv[++i]);
    } else {
      Usage(argv[0]);
    }
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  const int64_t start_ms = sluice::WallClockMs();
  MetricsRegistry registry;
  auto metrics = PipelineMetrics::Make(&registry).ValueOrDie();
  StatusBoard board({"demo", "0.1.0", start_ms, interval_ms, 360});

  std::vector<FakeTable> tables(3);
  tables[0].name = "shop.orders";
  tables[0].events_per_second = 180;
  tables[1].name = "shop.customers";
  tables[1].events_per_second = 900;
  tables[2].name = "inventory.items";
  tables[2].events_per_second = 40;
  tables[1].backlog = 400;
  for (FakeTable& t : tables) t.metrics = metrics->ForTable(t.name);
  // Two dead letters before start, so the first page already lists some.
  tables[0].dead = 2;
  tables[0].metrics.dead_letters->Increment(2);

  // A minute of history, so sparklines have something to draw at once.
  for (int64_t k = 60; k > 0; --k) {
    const int64_t t_ms = start_ms - k * interval_ms;
    for (FakeTable& t : tables) {
      t.events += static_cast<int64_t>(t.events_per_second * interval_ms / 1000.0 *
                                       (1.0 + 0.4 * std::sin(static_cast<double>(k) / 5)));
      board.RecordSample(t.name, t_ms, t.events, 2.0 + std::sin(static_cast<double>(k) / 7),
                         0.2 + 0.1 * std::cos(static_cast<double>(k) / 3));
    }
  }

  HttpServerOptions options;
  options.address = {host, static_cast<uint16_t>(port)};
  options.token = token;
  options.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  HttpServer server(options);
  sluice::Status st = AddOpsRoutes(&server, &registry, &board);
  if (st.ok()) st = server.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "status_server_demo: %s\n", st.ToString().c_str());
    return 1;
  }

  int tick = 0;
  while (!g_stop) {
    const int64_t now = sluice::WallClockMs();
    const double elapsed_s = static_cast<double>(now - start_ms) / 1000.0;
    for (size_t i = 0; i < tables.size(); ++i) {
      FakeTable& t = tables[i];
      const bool items_stopped = t.name == "inventory.items" && elapsed_s >= stop_after_s;
      TableStatus s;
      s.name = t.name;
      s.source = "gs://bucket/stream/" + t.name;
      if (!items_stopped) {
        const int64_t batch = static_cast<int64_t>(t.events_per_second * 0.2 *
                                                   (1.0 + 0.5 * std::sin(tick / 10.0 + i)));
        t.events += batch;
        t.merged += batch * 9 / 10;
        t.metrics.events_ingested->Increment(static_cast<double>(batch));
        t.metrics.rows_merged->Increment(static_cast<double>(batch * 9 / 10));
        t.metrics.bytes_read->Increment(static_cast<double>(batch * 312));
        t.metrics.batch_duration_seconds->Observe(0.05 + 0.02 * (tick % 7));
        if (tick % 5 == 0) {
          ++t.log_version;
          t.metrics.log_commits->Increment();
          t.metrics.commit_duration_seconds->Observe(0.03 + 0.01 * (tick % 3));
        }
        if (tick % 25 == 0) {
          ++t.merged_version;
          t.metrics.merged_commits->Increment();
        }
      }
      if (t.name == "shop.customers" && t.backlog > 0)
        t.backlog = std::max<int64_t>(0, t.backlog - 1);
      if (t.name == "shop.orders" && tick % 40 == 7) {
        ++t.dead;
        t.metrics.dead_letters->Increment();
      }
      const double lag = items_stopped ? elapsed_s - stop_after_s + 30
                                       : 1.5 + std::sin(tick / 15.0 + i) + (t.backlog / 40.0);
      t.metrics.source_lag_seconds->Set(lag);
      t.metrics.backlog->Set(static_cast<double>(t.backlog));
      t.metrics.stopped->Set(items_stopped ? 1 : 0);
      board.RecordSample(t.name, now, t.events, lag, 0.05 + 0.02 * (tick % 7));

      s.state = items_stopped   ? TableState::kStopped
                : t.backlog > 0 ? TableState::kCatchingUp
                                : TableState::kRunning;
      if (items_stopped) {
        s.state_reason = "schema change refused: column price changed DECIMAL(10,2) -> STRING";
      } else if (t.backlog > 0) {
        s.state_reason = "backfill: " + std::to_string(t.backlog) + " files pending";
      }
      s.lag_seconds = lag;
      s.backlog = t.backlog;
      s.events_ingested = t.events;
      s.rows_merged = t.merged;
      s.dead_letters = t.dead;
      s.versions.log = t.log_version;
      s.versions.merged = t.merged_version;
      if (t.name == "shop.orders") s.versions.history = t.merged_version;
      s.last_commit = CommitRecord{"log", t.log_version, now - (tick % 5) * 200, 180, 0.042};
      for (int64_t d = t.dead; d > 0 && d > t.dead - 3; --d) {
        s.newest_dead_letters.push_back({now - (t.dead - d) * 8000,
                                         "amount: value 1e400 does not fit DECIMAL(12,2)",
                                         "stream/shop.orders/2026/12/03/part-" + std::to_string(d) +
                                             ".avro#" + std::to_string(d * 17)});
      }
      if (t.name == "inventory.items") {
        if (items_stopped) {
          s.schema_changes.push_back(
              {now - 1000, "column price changed DECIMAL(10,2) -> STRING", false});
        }
        s.schema_changes.push_back({start_ms - 3'600'000, "added column note STRING", true});
      }
      board.Publish(std::move(s));
    }
    if (tick == 0) {
      // Announced once every table has been published and counted, so a
      // client never sees a half-filled first state.
      std::printf("listening on http://%s/\n",
                  ListenAddress{host, server.port()}.ToString().c_str());
      std::fflush(stdout);
    }
    ++tick;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  server.Stop();
  return 0;
}
