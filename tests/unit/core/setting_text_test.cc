#include "sluice/core/setting_text.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(SettingText, ParseInt64TakesWholeIntegersOnly) {
  EXPECT_EQ(ParseInt64("42"), 42);
  EXPECT_EQ(ParseInt64("-7"), -7);
  EXPECT_EQ(ParseInt64("+7"), 7);
  EXPECT_EQ(ParseInt64(" 9"), 9);  // leading space, as std::stoll allows
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt64(""), std::nullopt);
  EXPECT_EQ(ParseInt64("12x"), std::nullopt);
  EXPECT_EQ(ParseInt64("1.5"), std::nullopt);
  EXPECT_EQ(ParseInt64("9 "), std::nullopt);
  EXPECT_EQ(ParseInt64("abc"), std::nullopt);
  EXPECT_EQ(ParseInt64("9223372036854775808"), std::nullopt);
}

TEST(SettingText, SplitListTrimsAndDropsEmptyItems) {
  EXPECT_EQ(SplitList("a, b,\tc ,,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(SplitList(""), std::vector<std::string>{});
  EXPECT_EQ(SplitList("one"), std::vector<std::string>{"one"});
}

}  // namespace
}  // namespace sluice
