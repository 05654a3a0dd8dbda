// A small HTTP client (libcurl) for the few GETs Sluice makes to services
// that are not storage: the schema registry today. Storage goes through
// Arrow's filesystems and the object_store crate, never through this.
//
// Transport failures (no connection, timeout, TLS) are an IOError naming
// the URL; any HTTP answer, 4xx and 5xx included, is a response for the
// caller to judge. The body is capped (max_body_bytes): a larger answer is
// an IOError, so a misbehaving server cannot exhaust memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::io {

struct HttpResponse {
  int status = 0;
  std::string body;
};

/// Header lines as (name, value).
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  /// \brief GET `url` with `headers`. Thread-safe.
  virtual Result<HttpResponse> Get(const std::string& url, const HttpHeaders& headers) = 0;
};

struct CurlHttpOptions {
  double timeout_seconds = 30;
  double connect_timeout_seconds = 10;
  /// PEM file of CA certificates for https (empty: the system's).
  std::string ca_file;
  int64_t max_body_bytes = int64_t{16} << 20;
};

/// \brief The libcurl client (one easy handle per request; http and https).
std::shared_ptr<HttpClient> MakeCurlHttpClient(CurlHttpOptions options = {});

}  // namespace sluice::io
