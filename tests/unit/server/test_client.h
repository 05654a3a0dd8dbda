// A blocking loopback client for the server tests: sends raw bytes (so tests
// can send what no well-behaved client would) and reads the answer.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::server::testing {

class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  /// False if the peer closed or reset.
  bool Send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  /// Everything until the server closes, or `timeout` passes.
  std::string ReadAll(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

/// One request on a fresh connection; the whole answer.
inline std::string Exchange(uint16_t port, std::string_view request) {
  RawClient client(port);
  if (!client.connected() || !client.Send(request)) return "";
  return client.ReadAll();
}

/// "GET path" with a Host header and optional extra header lines.
inline std::string Get(uint16_t port, std::string_view path, std::string_view extra = "") {
  return Exchange(port, "GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n" +
                            std::string(extra) + "\r\n");
}

/// The status code of a raw answer ("HTTP/1.1 404 ..." -> 404), 0 if none.
inline int StatusOf(std::string_view answer) {
  if (answer.size() < 12 || answer.substr(0, 9) != "HTTP/1.1 ") return 0;
  return std::stoi(std::string(answer.substr(9, 3)));
}

/// The body of a raw answer.
inline std::string BodyOf(std::string_view answer) {
  size_t end = answer.find("\r\n\r\n");
  return end == std::string_view::npos ? "" : std::string(answer.substr(end + 4));
}

}  // namespace sluice::server::testing
