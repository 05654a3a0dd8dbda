#include "sluice/server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_client.h"

namespace sluice::server {
namespace {

using namespace std::chrono_literals;
using testing::BodyOf;
using testing::Exchange;
using testing::Get;
using testing::RawClient;
using testing::StatusOf;

class HttpServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpServer> StartServer(HttpServerOptions options) {
    options.address = {"127.0.0.1", 0};
    auto server = std::make_unique<HttpServer>(options);
    EXPECT_TRUE(server
                    ->AddRoute("/hello",
                               [this](const HttpRequest& req) {
                                 ++handled_;
                                 return HttpResponse::Text(200, "hello " + req.query);
                               })
                    .ok());
    EXPECT_TRUE(server
                    ->AddRoute(
                        "/open", [](const HttpRequest&) { return HttpResponse::Text(200, "open"); },
                        RouteAccess::kPublic)
                    .ok());
    EXPECT_TRUE(
        server
            ->AddRoute("/throws",
                       [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); })
            .ok());
    Status st = server->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_NE(server->port(), 0);
    return server;
  }
  std::atomic<int> handled_{0};
};

TEST_F(HttpServerTest, RoutesByExactPath) {
  auto server = StartServer({});
  std::string ok = Get(server->port(), "/hello?x=1");
  EXPECT_EQ(StatusOf(ok), 200);
  EXPECT_EQ(BodyOf(ok), "hello x=1\n");
  EXPECT_NE(ok.find("Content-Length: 10\r\n"), std::string::npos);
  EXPECT_NE(ok.find("Connection: close\r\n"), std::string::npos);
  for (const char* path : {"/", "/hello/", "/hellox", "/HELLO", "/hello/../hello2", "/nothing"}) {
    EXPECT_NE(StatusOf(Get(server->port(), path)), 200) << path;
  }
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello/")), 404);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello/../hello")), 400);
  EXPECT_EQ(handled_, 1);
}

TEST_F(HttpServerTest, RateLimitRefusesBeforeRoutingAndCounts) {
  MetricsRegistry registry;
  HttpServerOptions options;
  options.rate_limit.requests_per_second = 0.5;
  options.rate_limit.burst = 3;
  options.rate_refused = &registry.AddCounter("refused_total", "refused").ValueOrDie()->Get();
  auto server = StartServer(options);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(StatusOf(Get(server->port(), "/hello")), 200) << i;
  std::string refused = Get(server->port(), "/hello");
  EXPECT_EQ(StatusOf(refused), 429);
  EXPECT_NE(refused.find("Retry-After: 2\r\n"), std::string::npos) << refused;
  EXPECT_EQ(StatusOf(Get(server->port(), "/nothing")), 429);  // before routing too
  EXPECT_EQ(handled_, 3);
  EXPECT_EQ(options.rate_refused->Value(), 2);
}

TEST_F(HttpServerTest, ServerThreadIsNamedAndAtTheLowestPriority) {
  auto server = StartServer({});
  // Answered: the thread has passed its first lines (it names itself).
  EXPECT_EQ(StatusOf(Get(server->port(), "/open")), 200);
  int found = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "sluice-http") continue;
    ++found;
    std::ifstream stat_file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    // After "(comm) ", field 3 (state) onwards; nice is field 19.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 19; ++i) fields >> field;
    EXPECT_EQ(field, "19") << stat;
  }
  EXPECT_EQ(found, 1);
}

TEST_F(HttpServerTest, HeadHasHeadersButNoBody) {
  auto server = StartServer({});
  std::string head = Exchange(server->port(), "HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(StatusOf(head), 200);
  EXPECT_NE(head.find("Content-Length: 7\r\n"), std::string::npos);
  EXPECT_EQ(BodyOf(head), "");
}

TEST_F(HttpServerTest, RefusesOtherMethodsAndAbsoluteForm) {
  auto server = StartServer({});
  std::string post = Exchange(server->port(), "POST /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(StatusOf(post), 405);
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(
      StatusOf(Exchange(server->port(), "GET http://127.0.0.1/hello HTTP/1.1\r\nHost: a\r\n\r\n")),
      400);
  EXPECT_EQ(StatusOf(Exchange(server->port(), "GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")),
            400);
  // A TLS ClientHello's first bytes: refused at once, not after the timeout.
  const auto start = std::chrono::steady_clock::now();
  const std::string tls("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  EXPECT_EQ(StatusOf(Exchange(server->port(), tls)), 400);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, TokenProtectsRoutesButNotPublicOnes) {
  HttpServerOptions options;
  options.token = "s3cret-token";
  auto server = StartServer(options);
  std::string none = Get(server->port(), "/hello");
  EXPECT_EQ(StatusOf(none), 401);
  EXPECT_NE(none.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello", "Authorization: Bearer wrong\r\n")), 401);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello", "Authorization: Bearer s3cret-token-x\r\n")),
            401);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello", "Authorization: Bearer s3cret-toke\r\n")), 401);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello", "Authorization: Basic s3cret-token\r\n")), 401);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello?token=s3cret-token")), 401);
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello", "Authorization: Bearer s3cret-token\r\n")), 200);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello", "authorization: bearer s3cret-token\r\n")), 200);
  EXPECT_EQ(StatusOf(Get(server->port(), "/open")), 200);
  // An unknown path is 404 with or without the token (no route is revealed either way).
  EXPECT_EQ(StatusOf(Get(server->port(), "/secret")), 404);
}

TEST_F(HttpServerTest, HugeHeaderIs431) {
  auto server = StartServer({});
  RawClient client(server->port());
  ASSERT_TRUE(client.connected());
  std::string request = "GET /hello HTTP/1.1\r\nHost: a\r\nCookie: " + std::string(20000, 'c');
  client.Send(request);  // may fail part-way once the server has answered
  std::string answer = client.ReadAll();
  EXPECT_EQ(StatusOf(answer), 431);
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, SlowClientTimesOutWith408AndOthersAreServedMeanwhile) {
  HttpServerOptions options;
  options.request_timeout = 300ms;
  auto server = StartServer(options);
  RawClient slow(server->port());
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send("GET /hello HTTP/1.1\r\nHo"));
  // The server thread is not held by the slow client.
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello")), 200);
  const auto start = std::chrono::steady_clock::now();
  std::string answer = slow.ReadAll(5s);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(StatusOf(answer), 408);
  EXPECT_LT(waited, 3s);
  EXPECT_EQ(handled_, 1);
}

TEST_F(HttpServerTest, TricklingBytesDoesNotExtendTheDeadline) {
  HttpServerOptions options;
  options.request_timeout = 400ms;
  auto server = StartServer(options);
  RawClient slow(server->port());
  ASSERT_TRUE(slow.connected());
  // 21 bytes, one every 30 ms: still arriving after the 400 ms deadline
  // (but within the server's linger time, so nothing is reset).
  for (char c : std::string("GET /hello HTTP/1.1\r\n")) {
    if (!slow.Send(std::string(1, c))) break;
    std::this_thread::sleep_for(30ms);
  }
  EXPECT_EQ(StatusOf(slow.ReadAll(2s)), 408);
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreTurnedAway) {
  HttpServerOptions options;
  options.max_connections = 2;
  options.request_timeout = 2000ms;
  auto server = StartServer(options);
  RawClient a(server->port()), b(server->port());
  ASSERT_TRUE(a.connected() && b.connected());
  ASSERT_TRUE(a.Send("G"));
  ASSERT_TRUE(b.Send("G"));
  std::this_thread::sleep_for(100ms);  // both accepted
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello")), 503);
  // Finishing one request frees a slot.
  ASSERT_TRUE(a.Send("ET /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(StatusOf(a.ReadAll()), 200);
  std::this_thread::sleep_for(50ms);
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(StatusOf(c.ReadAll()), 200);
}

TEST_F(HttpServerTest, EvictingSlowClientsServesNewcomersAtTheLimit) {
  HttpServerOptions options;
  options.max_connections = 2;
  options.request_timeout = 5000ms;
  options.evict_slow_clients = true;
  auto server = StartServer(options);
  RawClient a(server->port()), b(server->port());
  ASSERT_TRUE(a.connected() && b.connected());
  ASSERT_TRUE(a.Send("GET /hello HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(b.Send("GET /hello HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(100ms);  // both accepted, both slow
  // A prompt client is served at once: the slowest waiting one makes room.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello")), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  // `a` (the oldest) was closed unanswered; `b` still holds its slot.
  EXPECT_EQ(a.ReadAll(2s), "");
  ASSERT_TRUE(b.Send("st: a\r\n\r\n"));
  EXPECT_EQ(StatusOf(b.ReadAll()), 200);
  EXPECT_EQ(handled_, 2);
}

TEST_F(HttpServerTest, EvictingSlowClientsSurvivesAFloodOfThem) {
  HttpServerOptions options;
  options.max_connections = 4;
  options.request_timeout = 5000ms;
  options.evict_slow_clients = true;
  auto server = StartServer(options);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 10; ++i) {
      slow.push_back(std::make_unique<RawClient>(server->port()));
      slow.back()->Send("GET /hello HTTP/1.1\r\n");
    }
    EXPECT_EQ(StatusOf(Get(server->port(), "/hello")), 200) << "round " << round;
  }
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndServerKeepsServing) {
  auto server = StartServer({});
  EXPECT_EQ(StatusOf(Get(server->port(), "/throws")), 500);
  EXPECT_EQ(StatusOf(Get(server->port(), "/hello")), 200);
}

TEST_F(HttpServerTest, ManyConcurrentClients) {
  auto server = StartServer({});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (StatusOf(Get(server->port(), "/hello")) == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 200);
}

TEST_F(HttpServerTest, StopsCleanlyWithOpenConnectionsAndRefusesAfterwards) {
  auto server = StartServer({});
  const uint16_t port = server->port();
  RawClient idle(port);
  ASSERT_TRUE(idle.connected());
  const auto start = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  server->Stop();  // idempotent
  EXPECT_EQ(idle.ReadAll(1s), "");
  RawClient after(port);
  EXPECT_FALSE(after.connected());
}

TEST_F(HttpServerTest, AddRouteRulesAndBindErrors) {
  HttpServer server({});
  EXPECT_TRUE(server.AddRoute("/a", [](const HttpRequest&) { return HttpResponse{}; }).ok());
  EXPECT_FALSE(server.AddRoute("/a", [](const HttpRequest&) { return HttpResponse{}; }).ok());
  EXPECT_FALSE(server.AddRoute("a", [](const HttpRequest&) { return HttpResponse{}; }).ok());

  auto first = StartServer({});
  EXPECT_FALSE(first->AddRoute("/b", [](const HttpRequest&) { return HttpResponse{}; }).ok());
  HttpServerOptions same;
  same.address = {"127.0.0.1", first->port()};
  HttpServer second(same);
  Status st = second.Start();
  EXPECT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_NE(st.message().find(std::to_string(first->port())), std::string::npos);
}

}  // namespace
}  // namespace sluice::server
