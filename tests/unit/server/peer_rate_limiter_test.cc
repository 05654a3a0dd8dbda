#include "sluice/server/peer_rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace sluice::server {
namespace {

using namespace std::chrono_literals;
using TimePoint = PeerRateLimiter::TimePoint;

// A fixed start; the tests advance it by hand (the limiter takes `now`).
const TimePoint kStart = TimePoint{} + 1000s;

PeerRateLimiter Make(double per_second, double burst, size_t max_peers = 1024) {
  PeerRateLimitOptions options;
  options.requests_per_second = per_second;
  options.burst = burst;
  options.max_peers = max_peers;
  return PeerRateLimiter(options);
}

// Requests admitted out of `n` from `peer` at `now`.
int AdmittedOf(PeerRateLimiter& limiter, const std::string& peer, int n, TimePoint now) {
  int admitted = 0;
  for (int i = 0; i < n; ++i) admitted += limiter.Admit(peer, now).admitted ? 1 : 0;
  return admitted;
}

TEST(PeerRateLimiterTest, ZeroRateAdmitsEverythingAndRemembersNoOne) {
  PeerRateLimiter limiter = Make(0, 1);
  EXPECT_EQ(AdmittedOf(limiter, "10.0.0.1", 10000, kStart), 10000);
  EXPECT_EQ(limiter.peers(), 0u);
}

TEST(PeerRateLimiterTest, BurstThenRefusedWithRetryAfter) {
  PeerRateLimiter limiter = Make(20, 40);
  EXPECT_EQ(AdmittedOf(limiter, "10.0.0.1", 40, kStart), 40);
  PeerRateLimiter::Decision refused = limiter.Admit("10.0.0.1", kStart);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after_s, 1);  // 1/20 s rounded up to whole seconds
}

TEST(PeerRateLimiterTest, RetryAfterCoversASlowRefill) {
  PeerRateLimiter limiter = Make(0.25, 1);  // one request every 4 s
  EXPECT_TRUE(limiter.Admit("p", kStart).admitted);
  PeerRateLimiter::Decision refused = limiter.Admit("p", kStart + 1s);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after_s, 3);
  EXPECT_FALSE(limiter.Admit("p", kStart + 3900ms).admitted);
  EXPECT_TRUE(limiter.Admit("p", kStart + 4s).admitted);
}

TEST(PeerRateLimiterTest, RefillsAtTheRateUpToTheBurst) {
  PeerRateLimiter limiter = Make(20, 40);
  EXPECT_EQ(AdmittedOf(limiter, "p", 40, kStart), 40);
  // Half a second later: 10 more, not 11.
  EXPECT_EQ(AdmittedOf(limiter, "p", 20, kStart + 500ms), 10);
  // A long pause refills the bucket to the burst, no further.
  EXPECT_EQ(AdmittedOf(limiter, "p", 100, kStart + 1h), 40);
  // Sustained: one request every 50 ms is always admitted.
  TimePoint now = kStart + 1h;
  for (int i = 0; i < 200; ++i) {
    now += 50ms;
    EXPECT_TRUE(limiter.Admit("p", now).admitted) << i;
  }
}

TEST(PeerRateLimiterTest, PeersHaveTheirOwnBudgets) {
  PeerRateLimiter limiter = Make(20, 40);
  EXPECT_EQ(AdmittedOf(limiter, "127.0.0.1", 1000, kStart), 40);
  EXPECT_EQ(AdmittedOf(limiter, "127.0.0.2", 40, kStart), 40);
  EXPECT_EQ(AdmittedOf(limiter, "::1", 40, kStart), 40);
  EXPECT_EQ(limiter.peers(), 3u);
}

TEST(PeerRateLimiterTest, TableIsBoundedForgettingIdlePeersFirst) {
  PeerRateLimiter limiter = Make(1, 2, /*max_peers=*/3);
  // "busy" spends its budget; the others are idle once their bucket has
  // refilled (2 s).
  limiter.Admit("a", kStart);
  limiter.Admit("b", kStart);
  EXPECT_EQ(AdmittedOf(limiter, "busy", 5, kStart + 10s), 2);
  EXPECT_EQ(limiter.peers(), 3u);
  limiter.Admit("c", kStart + 10s);
  EXPECT_EQ(limiter.peers(), 2u);  // a and b forgotten (full again), busy kept
  EXPECT_FALSE(limiter.Admit("busy", kStart + 10s).admitted);
}

TEST(PeerRateLimiterTest, FullOfBusyPeersForgetsTheLeastRecent) {
  PeerRateLimiter limiter = Make(1, 2, /*max_peers=*/2);
  EXPECT_EQ(AdmittedOf(limiter, "old", 3, kStart), 2);
  EXPECT_EQ(AdmittedOf(limiter, "recent", 3, kStart + 100ms), 2);
  EXPECT_EQ(AdmittedOf(limiter, "new", 3, kStart + 200ms), 2);
  EXPECT_EQ(limiter.peers(), 2u);
  // "recent" was kept with its spent budget; "old" starts afresh.
  EXPECT_FALSE(limiter.Admit("recent", kStart + 200ms).admitted);
  EXPECT_EQ(AdmittedOf(limiter, "old", 3, kStart + 200ms), 2);
  for (int i = 0; i < 5000; ++i) limiter.Admit("peer" + std::to_string(i), kStart + 1s);
  EXPECT_EQ(limiter.peers(), 2u);
}

}  // namespace
}  // namespace sluice::server
