#include "sluice/server/listen_address.h"

#include <gtest/gtest.h>

#include "sluice/server/bearer_token.h"

namespace sluice::server {
namespace {

TEST(ListenAddress, Parses) {
  auto def = ParseListenAddress("");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->host, "127.0.0.1");
  EXPECT_EQ(def->port, 9400);

  auto v4 = ParseListenAddress("0.0.0.0:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "0.0.0.0");
  EXPECT_EQ(v4->port, 8080);

  auto v6 = ParseListenAddress("[::1]:9401");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "[::1]:9401");

  auto port_only = ParseListenAddress("9500");
  ASSERT_TRUE(port_only.ok());
  EXPECT_EQ(port_only->ToString(), "127.0.0.1:9500");

  for (const char* bad : {"localhost", ":9400", "host:", "host:99999", "host:12a", "::1:9400",
                          "[::1]", "[::1]9400", "[]:1", "a:b:c"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
}

TEST(ListenAddress, NonLoopbackNeedsTokenOrInsecure) {
  for (const char* host : {"127.0.0.1", "127.3.4.5", "::1", "localhost"}) {
    EXPECT_TRUE(CheckBindAllowed({host, 9400}, false, false).ok()) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.1.2.3", "192.168.1.1"}) {
    Status refused = CheckBindAllowed({host, 9400}, false, false);
    EXPECT_TRUE(refused.IsInvalid()) << host;
    EXPECT_NE(refused.message().find("--http-token"), std::string::npos);
    EXPECT_NE(refused.message().find("--http-insecure"), std::string::npos);
    EXPECT_TRUE(CheckBindAllowed({host, 9400}, true, false).ok()) << host;
    EXPECT_TRUE(CheckBindAllowed({host, 9400}, false, true).ok()) << host;
  }
  EXPECT_FALSE(CheckBindAllowed({"no such host.invalid", 1}, false, false).ok());
}

TEST(BearerToken, ConstantTimeEqualsIsEquality) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcabc", "abc"));  // wraps around the secret
  EXPECT_FALSE(ConstantTimeEquals("", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("x", ""));
}

TEST(BearerToken, HeaderForm) {
  std::string ok = "Bearer t0k";
  std::string lower = "bearer t0k";
  std::string basic = "Basic t0k";
  std::string bare = "t0k";
  std::string empty_token = "Bearer ";
  EXPECT_TRUE(BearerTokenMatches(&ok, "t0k"));
  EXPECT_TRUE(BearerTokenMatches(&lower, "t0k"));
  EXPECT_FALSE(BearerTokenMatches(&basic, "t0k"));
  EXPECT_FALSE(BearerTokenMatches(&bare, "t0k"));
  EXPECT_FALSE(BearerTokenMatches(nullptr, "t0k"));
  EXPECT_FALSE(BearerTokenMatches(&empty_token, ""));
}

}  // namespace
}  // namespace sluice::server
