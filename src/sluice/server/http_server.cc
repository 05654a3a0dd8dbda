#include "sluice/server/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "sluice/server/bearer_token.h"

namespace sluice::server {
namespace {

using Clock = std::chrono::steady_clock;

// Longest wait of one poll: bounds how late a deadline is noticed.
constexpr int kMaxPollMs = 250;
// After the answer, how long unread request bytes are drained before close
// (closing with unread input makes the kernel send RST, which can destroy
// the answer in flight).
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kReadChunk = 4096;

enum class Phase { kReading, kWriting, kDraining };

// Connections accepted in one turn of the loop before the open ones are
// read again: a flood of new connections cannot push out, unread, one that
// arrived with its request.
constexpr size_t kMaxAcceptsPerTurn = 16;

struct Connection {
  int fd = -1;
  std::string peer;  ///< the client's address, the key of its request budget
  Phase phase = Phase::kReading;
  Clock::time_point accepted;
  std::string in;
  std::string out;
  size_t out_offset = 0;
  Clock::time_point deadline;
};

void CloseFd(int fd) {
  if (fd >= 0) ::close(fd);
}

// The client's address as text; an IPv4 client of a dual-stack socket
// (::ffff:a.b.c.d) as its IPv4 address, so it has one budget either way.
std::string PeerAddress(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof(text));
  } else if (addr.ss_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      ::inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof(text));
    } else {
      ::inet_ntop(AF_INET6, &a6, text, sizeof(text));
    }
  }
  return text;
}

// Names the calling thread (top -H, /proc/<pid>/task/*/comm) and lowers its
// CPU priority to the least. nice 19 rather than SCHED_IDLE: both leave the
// cores to ingestion when it wants them, but a SCHED_IDLE thread gets about
// a fifth of nice 19's share (weight 3 vs 15 against 1024 for nice 0) and
// never preempts on wakeup, so with ingestion saturating the cores a scrape
// waits longer still; at nice 19 a scrape (well under a millisecond of CPU)
// was answered within 0.5 s with ingestion and a flood saturating two cores:
// inside a kubelet probe's 1 s timeout and Prometheus's 10 s
// (docs/operations.md, "Cost of scraping"). Linux
// applies nice per thread (the tid), not per process. A failure (a sandbox
// forbidding it) leaves the thread at normal priority: serving still works.
void BecomeBackgroundThread() {
  ::pthread_setname_np(::pthread_self(), "sluice-http");
  [[maybe_unused]] int rc = ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::AddRoute(const std::string& path, HttpHandler handler, RouteAccess access) {
  if (thread_.joinable() || listen_fd_ >= 0) {
    return Status::Invalid("HttpServer::AddRoute after Start");
  }
  if (path.empty() || path.front() != '/') {
    return Status::Invalid(fmt::format("route '{}' must start with '/'", path));
  }
  if (!routes_.emplace(path, Route{std::move(handler), access}).second) {
    return Status::Invalid(fmt::format("route '{}' added twice", path));
  }
  return Status::OK();
}

Status HttpServer::Start() {
  if (listen_fd_ >= 0) return Status::Invalid("HttpServer already started");
  const std::string where = options_.address.ToString();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(options_.address.port);
  int rc = getaddrinfo(options_.address.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::IOError(fmt::format("cannot resolve {}: {}", where, gai_strerror(rc)));
  }
  int fd = -1;
  int last_errno = 0;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      last_errno = errno;
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return ErrnoStatus(last_errno, "listen on", where);

  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    if (bound.ss_family == AF_INET) {
      bound_port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    } else if (bound.ss_family == AF_INET6) {
      bound_port_ = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    }
  }
  if (::pipe2(wake_pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "pipe2 for", where);
  }
  listen_fd_ = fd;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_pipe_[1], &byte, 1);
  thread_.join();
  CloseFd(listen_fd_);
  CloseFd(wake_pipe_[0]);
  CloseFd(wake_pipe_[1]);
  listen_fd_ = wake_pipe_[0] = wake_pipe_[1] = -1;
}

HttpResponse HttpServer::Dispatch(const HttpRequest& request) const {
  auto it = routes_.find(request.path);
  if (it == routes_.end()) return HttpResponse::Text(404, "not found");
  if (!options_.token.empty() && it->second.access == RouteAccess::kProtected &&
      !BearerTokenMatches(request.Header("authorization"), options_.token)) {
    HttpResponse denied = HttpResponse::Text(401, "missing or wrong bearer token");
    denied.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"sluice\"");
    return denied;
  }
  // A handler's exception (bad_alloc, a JSON error) must not end the server
  // thread, and its text is not echoed to the client.
  try {
    return it->second.handler(request);
  } catch (...) {
    return HttpResponse::Text(500, "internal error");
  }
}

void HttpServer::Run() {
  BecomeBackgroundThread();
  PeerRateLimiter limiter(options_.rate_limit);
  std::vector<Connection> conns;
  std::vector<pollfd> fds;

  auto answer = [&](Connection& c, const HttpResponse& response, bool head_only) {
    c.out = SerializeResponse(response, head_only);
    c.out_offset = 0;
    c.phase = Phase::kWriting;
    c.deadline = Clock::now() + options_.request_timeout;
  };

  // Reads what `c` sent; answers once its head is complete (or refused).
  auto read = [&](Connection& c) {
    char buf[kReadChunk];
    ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {  // peer closed or error: nothing more to say
      CloseFd(c.fd);
      c.fd = -1;
      return;
    }
    if (c.phase == Phase::kDraining) return;
    c.in.append(buf, static_cast<size_t>(n));
    ParseResult parsed = ParseHttpRequest(c.in, options_.parser_limits);
    if (parsed.outcome == ParseOutcome::kIncomplete) return;
    if (parsed.outcome == ParseOutcome::kError) {
      HttpResponse refused = HttpResponse::Text(parsed.error_status, parsed.error);
      if (parsed.error_status == 405) refused.headers.emplace_back("Allow", "GET, HEAD");
      answer(c, refused, false);
    } else {
      const bool head_only = parsed.request.method == HttpMethod::kHead;
      // Refused before routing: a flood costs a parse and a short answer,
      // never a metrics rendering or a JSON document.
      PeerRateLimiter::Decision budget = limiter.Admit(c.peer, Clock::now());
      if (budget.admitted) {
        answer(c, Dispatch(parsed.request), head_only);
      } else {
        if (options_.rate_refused) options_.rate_refused->Increment();
        HttpResponse refused = HttpResponse::Text(429, "too many requests");
        refused.headers.emplace_back("Retry-After", std::to_string(budget.retry_after_s));
        answer(c, refused, head_only);
      }
    }
    c.in.clear();
  };

  auto write = [&](Connection& c) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
      CloseFd(c.fd);
      c.fd = -1;
      return;
    }
    c.out_offset += static_cast<size_t>(n);
    if (c.out_offset == c.out.size()) {
      ::shutdown(c.fd, SHUT_WR);
      c.phase = Phase::kDraining;
      c.out.clear();
      c.deadline = Clock::now() + kLingerTime;
    }
  };

  // The open connection accepted first among those in `phase`, or null.
  auto oldest = [&](Phase phase) -> Connection* {
    Connection* found = nullptr;
    for (Connection& c : conns) {
      if (c.fd >= 0 && c.phase == phase && (!found || c.accepted < found->accepted)) found = &c;
    }
    return found;
  };

  while (!stopping_) {
    const auto now = Clock::now();
    int timeout_ms = kMaxPollMs;
    for (const Connection& c : conns) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
      timeout_ms = std::max(0, std::min<int>(timeout_ms, static_cast<int>(left)));
    }
    fds.clear();
    fds.push_back({wake_pipe_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Connection& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.phase == Phase::kWriting ? POLLOUT : POLLIN), 0});
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (stopping_) break;

    // Existing connections first (indexes in fds match conns before accept).
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      const short revents = fds[i + 2].revents;
      if (revents == 0) continue;
      if (c.phase == Phase::kReading || c.phase == Phase::kDraining) {
        read(c);
      } else if (c.phase == Phase::kWriting) {
        write(c);
      }
    }

    // Deadlines: a slow request gets 408; a slow reader or drain is closed.
    const auto after = Clock::now();
    for (Connection& c : conns) {
      if (c.fd < 0 || after < c.deadline) continue;
      if (c.phase == Phase::kReading) {
        answer(c, HttpResponse::Text(408, "request head not received in time"), false);
        c.deadline = after + kLingerTime;
      } else {
        CloseFd(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(conns, [](const Connection& c) { return c.fd < 0; });

    if (fds[1].revents & POLLIN) {
      for (size_t accepted = 0; accepted < kMaxAcceptsPerTurn; ++accepted) {
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof(peer);
        int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;  // EAGAIN, or a transient error (EMFILE): retry next loop
        // At the limit, with evict_slow_clients, the connection that has
        // waited longest without sending a whole request head makes room
        // (slow clients cannot hold every slot while others wait); so does,
        // at twice the limit, the oldest one only draining an answer.
        // Otherwise (or when every slot is writing an answer) the newcomer
        // is refused: 503 through the normal write-and-drain path (closing
        // at once could reset the answer); past twice the limit it is
        // closed unanswered.
        auto active = [&] {
          return static_cast<size_t>(std::count_if(conns.begin(), conns.end(), [](const auto& c) {
            return c.fd >= 0 && c.phase != Phase::kDraining;
          }));
        };
        if (options_.evict_slow_clients) {
          Connection* evict = nullptr;
          if (active() >= options_.max_connections) evict = oldest(Phase::kReading);
          if (!evict && conns.size() >= 2 * options_.max_connections) {
            evict = oldest(Phase::kDraining);
          }
          if (evict) {
            CloseFd(evict->fd);
            evict->fd = -1;
          }
          std::erase_if(conns, [](const Connection& c) { return c.fd < 0; });
        }
        if (conns.size() >= 2 * options_.max_connections) {
          ::close(fd);
          continue;
        }
        Connection c;
        c.fd = fd;
        c.peer = PeerAddress(peer);
        c.accepted = Clock::now();
        c.deadline = c.accepted + options_.request_timeout;
        if (active() >= options_.max_connections) {
          answer(c, HttpResponse::Text(503, "too many connections"), false);
        } else {
          read(c);  // a request sent with the connection is answered at once
        }
        if (c.fd >= 0) conns.push_back(std::move(c));
      }
    }
  }
  for (Connection& c : conns) CloseFd(c.fd);
}

}  // namespace sluice::server
