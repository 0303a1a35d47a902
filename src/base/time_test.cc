#include "base/time.h"

#include <gtest/gtest.h>

namespace sbx {
namespace {

TEST(TimeTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1'767'225'600'123)), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(951'782'400'000)), "2000-02-29T00:00:00.000Z");
}

TEST(TimeTest, ParsesFractionsAndOffsets) {
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2026-01-01T00:00:00Z")), 1'767'225'600'000);
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2026-01-01T00:00:00.5Z")), 1'767'225'600'500);
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2026-01-01T00:00:00.123456789Z")), 1'767'225'600'123);
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2026-01-01T01:30:00+01:30")), 1'767'225'600'000);
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2025-12-31T22:00:00-02:00")), 1'767'225'600'000);
}

TEST(TimeTest, RoundTrips) {
  const SystemTime t = FromUnixMillis(1'800'000'000'987);
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339(t)), t);
}

TEST(TimeTest, RejectsMalformedTimes) {
  for (const char* bad : {"", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z",
                          "2026-01-01T25:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00Zx",
                          "2026-01-01T00:00:00+0100", "x026-01-01T00:00:00Z"}) {
    auto r = ParseRfc3339(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(TimeTest, RejectsYearsItCannotRepresentAndDaysThatDoNotExist) {
  // 2262 overflows a nanosecond SystemTime; 2100 is fine, 2300 is refused.
  ASSERT_TRUE(ParseRfc3339("2199-12-31T23:59:59Z").ok());
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2100-01-01T00:00:00Z")), "2100-01-01T00:00:00.000Z");
  EXPECT_EQ(ParseRfc3339("2300-01-01T00:00:00Z").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRfc3339("9999-12-31T23:59:59Z").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59Z").error().code(), StatusCode::kInvalidArgument);
  // An offset does not carry a time out of the years either.
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00+01:00").error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("1970-01-01T00:00:00-01:00")), 3'600'000);
  EXPECT_FALSE(ParseRfc3339("2026-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2026-04-31T00:00:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("2028-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z").ok());
}

TEST(DurationTest, ParsesUnitsAndCombinations) {
  EXPECT_EQ(*ParseDuration("3s"), Millis(3000));
  EXPECT_EQ(*ParseDuration("2m"), Millis(120'000));
  EXPECT_EQ(*ParseDuration("1h30m"), Millis(5'400'000));
  EXPECT_EQ(*ParseDuration("500ms"), Millis(500));
  EXPECT_EQ(*ParseDuration("1m30s"), Millis(90'000));
  EXPECT_EQ(*ParseDuration("0"), Millis(0));
  EXPECT_EQ(*ParseDuration("7d"), Millis(7 * 86'400'000));
  EXPECT_EQ(*ParseDuration("1d12h"), Millis(36 * 3'600'000));
}

TEST(DurationTest, RejectsGarbage) {
  for (const char* bad : {"", "3", "s", "-3s", "3x", "3 s", "1h30", "99999999999999h", "1D", "d",
                          "999999999999d", "666661666669d9d67"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

TEST(DurationTest, FormatsShortestForm) {
  EXPECT_EQ(FormatDuration(Millis(180'000)), "3m");
  EXPECT_EQ(FormatDuration(Millis(5'400'000)), "1h30m");
  EXPECT_EQ(FormatDuration(Millis(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(Millis(0)), "0s");
  EXPECT_EQ(*ParseDuration(FormatDuration(Millis(3'723'000))), Millis(3'723'000));
}

TEST(DurationTest, LongDurationsWithMillisecondsReadBack) {
  // 13 digits of milliseconds would be more than ParseDuration reads.
  const Millis long_one(2'551'000'000'003);
  EXPECT_EQ(FormatDuration(long_one), "708611h6m40s3ms");
  EXPECT_EQ(*ParseDuration(FormatDuration(long_one)), long_one);
  EXPECT_EQ(FormatDuration(Millis(999'999'999'999)), "999999999999ms");
}

}  // namespace
}  // namespace sbx
