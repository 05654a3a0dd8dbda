// libFuzzer target: arbitrary bytes through the embedded server's request
// parser (server/http_request.h), whole and split at every point a slow
// client could stop. Any crash or sanitizer report is a bug, and so is a
// parse that breaks the parser's promises: a complete request whose path
// does not start with '/', holds a dot segment, or whose head is longer than
// the input or the limit; an error without a 4xx/5xx status; a prefix that
// completes while the whole input is an error at an earlier byte.
// Seed corpus: tests/data/fuzz/http_request/.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sluice/server/http_request.h"

using sluice::server::HttpParserLimits;
using sluice::server::ParseHttpRequest;
using sluice::server::ParseOutcome;
using sluice::server::ParseResult;

namespace {

void Check(std::string_view bytes, const HttpParserLimits& limits) {
  ParseResult r = ParseHttpRequest(bytes, limits);
  switch (r.outcome) {
    case ParseOutcome::kComplete: {
      const auto& path = r.request.path;
      if (path.empty() || path.front() != '/') std::abort();
      if (path.find("/../") != std::string_view::npos || path.find("/./") != std::string_view::npos)
        std::abort();
      if (path.size() >= 3 && path.substr(path.size() - 3) == "/..") std::abort();
      if (r.consumed == 0 || r.consumed > bytes.size() || r.consumed > limits.max_head_bytes)
        std::abort();
      if (r.request.target.rfind(path, 0) != 0) std::abort();
      break;
    }
    case ParseOutcome::kError:
      if (r.error_status < 400 || r.error_status > 599 || r.error.empty()) std::abort();
      break;
    case ParseOutcome::kIncomplete:
      if (bytes.size() > limits.max_head_bytes) std::abort();
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  HttpParserLimits small;
  small.max_head_bytes = 512;
  small.max_headers = 8;
  Check(bytes, HttpParserLimits{});
  Check(bytes, small);
  // What the server sees as a request trickles in: every prefix.
  if (size <= 2048) {
    for (size_t n = 0; n < size; n += 1 + n / 64) Check(bytes.substr(0, n), small);
  }
  return 0;
}
