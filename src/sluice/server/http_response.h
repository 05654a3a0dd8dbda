// What a route handler returns, and its serialization on the wire. Every
// response closes the connection (one request per connection keeps the
// server's state machine small; browsers and scrapers reconnect cheaply on
// loopback).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::server {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// Extra header fields (e.g. WWW-Authenticate, Content-Security-Policy).
  std::vector<std::pair<std::string, std::string>> headers;

  /// A text/plain response with `body` followed by a newline.
  static HttpResponse Text(int status, std::string_view body);
};

/// The standard reason phrase of `status` ("Not Found"), "Unknown" if none.
std::string_view ReasonPhrase(int status);

/// \brief The response as bytes: status line, Content-Type, Content-Length,
/// Connection: close, Cache-Control: no-store, X-Content-Type-Options:
/// nosniff, the extra headers, then the body unless `head_only` (HEAD gets
/// the same Content-Length as GET, RFC 9110 §9.3.2).
std::string SerializeResponse(const HttpResponse& response, bool head_only);

}  // namespace sluice::server
