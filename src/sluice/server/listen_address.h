// Where the embedded server listens, and the rule that keeps it private by
// default: a loopback address needs nothing; any other address needs a
// bearer token or an explicit "insecure" choice by the operator
// (`sluice run --http ADDR [--http-token T | --http-insecure]`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::server {

inline constexpr std::string_view kDefaultListenAddress = "127.0.0.1:9400";

struct ListenAddress {
  std::string host;   ///< numeric IPv4/IPv6 (no brackets) or a host name
  uint16_t port = 0;  ///< 0: the kernel picks a free port

  /// "host:port", IPv6 hosts in brackets.
  std::string ToString() const;
};

/// \brief Parses "HOST:PORT", "[V6]:PORT" or "PORT" (loopback). An empty
/// string is kDefaultListenAddress. Returns Status::Invalid naming the input
/// for anything else (missing port, port > 65535, stray brackets).
Result<ListenAddress> ParseListenAddress(std::string_view text);

/// \brief True if every address `host` resolves to is a loopback address
/// (127.0.0.0/8, ::1, IPv4-mapped 127/8). An unresolvable host is an error.
/// The wildcard addresses (0.0.0.0, ::) are not loopback.
Result<bool> IsLoopbackHost(const std::string& host);

/// \brief OK if serving on `address` is allowed: a loopback address always;
/// any other only with `has_token` or `insecure`. Otherwise Status::Invalid
/// with a message telling the operator which flag to add.
Status CheckBindAllowed(const ListenAddress& address, bool has_token, bool insecure);

}  // namespace sluice::server
