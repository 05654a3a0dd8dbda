#include "sluice/server/http_request.h"

#include <algorithm>
#include <cctype>

namespace sluice::server {
namespace {

constexpr std::string_view kCrlf = "\r\n";

ParseResult Error(int status, std::string reason) {
  ParseResult r;
  r.outcome = ParseOutcome::kError;
  r.error_status = status;
  r.error = std::move(reason);
  return r;
}

// RFC 9110 tchar.
bool IsTokenChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return IsTokenChar(static_cast<unsigned char>(c));
  });
}

// Visible ASCII, space and tab (field-value); obs-text (>= 0x80) is refused.
bool IsFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c < 0x7f);
  });
}

// RFC 3986 pchar plus '/', without percent-decoding: routes are exact paths.
bool IsPathChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
    case '%':
      return true;
    default:
      return false;
  }
}

bool IsQueryChar(unsigned char c) { return IsPathChar(c) || c == '?'; }

// True if any segment is "." or ".." (also percent-encoded: %2e), or the path
// holds an encoded '/' or '\': attempts to leave the routes' namespace.
bool HasTraversal(std::string_view path) {
  std::string lower(path);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("%2f") != std::string::npos || lower.find("%5c") != std::string::npos ||
      lower.find("%00") != std::string::npos) {
    return true;
  }
  size_t start = 1;
  while (start <= lower.size()) {
    size_t end = lower.find('/', start);
    if (end == std::string::npos) end = lower.size();
    std::string_view seg = std::string_view(lower).substr(start, end - start);
    if (seg == "." || seg == ".." || seg == "%2e" || seg == "%2e%2e" || seg == ".%2e" ||
        seg == "%2e.") {
      return true;
    }
    start = end + 1;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Parses "METHOD SP target SP HTTP/1.x" into `req`; returns an error result
// or kComplete (meaning only "the line is valid").
ParseResult ParseRequestLine(std::string_view line, HttpRequest* req) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return Error(400, "malformed request line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Error(400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);

  if (!IsToken(method)) return Error(400, "malformed method");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return Error(400, "malformed HTTP version");
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return Error(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  req->version_minor = version[7] - '0';

  if (method == "GET") {
    req->method = HttpMethod::kGet;
  } else if (method == "HEAD") {
    req->method = HttpMethod::kHead;
  } else {
    return Error(405, "only GET and HEAD are allowed");
  }

  if (target.empty() || target.front() != '/') {
    // absolute-form ("http://host/x"), authority-form, asterisk-form.
    return Error(400, "request target must be a path");
  }
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (!std::all_of(path.begin(), path.end(),
                   [](char c) { return IsPathChar(static_cast<unsigned char>(c)); }) ||
      !std::all_of(query.begin(), query.end(),
                   [](char c) { return IsQueryChar(static_cast<unsigned char>(c)); })) {
    return Error(400, "invalid character in request target");
  }
  if (HasTraversal(path)) return Error(400, "dot segments or encoded separators in path");
  req->target = std::string(target);
  req->path = std::string(path);
  req->query = std::string(query);
  ParseResult ok;
  ok.outcome = ParseOutcome::kComplete;
  return ok;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

ParseResult ParseHttpRequest(std::string_view bytes, const HttpParserLimits& limits) {
  HttpRequest req;
  // Tolerate the blank lines RFC 9112 §2.2 allows before a request line.
  size_t pos = 0;
  while (bytes.substr(pos, 2) == kCrlf) pos += 2;

  size_t line_end = bytes.find(kCrlf, pos);
  // A request line is printable ASCII; anything else (a TLS handshake, a
  // binary probe) is refused at once rather than after the timeout.
  const size_t seen_end = line_end == std::string_view::npos ? bytes.size() : line_end;
  for (size_t i = pos; i < seen_end; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if ((c < 0x20 && c != '\r') || c >= 0x7f) return Error(400, "malformed request line");
  }
  if (seen_end - pos > limits.max_request_line_bytes) {
    return Error(414, "request line too long");
  }
  if (line_end == std::string_view::npos) {
    if (bytes.size() > limits.max_head_bytes) return Error(431, "request head too large");
    return ParseResult{};
  }
  if (line_end + 2 > limits.max_head_bytes) return Error(431, "request head too large");
  // A bad request line is refused at once, without waiting for the headers.
  ParseResult line = ParseRequestLine(bytes.substr(pos, line_end - pos), &req);
  if (line.outcome == ParseOutcome::kError) return line;
  pos = line_end + 2;

  int host_count = 0;
  while (true) {
    size_t end = bytes.find(kCrlf, pos);
    if (end == std::string_view::npos) {
      if (bytes.size() > limits.max_head_bytes) return Error(431, "request head too large");
      return ParseResult{};
    }
    if (end + 2 > limits.max_head_bytes) return Error(431, "request head too large");
    std::string_view field = bytes.substr(pos, end - pos);
    pos = end + 2;
    if (field.empty()) break;  // end of head
    if (field.front() == ' ' || field.front() == '\t') {
      return Error(400, "obsolete line folding");
    }
    if (req.headers.size() >= limits.max_headers) return Error(431, "too many header fields");
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) return Error(400, "malformed header field");
    std::string_view name = field.substr(0, colon);
    if (!IsToken(name)) return Error(400, "malformed header name");
    std::string_view value = Trim(field.substr(colon + 1));
    if (!IsFieldValue(value)) return Error(400, "invalid character in header value");
    std::string key = Lower(name);
    if (key == "host") ++host_count;
    if (key == "transfer-encoding") return Error(400, "request bodies are not accepted");
    if (key == "content-length" && value != "0") {
      return Error(400, "request bodies are not accepted");
    }
    req.headers.emplace_back(std::move(key), std::string(value));
  }
  if (req.version_minor == 1 && host_count != 1) {
    return Error(400, "HTTP/1.1 needs exactly one Host header");
  }
  if (host_count > 1) return Error(400, "more than one Host header");

  ParseResult done;
  done.outcome = ParseOutcome::kComplete;
  done.request = std::move(req);
  done.consumed = pos;
  return done;
}

}  // namespace sluice::server
