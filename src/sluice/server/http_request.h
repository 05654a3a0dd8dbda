// The HTTP/1.1 request parser of the embedded server: a decoder of untrusted
// bytes (fuzzed by fuzz/http_request_fuzz.cc). It accepts only what the
// server serves: GET/HEAD in origin-form ("/path?query"), HTTP/1.0 or 1.1, no
// body. Anything else is an error naming the HTTP status to answer with, so a
// client never reaches a handler with a request the router did not expect.
//
// Grammar accepted (RFC 9112, strict: CRLF line ends, no obs-fold):
//   request-line = method SP origin-form SP "HTTP/1." ("0" / "1") CRLF
//   header-field = token ":" OWS field-value OWS CRLF
//   head         = request-line *( header-field ) CRLF
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::server {

enum class HttpMethod { kGet, kHead };

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string target;     ///< as received: path plus "?query" if any
  std::string path;       ///< target up to '?', never empty, starts with '/'
  std::string query;      ///< after '?', without it; not decoded
  int version_minor = 1;  ///< HTTP/1.<version_minor>
  /// Header fields in arrival order; names lower-cased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;

  /// The value of the first header named `name` (lower case), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct HttpParserLimits {
  size_t max_head_bytes = 16 * 1024;  ///< request line + headers + blank line
  /// The request line alone (method, target, version); a longer one is 414.
  size_t max_request_line_bytes = 8 * 1024;
  size_t max_headers = 64;
};

enum class ParseOutcome {
  kIncomplete,  ///< no complete head yet and under the size limit: read more
  kComplete,    ///< `request` is valid; `consumed` bytes form its head
  kError,       ///< answer `error_status` (400, 405, 414, 431, 505) and close
};

struct ParseResult {
  ParseOutcome outcome = ParseOutcome::kIncomplete;
  HttpRequest request;   ///< set when kComplete
  size_t consumed = 0;   ///< head length when kComplete
  int error_status = 0;  ///< set when kError
  std::string error;     ///< short reason when kError (safe to echo back)
};

/// \brief Parses the head of one request from the start of `bytes`.
///
/// Never reads past `bytes`; any input, however malformed, returns a result
/// (no exception, no crash). Errors: 400 malformed, absolute-form or asterisk
/// target, dot segments or control bytes in the path, a body
/// (Content-Length > 0 or Transfer-Encoding), HTTP/1.1 without exactly one
/// Host; 405 a method other than GET/HEAD; 414 a request line longer than
/// `limits.max_request_line_bytes` (told as soon as that many bytes came
/// without a line end); 431 a head longer than `limits.max_head_bytes` or
/// more than `limits.max_headers` fields;
/// 505 a version other than HTTP/1.0 and HTTP/1.1.
ParseResult ParseHttpRequest(std::string_view bytes, const HttpParserLimits& limits = {});

}  // namespace sluice::server
