#include "sluice/server/peer_rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace sluice::server {

PeerRateLimiter::PeerRateLimiter(PeerRateLimitOptions options) : options_(options) {
  options_.burst = std::max(options_.burst, 1.0);
  options_.max_peers = std::max<size_t>(options_.max_peers, 1);
}

PeerRateLimiter::Decision PeerRateLimiter::Admit(const std::string& peer, TimePoint now) {
  if (options_.requests_per_second <= 0) return {};
  auto it = buckets_.find(peer);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_peers) Evict(now);
    it = buckets_.emplace(peer, Bucket{options_.burst, now}).first;
  }
  Bucket& bucket = it->second;
  const double elapsed_s = std::chrono::duration<double>(now - bucket.last).count();
  bucket.tokens = std::min(options_.burst,
                           bucket.tokens + std::max(0.0, elapsed_s) * options_.requests_per_second);
  bucket.last = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return {};
  }
  const double wait_s = (1 - bucket.tokens) / options_.requests_per_second;
  return {false, std::max(1, static_cast<int>(std::ceil(wait_s)))};
}

void PeerRateLimiter::Evict(TimePoint now) {
  // Time after which an untouched bucket is full again.
  const auto refill = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options_.burst / options_.requests_per_second));
  std::erase_if(buckets_, [&](const auto& entry) { return now - entry.second.last >= refill; });
  if (buckets_.size() < options_.max_peers) return;
  auto least_recent =
      std::min_element(buckets_.begin(), buckets_.end(),
                       [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
  buckets_.erase(least_recent);
}

}  // namespace sluice::server
