// The libcurl HTTP client (io/http_client.h) against a real local server
// (the status server's, server/http_server.h): answers of any status come
// back as responses, headers go out, transport failures are IOErrors.
#include "sluice/io/http_client.h"

#include <gtest/gtest.h>

#include "sluice/server/http_server.h"

namespace sluice::io {
namespace {

TEST(CurlHttpClient, GetsAnswersOfAnyStatusAndSendsHeaders) {
  server::HttpServerOptions opts;
  opts.address.port = 0;
  server::HttpServer srv(opts);
  std::string seen_auth;
  ASSERT_TRUE(srv.AddRoute("/schemas/ids/1",
                           [&](const server::HttpRequest& req) {
                             const std::string* auth =
                                 req.Header("authorization");  // stored lowercased
                             seen_auth = auth ? *auth : "";
                             return server::HttpResponse::Text(200, R"({"schema":"\"string\""})");
                           })
                  .ok());
  ASSERT_TRUE(srv.Start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(srv.port());
  auto client = MakeCurlHttpClient();
  auto ok = client->Get(base + "/schemas/ids/1", {{"Authorization", "Basic eDp5"}});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, std::string(R"({"schema":"\"string\""})") + "\n");  // Text() ends the line
  EXPECT_EQ(seen_auth, "Basic eDp5");
  auto missing = client->Get(base + "/nope", {});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  srv.Stop();
  // Nothing listens any more.
  auto down = client->Get(base + "/schemas/ids/1", {});
  EXPECT_TRUE(down.status().IsIOError()) << down.status();
  EXPECT_NE(down.status().message().find(base), std::string::npos);
}

TEST(CurlHttpClient, CapsTheBody) {
  server::HttpServerOptions opts;
  opts.address.port = 0;
  server::HttpServer srv(opts);
  ASSERT_TRUE(srv.AddRoute("/big",
                           [](const server::HttpRequest&) {
                             return server::HttpResponse::Text(200, std::string(10000, 'x'));
                           })
                  .ok());
  ASSERT_TRUE(srv.Start().ok());
  CurlHttpOptions small;
  small.max_body_bytes = 1000;
  auto r =
      MakeCurlHttpClient(small)->Get("http://127.0.0.1:" + std::to_string(srv.port()) + "/big", {});
  EXPECT_TRUE(r.status().IsIOError());
  EXPECT_NE(r.status().message().find("exceeds 1000 bytes"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace sluice::io
