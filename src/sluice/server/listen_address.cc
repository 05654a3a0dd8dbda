#include "sluice/server/listen_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace sluice::server {
namespace {

Result<uint16_t> ParsePort(std::string_view digits, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      value > 65535) {
    return Status::Invalid(fmt::format("invalid listen address '{}': bad port", whole));
  }
  return static_cast<uint16_t>(value);
}

bool IsLoopbackSockaddr(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

std::string ListenAddress::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  if (text.empty()) text = kDefaultListenAddress;
  ListenAddress out;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    out.host = "127.0.0.1";
    ARROW_ASSIGN_OR_RAISE(out.port, ParsePort(text, text));
    return out;
  }
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':' ||
        close == 1) {
      return Status::Invalid(fmt::format("invalid listen address '{}': expected [V6]:PORT", text));
    }
    out.host = std::string(text.substr(1, close - 1));
    ARROW_ASSIGN_OR_RAISE(out.port, ParsePort(text.substr(close + 2), text));
    return out;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 ||
      text.substr(0, colon).find_first_of(":[]") != std::string_view::npos) {
    return Status::Invalid(fmt::format("invalid listen address '{}': expected HOST:PORT", text));
  }
  out.host = std::string(text.substr(0, colon));
  ARROW_ASSIGN_OR_RAISE(out.port, ParsePort(text.substr(colon + 1), text));
  return out;
}

Result<bool> IsLoopbackHost(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    return Status::Invalid(
        fmt::format("cannot resolve listen host '{}': {}", host, gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (!IsLoopbackSockaddr(ai->ai_addr)) return false;
  }
  return true;
}

Status CheckBindAllowed(const ListenAddress& address, bool has_token, bool insecure) {
  ARROW_ASSIGN_OR_RAISE(bool loopback, IsLoopbackHost(address.host));
  if (loopback || has_token || insecure) return Status::OK();
  return Status::Invalid(fmt::format(
      "refusing to serve metrics and status on non-loopback address {} without a token: "
      "add --http-token TOKEN, or --http-insecure to serve it to anyone who can connect",
      address.ToString()));
}

}  // namespace sluice::server
