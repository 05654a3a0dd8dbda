#include "sluice/server/ops_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sluice/server/status_page.h"
#include "test_client.h"

namespace sluice::server {
namespace {

using testing::BodyOf;
using testing::Get;
using testing::StatusOf;

class OpsRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddCounter("sluice_events_ingested_total", "Events.", {"table"})
        .ValueOrDie()
        ->WithLabels({"db.t"})
        .ValueOrDie()
        ->Increment(5);
    TableStatus t;
    t.name = "db.t";
    board_.Publish(t);
  }
  std::unique_ptr<HttpServer> Start(std::string token = "") {
    HttpServerOptions options;
    options.address = {"127.0.0.1", 0};
    options.token = std::move(token);
    auto server = std::make_unique<HttpServer>(options);
    OpsRouteOptions routes;
    routes.now_ms = [] { return int64_t{42}; };
    Status st = AddOpsRoutes(server.get(), &registry_, &board_, routes);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(server->Start().ok());
    return server;
  }
  MetricsRegistry registry_;
  StatusBoard board_{{"p", "v", 0, 1000, 60}};
};

TEST_F(OpsRoutesTest, ServesTheFiveRoutes) {
  auto server = Start();
  std::string metrics = Get(server->port(), "/metrics");
  EXPECT_EQ(StatusOf(metrics), 200);
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(BodyOf(metrics).find("sluice_events_ingested_total{table=\"db.t\"} 5\n"),
            std::string::npos);
  EXPECT_NE(BodyOf(metrics).find("process_resident_memory_bytes "), std::string::npos);

  EXPECT_EQ(BodyOf(Get(server->port(), "/healthz")), "ok\n");
  EXPECT_EQ(StatusOf(Get(server->port(), "/readyz")), 200);

  std::string status = Get(server->port(), "/api/status");
  EXPECT_NE(status.find("Content-Type: application/json\r\n"), std::string::npos);
  auto doc = nlohmann::json::parse(BodyOf(status));
  EXPECT_EQ(doc["generated_at_ms"], 42);
  EXPECT_EQ(doc["tables"][0]["name"], "db.t");

  std::string page = Get(server->port(), "/");
  EXPECT_EQ(StatusOf(page), 200);
  EXPECT_NE(page.find("Content-Security-Policy: default-src 'none';"), std::string::npos);
  EXPECT_EQ(BodyOf(page), std::string(StatusPageHtml()));
}

TEST_F(OpsRoutesTest, ReadyzFlipsWhenATableStops) {
  auto server = Start();
  EXPECT_EQ(StatusOf(Get(server->port(), "/readyz")), 200);
  TableStatus t;
  t.name = "db.t";
  t.state = TableState::kStopped;
  t.state_reason = "schema change refused";
  board_.Publish(t);
  std::string answer = Get(server->port(), "/readyz");
  EXPECT_EQ(StatusOf(answer), 503);
  EXPECT_EQ(BodyOf(answer), "not ready: stopped: db.t (schema change refused)\n");
  EXPECT_EQ(StatusOf(Get(server->port(), "/healthz")), 200);  // alive all the same
}

TEST_F(OpsRoutesTest, TokenGuardsDataButNotPageShellOrHealthz) {
  auto server = Start("tok");
  EXPECT_EQ(StatusOf(Get(server->port(), "/metrics")), 401);
  EXPECT_EQ(StatusOf(Get(server->port(), "/api/status")), 401);
  EXPECT_EQ(StatusOf(Get(server->port(), "/readyz")), 401);
  EXPECT_EQ(StatusOf(Get(server->port(), "/")), 200);
  EXPECT_EQ(StatusOf(Get(server->port(), "/healthz")), 200);
  EXPECT_EQ(StatusOf(Get(server->port(), "/metrics", "Authorization: Bearer tok\r\n")), 200);
}

TEST(StatusPage, SelfContained) {
  std::string_view page = StatusPageHtml();
  EXPECT_EQ(page.substr(0, 15), "<!doctype html>");
  EXPECT_NE(page.find("</html>"), std::string_view::npos);
  EXPECT_NE(page.find("api/status"), std::string_view::npos);
  EXPECT_NE(page.find("name=\"viewport\""), std::string_view::npos);
  // No external assets: nothing loaded from another origin.
  for (const char* needle : {"http://", "https://", "src=", "<link", "@import", "//cdn"}) {
    std::string_view rest = page;
    // The SVG namespace URI is an identifier, not a fetch.
    size_t at = rest.find(needle);
    while (at != std::string_view::npos && rest.substr(at, 26) == "http://www.w3.org/2000/svg") {
      at = rest.find(needle, at + 1);
    }
    EXPECT_EQ(at, std::string_view::npos) << needle;
  }
}

}  // namespace
}  // namespace sluice::server
