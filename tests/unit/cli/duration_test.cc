#include "sluice/cli/duration.h"

#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

TEST(DurationArg, ParsesUnitsAndRefusesTheRest) {
  EXPECT_EQ(*ParseDurationArg("168h"), 168LL * 3600 * 1000);
  EXPECT_EQ(*ParseDurationArg("7d"), 7LL * 86400 * 1000);
  EXPECT_EQ(*ParseDurationArg("1w"), 7LL * 86400 * 1000);
  EXPECT_EQ(*ParseDurationArg("0s"), 0);
  EXPECT_EQ(*ParseDurationArg("90m"), 90LL * 60 * 1000);
  EXPECT_EQ(*ParseDurationArg("250ms"), 250);
  for (const char* bad : {"", "h", "7", "7 d", "-1s", "7days", "1.5h"}) {
    EXPECT_FALSE(ParseDurationArg(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatDuration(7LL * 86400 * 1000), "7d");
  EXPECT_EQ(FormatDuration(3 * 3600 * 1000), "3h");
  EXPECT_EQ(FormatDuration(0), "0ms");
}

}  // namespace
}  // namespace sluice::cli
