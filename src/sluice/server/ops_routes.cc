#include "sluice/server/ops_routes.h"

#include "sluice/core/clock.h"
#include "sluice/server/process_metrics.h"
#include "sluice/server/status_page.h"

namespace sluice::server {

namespace {

struct Endpoints {
  const MetricsRegistry* registry;
  const StatusBoard* board;
  bool process_metrics;
  std::function<int64_t()> now_ms;
};

}  // namespace

Status AddOpsRoutes(HttpServer* server, const MetricsRegistry* registry, const StatusBoard* board,
                    OpsRouteOptions options) {
  if (server == nullptr || registry == nullptr || board == nullptr) {
    return Status::Invalid("AddOpsRoutes needs a server, a registry and a status board");
  }
  Endpoints ep{registry, board, options.process_metrics, std::move(options.now_ms)};
  if (!ep.now_ms) ep.now_ms = [] { return WallClockMs(); };

  ARROW_RETURN_NOT_OK(server->AddRoute(
      "/",
      [](const HttpRequest&) {
        HttpResponse page;
        page.content_type = "text/html; charset=utf-8";
        page.body = std::string(StatusPageHtml());
        // Everything is inline; the page may talk to this server only.
        page.headers.emplace_back(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'");
        page.headers.emplace_back("Referrer-Policy", "no-referrer");
        return page;
      },
      RouteAccess::kPublic));

  ARROW_RETURN_NOT_OK(server->AddRoute(
      "/healthz", [](const HttpRequest&) { return HttpResponse::Text(200, "ok"); },
      RouteAccess::kPublic));

  ARROW_RETURN_NOT_OK(server->AddRoute("/readyz", [ep](const HttpRequest&) {
    Readiness r = EvaluateReadiness(ep.board->Snapshot(ep.now_ms()));
    return HttpResponse::Text(r.ready ? 200 : 503, r.message);
  }));

  ARROW_RETURN_NOT_OK(server->AddRoute("/api/status", [ep](const HttpRequest&) {
    HttpResponse json;
    json.content_type = "application/json";
    json.body = StatusToJson(ep.board->Snapshot(ep.now_ms()));
    return json;
  }));

  ARROW_RETURN_NOT_OK(server->AddRoute("/metrics", [ep](const HttpRequest&) {
    HttpResponse metrics;
    metrics.content_type = std::string(kPrometheusContentType);
    metrics.body = ep.registry->Render();
    if (ep.process_metrics) metrics.body += RenderProcessMetrics(ReadProcessStats());
    return metrics;
  }));
  return Status::OK();
}

}  // namespace sluice::server
