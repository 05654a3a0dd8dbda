// A small embedded HTTP/1.1 server for /metrics, /healthz, /readyz and the
// status page. One background thread runs a poll(2) loop over the listening
// socket and every open connection, so the caller never blocks and a slow
// client costs a file descriptor, not a thread. One request per connection.
//
// What it refuses, before any handler runs: requests the parser rejects
// (see http_request.h: 400/405/431/505), paths without a route (404), a
// missing or wrong bearer token on a protected route (401), a client that
// has not sent a complete head within `request_timeout` (408), connections
// beyond `max_connections` (503 at once; past twice the limit, closed
// unanswered; or, with `evict_slow_clients`, the slowest waiting one makes
// room), a client address past its request budget (`rate_limit`: 429 with
// Retry-After, before routing, so a flood is answered cheaply). A request
// that arrives with its connection is read at once.
//
// The server thread is named "sluice-http" and runs at the lowest CPU
// priority (nice 19, see Run), so serving never takes CPU from ingestion.
//
// Thread-safety: AddRoute before Start only; Start/Stop from one thread;
// handlers run on the server thread, one at a time, and must be quick (they
// read a snapshot; they never wait on the pipeline).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "sluice/core/status.h"
#include "sluice/server/http_request.h"
#include "sluice/server/http_response.h"
#include "sluice/server/listen_address.h"
#include "sluice/server/metrics_registry.h"
#include "sluice/server/peer_rate_limiter.h"

namespace sluice::server {

struct HttpServerOptions {
  ListenAddress address{"127.0.0.1", 9400};
  /// Empty: no authentication. Otherwise protected routes need
  /// "Authorization: Bearer <token>".
  std::string token;
  size_t max_connections = 32;
  /// At `max_connections`, close the connection that has waited longest
  /// without a complete request head to make room for a newcomer, instead
  /// of refusing the newcomer with 503: a flood of slow clients (slowloris)
  /// then cannot keep a prompt client (a liveness probe) from being served;
  /// the price is that a slow but honest client may be cut off under load.
  /// `sluice run --http` turns it on.
  bool evict_slow_clients = false;
  /// From accept to a complete request head; then again to send the answer.
  std::chrono::milliseconds request_timeout{5000};
  HttpParserLimits parser_limits;
  /// Requests per second (and burst) per client address; the default
  /// (requests_per_second 0) sets no limit. `sluice run --http` sets one.
  PeerRateLimitOptions rate_limit;
  /// Incremented for each request refused by `rate_limit`; may be null.
  /// Must outlive the server.
  Counter* rate_refused = nullptr;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

enum class RouteAccess {
  kProtected,  ///< needs the token when one is set
  kPublic,     ///< never needs it (the static page shell, /healthz)
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  /// Stops the server if running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// \brief Serves `handler` for GET and HEAD of exactly `path` (no prefix
  /// matching, no decoding). Returns Status::Invalid after Start, for a path
  /// not starting with '/', or a path already routed.
  Status AddRoute(const std::string& path, HttpHandler handler,
                  RouteAccess access = RouteAccess::kProtected);

  /// \brief Binds and listens, then starts the server thread. Returns an
  /// IOError naming the address if binding fails (in use, not local), and
  /// Status::Invalid if already started.
  Status Start();

  /// The bound port (the kernel's choice when options.address.port was 0);
  /// 0 before Start.
  uint16_t port() const { return bound_port_; }

  /// \brief Closes the listening socket and every connection, then joins the
  /// server thread. Idempotent; returns within about one poll interval.
  void Stop();

 private:
  struct Route {
    HttpHandler handler;
    RouteAccess access;
  };
  void Run();

  HttpResponse Dispatch(const HttpRequest& request) const;

  HttpServerOptions options_;
  std::map<std::string, Route> routes_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  uint16_t bound_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sluice::server
