#include "sluice/server/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::server {
namespace {

ParseResult Parse(const std::string& bytes, HttpParserLimits limits = {}) {
  return ParseHttpRequest(bytes, limits);
}

TEST(HttpRequestParser, ParsesGetWithQueryAndHeaders) {
  ParseResult r = Parse(
      "GET /api/status?x=1 HTTP/1.1\r\nHost: localhost:9400\r\nAuthorization:  Bearer abc \r\n"
      "Accept: */*\r\n\r\n");
  ASSERT_EQ(r.outcome, ParseOutcome::kComplete) << r.error;
  EXPECT_EQ(r.request.method, HttpMethod::kGet);
  EXPECT_EQ(r.request.path, "/api/status");
  EXPECT_EQ(r.request.query, "x=1");
  EXPECT_EQ(r.request.version_minor, 1);
  ASSERT_NE(r.request.Header("authorization"), nullptr);
  EXPECT_EQ(*r.request.Header("authorization"), "Bearer abc");
  EXPECT_EQ(r.request.Header("missing"), nullptr);
}

TEST(HttpRequestParser, HeadAndHttp10WithoutHost) {
  ParseResult r = Parse("HEAD /metrics HTTP/1.0\r\n\r\n");
  ASSERT_EQ(r.outcome, ParseOutcome::kComplete) << r.error;
  EXPECT_EQ(r.request.method, HttpMethod::kHead);
  EXPECT_EQ(r.request.version_minor, 0);
}

TEST(HttpRequestParser, ConsumedStopsAtEndOfHead) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  ParseResult r = Parse(head + "GET /next HTTP/1.1\r\n");
  ASSERT_EQ(r.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(r.consumed, head.size());
}

TEST(HttpRequestParser, IncompleteUntilBlankLine) {
  std::string full = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(Parse(full.substr(0, n)).outcome, ParseOutcome::kIncomplete) << n;
  }
  EXPECT_EQ(Parse(full).outcome, ParseOutcome::kComplete);
}

TEST(HttpRequestParser, OtherMethodsAre405) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "get"}) {
    ParseResult r = Parse(std::string(method) + " / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.outcome, ParseOutcome::kError) << method;
    EXPECT_EQ(r.error_status, 405) << method;
  }
}

TEST(HttpRequestParser, AbsoluteAuthorityAndAsteriskFormsAreRefused) {
  for (const char* target : {"http://evil.example/metrics", "evil.example:80", "*", "metrics"}) {
    ParseResult r = Parse(std::string("GET ") + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.outcome, ParseOutcome::kError) << target;
    EXPECT_EQ(r.error_status, 400) << target;
  }
}

TEST(HttpRequestParser, PathTraversalIsRefused) {
  for (const char* target :
       {"/../etc/passwd", "/a/../../etc/passwd", "/./metrics", "/%2e%2e/etc/passwd", "/%2E%2E/x",
        "/.%2e/x", "/a%2fb", "/a%5c..%5cb", "/..", "/x/.", "/a%00b", "/a\\b"}) {
    ParseResult r = Parse(std::string("GET ") + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.outcome, ParseOutcome::kError) << target;
    EXPECT_EQ(r.error_status, 400) << target;
  }
  // Dots inside a segment are ordinary characters.
  EXPECT_EQ(Parse("GET /a..b/.x HTTP/1.1\r\nHost: a\r\n\r\n").outcome, ParseOutcome::kComplete);
}

TEST(HttpRequestParser, ControlBytesAndSpacesInTargetAreRefused) {
  for (std::string target : {std::string("/a\x01"), std::string("/a\x7f"), std::string("/\xc3\xa9"),
                             std::string("/a#frag")}) {
    ParseResult r = Parse("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.error_status, 400) << target;
  }
  EXPECT_EQ(Parse("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n").error_status, 400);
}

TEST(HttpRequestParser, BinaryBytesAreRefusedBeforeALineEnd) {
  EXPECT_EQ(Parse(std::string("\x16\x03\x01\x02\x00", 5)).error_status, 400);
  EXPECT_EQ(Parse("GET /\x80").error_status, 400);
  EXPECT_EQ(Parse("GET /metr").outcome, ParseOutcome::kIncomplete);
}

TEST(HttpRequestParser, VersionsOtherThan10And11) {
  EXPECT_EQ(Parse("GET / HTTP/2.0\r\n\r\n").error_status, 505);
  EXPECT_EQ(Parse("GET / HTTP/1.2\r\n\r\n").error_status, 505);
  EXPECT_EQ(Parse("GET / HTTP/1\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / FTP/1.1\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET /\r\n\r\n").error_status, 400);
}

TEST(HttpRequestParser, BadRequestLineIsRefusedBeforeTheHeadersArrive) {
  ParseResult r = Parse("GET http://x/ HTTP/1.1\r\nHost: a\r\n");
  EXPECT_EQ(r.outcome, ParseOutcome::kError);
  EXPECT_EQ(r.error_status, 400);
}

TEST(HttpRequestParser, MalformedHeaders) {
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nName : x\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"
                  "b\r\n\r\n")
                .error_status,
            400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n").error_status, 400);
}

TEST(HttpRequestParser, Http11NeedsExactlyOneHost) {
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n").error_status, 400);
}

TEST(HttpRequestParser, BodiesAreRefused) {
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                .error_status,
            400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").outcome,
            ParseOutcome::kComplete);
}

TEST(HttpRequestParser, HugeHeadIs431EvenWithoutLineEnds) {
  HttpParserLimits limits;
  limits.max_head_bytes = 1024;
  std::string no_crlf = "GET /" + std::string(2000, 'a');
  EXPECT_EQ(Parse(no_crlf, limits).error_status, 431);
  std::string big_header =
      "GET / HTTP/1.1\r\nHost: a\r\nCookie: " + std::string(2000, 'c') + "\r\n\r\n";
  EXPECT_EQ(Parse(big_header, limits).error_status, 431);
  // Exactly at the limit is fine.
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  head += std::string(limits.max_head_bytes - head.size() - 4, 'x') + "\r\n\r\n";
  ASSERT_EQ(head.size(), limits.max_head_bytes);
  EXPECT_EQ(Parse(head, limits).outcome, ParseOutcome::kComplete);
  EXPECT_EQ(Parse(head.substr(0, head.size() - 2) + "y\r\n\r\n", limits).error_status, 431);
}

TEST(HttpRequestParser, LongRequestLineIs414) {
  HttpParserLimits limits;
  limits.max_request_line_bytes = 100;
  const std::string target = "/" + std::string(200, 'a');
  EXPECT_EQ(Parse("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n", limits).error_status, 414);
  // Told before the line ends, so a client cannot hold the server waiting.
  EXPECT_EQ(Parse("GET " + target, limits).error_status, 414);
  // Exactly at the limit is fine.
  std::string line = "GET /";
  line += std::string(limits.max_request_line_bytes - line.size() - 9, 'a') + " HTTP/1.1";
  ASSERT_EQ(line.size(), limits.max_request_line_bytes);
  EXPECT_EQ(Parse(line + "\r\nHost: a\r\n\r\n", limits).outcome, ParseOutcome::kComplete);
  EXPECT_EQ(Parse(line, limits).outcome, ParseOutcome::kIncomplete);
  // Defaults: a 100 KB target is 414, a 64 KB header 431.
  EXPECT_EQ(Parse("GET /" + std::string(100000, 'a') + " HTTP/1.1\r\n").error_status, 414);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nCookie: " + std::string(65536, 'c') + "\r\n").error_status,
            431);
}

TEST(HttpRequestParser, TooManyHeaderFieldsIs431) {
  HttpParserLimits limits;
  limits.max_headers = 3;
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits).outcome,
            ParseOutcome::kComplete);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).error_status,
            431);
}

TEST(HttpRequestParser, BareLineFeedsAreRefused) {
  // Only CRLF ends a line (no request smuggling through lenient line ends).
  EXPECT_EQ(Parse("GET / HTTP/1.1\nHost: a\n\n").error_status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n").error_status, 400);
}

}  // namespace
}  // namespace sluice::server
