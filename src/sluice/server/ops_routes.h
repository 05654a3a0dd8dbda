// The routes of `sluice run --http`: wires a MetricsRegistry and a
// StatusBoard into an HttpServer.
//
//   /             the status page (public: a static shell with no data; it
//                 reads /api/status with the token the user gives it)
//   /api/status   the status JSON (table_status.h, docs/operations.md)
//   /metrics      Prometheus text format 0.0.4: the registry + process metrics
//   /healthz      200 "ok" while the process runs (public)
//   /readyz       200 when no table is stopped, else 503 naming them
#pragma once

#include <cstdint>
#include <functional>

#include "sluice/core/status.h"
#include "sluice/server/http_server.h"
#include "sluice/server/metrics_registry.h"
#include "sluice/server/status_board.h"

namespace sluice::server {

struct OpsRouteOptions {
  bool process_metrics = true;  ///< append process_* to /metrics
  /// The clock for snapshots (tests substitute one); empty: WallClockMs.
  std::function<int64_t()> now_ms;
};

/// \brief Adds the five routes to `server` (before its Start). `registry`
/// and `board` must outlive the server. Returns Status::Invalid if a pointer
/// is null or a route is already taken.
Status AddOpsRoutes(HttpServer* server, const MetricsRegistry* registry, const StatusBoard* board,
                    OpsRouteOptions options = {});

}  // namespace sluice::server
