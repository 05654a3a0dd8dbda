#include "sluice/delta/z85.h"

#include <gtest/gtest.h>

#include <random>

namespace sluice::delta {
namespace {

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(Z85Test, RfcExample) {
  // ZeroMQ RFC 32 test vector.
  const std::string bytes = FromHex("864fd26fb559f75b");
  EXPECT_EQ(Z85Encode(bytes), "HelloWorld");
  auto decoded = Z85Decode("HelloWorld");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, bytes);
}

TEST(Z85Test, DeltaProtocolUuidExample) {
  // PROTOCOL.md "JSON Example 1": pathOrInlineDv "ab^-aqEH.-t@S}K{vb[*k^" is
  // prefix "ab" + the UUID d2c639aa-8816-431a-aaf6-d3fe2512ff61.
  const std::string uuid = FromHex("d2c639aa8816431aaaf6d3fe2512ff61");
  EXPECT_EQ(Z85Encode(uuid), "^-aqEH.-t@S}K{vb[*k^");
  auto decoded = Z85Decode("^-aqEH.-t@S}K{vb[*k^");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, uuid);
}

TEST(Z85Test, DeltaProtocolInlineExample) {
  // PROTOCOL.md "JSON Example 3" (40 bytes).
  auto decoded = Z85Decode("wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, FromHex("6439d3d0000000010000001c3a300000010000000000050010000000"
                              "0300040007000b0012001d00"));
}

TEST(Z85Test, EmptyAndExtremes) {
  EXPECT_EQ(Z85Encode(""), "");
  EXPECT_EQ(*Z85Decode(""), "");
  EXPECT_EQ(Z85Encode(std::string(4, '\0')), "00000");
  EXPECT_EQ(Z85Encode(std::string(4, '\xff')), "%nSc0");
  EXPECT_EQ(*Z85Decode("%nSc0"), std::string(4, '\xff'));
}

TEST(Z85Test, UnalignedInputIsZeroPadded) {
  // Like Delta's codec: pad to 4 bytes; the decoder returns the padding.
  const std::string enc = Z85Encode("abcde");
  EXPECT_EQ(enc.size(), 10u);
  auto dec = Z85Decode(enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, std::string("abcde\0\0\0", 8));
}

TEST(Z85Test, RoundTripRandom) {
  std::mt19937 rng(42);
  for (size_t len = 0; len < 200; len += 4) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    auto dec = Z85Decode(Z85Encode(bytes));
    ASSERT_TRUE(dec.ok());
    EXPECT_EQ(*dec, bytes);
  }
}

TEST(Z85Test, RejectsBadInput) {
  EXPECT_TRUE(Z85Decode("abcd").status().IsInvalid());    // length
  EXPECT_TRUE(Z85Decode("abc\"d").status().IsInvalid());  // char
  EXPECT_TRUE(Z85Decode("abc d").status().IsInvalid());   // space
  EXPECT_TRUE(Z85Decode(std::string("ab\0cd", 5)).status().IsInvalid());
  EXPECT_TRUE(Z85Decode("abc\xc3\xa9").status().IsInvalid());  // non-ASCII
  EXPECT_TRUE(Z85Decode("#####").status().IsInvalid());        // > 2^32-1
  EXPECT_TRUE(Z85Decode("%nSc1").status().IsInvalid());        // 2^32
  auto st = Z85Decode("00000abc~d").status();
  EXPECT_NE(st.message().find("position 8"), std::string::npos) << st;
}

}  // namespace
}  // namespace sluice::delta
