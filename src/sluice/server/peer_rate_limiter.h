// A request budget per client address (a token bucket each): a flood from one
// client is refused cheaply (429) while every other client (the kubelet's
// probes, Prometheus, a browser) keeps its own budget. Per peer rather than
// one global budget, because a global one would let any flooding client
// fail everyone's probes and scrapes.
//
// The table of peers is bounded: a peer whose bucket has refilled completely
// is forgotten (it is indistinguishable from a new one); when the table is
// full of busy peers, the one seen least recently is forgotten (it gets a
// fresh burst back: a client with many addresses is not contained by a
// per-address limit anyway).
//
// Thread-safety: none; the server thread owns it. Time is passed in, so
// tests drive it with their own clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace sluice::server {

struct PeerRateLimitOptions {
  /// Sustained requests per second each peer may make; 0: no limit.
  double requests_per_second = 0;
  /// Requests a peer may make at once after being idle (the bucket's size);
  /// at least 1.
  double burst = 1;
  /// Peers remembered at once (at least 1).
  size_t max_peers = 1024;
};

class PeerRateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit PeerRateLimiter(PeerRateLimitOptions options);

  struct Decision {
    bool admitted = true;
    /// When refused: whole seconds until the peer has a request again (>= 1).
    int retry_after_s = 0;
  };

  /// Charges one request of `peer` (an address, as text) at `now`; refuses
  /// it when the peer's budget is spent. `now` must not go backwards.
  Decision Admit(const std::string& peer, TimePoint now);

  /// Peers currently remembered.
  size_t peers() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last;
  };
  /// Makes room for one more peer.
  void Evict(TimePoint now);

  PeerRateLimitOptions options_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace sluice::server
