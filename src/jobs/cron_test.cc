#include "jobs/cron.h"

#include <string>

#include <gtest/gtest.h>

namespace sbx::jobs {
namespace {

using namespace std::chrono_literals;

SystemTime At(std::string_view rfc3339) {
  Result<SystemTime> t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.has_value() ? *t : SystemTime{};
}

CronSchedule MustParse(std::string_view text) {
  Result<CronSchedule> s = CronSchedule::Parse(text);
  EXPECT_TRUE(s.has_value()) << text << ": " << s.status().ToString();
  if (!s.has_value()) return *CronSchedule::Parse("* * * * *");
  return *std::move(s);
}

// Next fire after `from`, formatted for readable failures.
std::string NextAfter(std::string_view schedule, std::string_view from) {
  return FormatRfc3339(MustParse(schedule).Next(At(from)));
}

// The error message of a schedule that must fail to parse.
std::string ParseError(std::string_view text) {
  Result<CronSchedule> s = CronSchedule::Parse(text);
  EXPECT_FALSE(s.has_value()) << text;
  if (s.has_value()) return "";
  EXPECT_EQ(s.error().code(), StatusCode::kInvalidArgument) << text;
  return s.error().message();
}

TEST(CronScheduleTest, ParsesValidForms) {
  for (std::string_view text : {"* * * * *",
                                "*/2 * * * *",
                                "0 0 * * *",
                                "5,10,15 1-5 1,15 * *",
                                "0-30/10 */3 * * *",
                                "0 9 * * MON-FRI",
                                "0 9 * * mon-fri",
                                "0 0 1 JAN,jul *",
                                "0 0 * jan-MAR sun",
                                "0 0 * * 7",
                                "0 0 * * 0-7",
                                "0 0 * * FRI-SUN",
                                "5/15 * * * *",
                                "59 23 31 12 6",
                                "  0   0 \t * * *  ",
                                "0 0 29 2 *",
                                "@every 2s",
                                "@every 1h30m",
                                "@EVERY 500ms",
                                "@hourly",
                                "@daily",
                                "@midnight",
                                "@weekly",
                                "@monthly",
                                "@yearly",
                                "@annually",
                                "@Daily",
                                "0 0 31 1-12 *",
                                "0 0 30 2,3 *"}) {
    EXPECT_TRUE(CronSchedule::Parse(text).has_value()) << text;
  }
}

TEST(CronScheduleTest, ToStringReturnsOriginalText) {
  EXPECT_EQ(MustParse("*/2 * * * *").ToString(), "*/2 * * * *");
  EXPECT_EQ(MustParse("  0 0 * * MON ").ToString(), "  0 0 * * MON ");
  EXPECT_EQ(MustParse("@every 1h30m").ToString(), "@every 1h30m");
  EXPECT_EQ(MustParse("@Daily").ToString(), "@Daily");
}

TEST(CronScheduleTest, EveryExposesInterval) {
  EXPECT_EQ(MustParse("@every 1h30m").every(), Millis(90 * 60 * 1000));
  EXPECT_EQ(MustParse("*/2 * * * *").every(), std::nullopt);
}

TEST(CronScheduleTest, RejectsOutOfRangeValuesNamingTheField) {
  EXPECT_EQ(ParseError("61 * * * *"), "cron field \"minute\": value 61 out of range 0-59");
  EXPECT_EQ(ParseError("* 24 * * *"), "cron field \"hour\": value 24 out of range 0-23");
  EXPECT_EQ(ParseError("* * 0 * *"), "cron field \"day-of-month\": value 0 out of range 1-31");
  EXPECT_EQ(ParseError("* * 32 * *"), "cron field \"day-of-month\": value 32 out of range 1-31");
  EXPECT_EQ(ParseError("* * * 13 *"), "cron field \"month\": value 13 out of range 1-12");
  EXPECT_EQ(ParseError("* * * 0 *"), "cron field \"month\": value 0 out of range 1-12");
  EXPECT_EQ(ParseError("* * * * 8"), "cron field \"day-of-week\": value 8 out of range 0-7");
  EXPECT_EQ(ParseError("0-60 * * * *"), "cron field \"minute\": value 60 out of range 0-59");
  EXPECT_EQ(ParseError("99999999999 * * * *"),
            "cron field \"minute\": invalid value \"99999999999\"");
}

TEST(CronScheduleTest, RejectsMalformedFields) {
  EXPECT_EQ(ParseError("x * * * *"), "cron field \"minute\": invalid value \"x\"");
  EXPECT_EQ(ParseError("* * * * MONDAY"), "cron field \"day-of-week\": invalid value \"MONDAY\"");
  EXPECT_EQ(ParseError("* * * JANUARY *"), "cron field \"month\": invalid value \"JANUARY\"");
  // Names only belong to the month and weekday fields.
  EXPECT_EQ(ParseError("* * JAN * *"), "cron field \"day-of-month\": invalid value \"JAN\"");
  EXPECT_EQ(ParseError("* * * * 1.5"), "cron field \"day-of-week\": invalid value \"1.5\"");
  EXPECT_EQ(ParseError("-1 * * * *"), "cron field \"minute\": missing value in \"-1\"");
  EXPECT_EQ(ParseError("* 1- * * *"), "cron field \"hour\": missing value in \"1-\"");
  EXPECT_EQ(ParseError("1,,2 * * * *"), "cron field \"minute\": empty list item in \"1,,2\"");
  EXPECT_EQ(ParseError("1, * * * *"), "cron field \"minute\": empty list item in \"1,\"");
  EXPECT_EQ(ParseError("*/0 * * * *"),
            "cron field \"minute\": step 0 in \"*/0\" must be at least 1");
  EXPECT_EQ(ParseError("*/x * * * *"), "cron field \"minute\": invalid step \"x\" in \"*/x\"");
  EXPECT_EQ(ParseError("*/ * * * *"), "cron field \"minute\": invalid step \"\" in \"*/\"");
  EXPECT_EQ(ParseError("*/2/3 * * * *"),
            "cron field \"minute\": invalid step \"2/3\" in \"*/2/3\"");
  EXPECT_EQ(ParseError("* 5-3 * * *"), "cron field \"hour\": range \"5-3\" runs backwards (5 > 3)");
  EXPECT_EQ(ParseError("* * * * SAT-MON"),
            "cron field \"day-of-week\": range \"SAT-MON\" runs backwards (6 > 1)");
  EXPECT_EQ(ParseError("1-2-3 * * * *"), "cron field \"minute\": invalid value \"2-3\"");
}

TEST(CronScheduleTest, RejectsWrongFieldCountAndEmptyText) {
  EXPECT_EQ(ParseError(""), "empty cron schedule");
  EXPECT_EQ(ParseError(" \t "), "empty cron schedule");
  EXPECT_EQ(ParseError("* * * *"),
            "cron schedule \"* * * *\" has 4 fields, want 5 (minute hour day-of-month month "
            "day-of-week)");
  EXPECT_EQ(ParseError("0 * * * * *"),
            "cron schedule \"0 * * * * *\" has 6 fields, want 5 (minute hour day-of-month month "
            "day-of-week)");
}

TEST(CronScheduleTest, RejectsBadAliasesAndIntervals) {
  EXPECT_EQ(ParseError("@reboot"),
            "unknown cron alias \"@reboot\" (want @every <duration>, @hourly, @daily, @midnight, "
            "@weekly, @monthly, @yearly or @annually)");
  EXPECT_EQ(ParseError("@daily extra"),
            "cron schedule \"@daily extra\": @daily takes no arguments");
  EXPECT_EQ(ParseError("@"),
            "unknown cron alias \"@\" (want @every <duration>, @hourly, @daily, "
            "@midnight, @weekly, @monthly, @yearly or @annually)");
  EXPECT_EQ(ParseError("@every"),
            "cron schedule \"@every\": want \"@every <duration>\", e.g. \"@every 2s\"");
  EXPECT_EQ(ParseError("@every 1s 2s"),
            "cron schedule \"@every 1s 2s\": want \"@every <duration>\", e.g. \"@every 2s\"");
  EXPECT_EQ(ParseError("@every 0"),
            "cron schedule \"@every 0\": @every interval must be greater than 0");
  EXPECT_EQ(ParseError("@every 0s"),
            "cron schedule \"@every 0s\": @every interval must be greater than 0");
  EXPECT_NE(ParseError("@every 2x").find("cron schedule \"@every 2x\": invalid duration \"2x\""),
            std::string::npos);
  EXPECT_NE(ParseError("@every -1s").find("invalid duration"), std::string::npos);
}

TEST(CronScheduleTest, RejectsSchedulesThatNeverFire) {
  EXPECT_EQ(ParseError("0 0 30 2 *"),
            "cron schedule \"0 0 30 2 *\" never fires: no allowed month has the allowed "
            "day-of-month");
  EXPECT_FALSE(CronSchedule::Parse("0 0 31 2,4,6,9,11 *").has_value());
  EXPECT_FALSE(CronSchedule::Parse("0 0 30-31 FEB *").has_value());
  // With a restricted weekday the OR rule makes them fire on that weekday.
  EXPECT_EQ(NextAfter("0 0 30 2 MON", "2026-01-01T00:00:00Z"), "2026-02-02T00:00:00.000Z");
}

TEST(CronScheduleTest, EveryTwoMinutes) {
  EXPECT_EQ(NextAfter("*/2 * * * *", "2026-03-04T10:00:00Z"), "2026-03-04T10:02:00.000Z");
  EXPECT_EQ(NextAfter("*/2 * * * *", "2026-03-04T10:01:59.999Z"), "2026-03-04T10:02:00.000Z");
  EXPECT_EQ(NextAfter("*/2 * * * *", "2026-03-04T10:02:00Z"), "2026-03-04T10:04:00.000Z");
  EXPECT_EQ(NextAfter("*/2 * * * *", "2026-03-04T10:02:00.000001Z"), "2026-03-04T10:04:00.000Z");
  EXPECT_EQ(NextAfter("*/2 * * * *", "2026-03-04T23:59:00Z"), "2026-03-05T00:00:00.000Z");
}

TEST(CronScheduleTest, ResultIsAWholeMinute) {
  const SystemTime next = MustParse("* * * * *").Next(At("2026-03-04T10:00:30.123456Z"));
  EXPECT_EQ(next, At("2026-03-04T10:01:00Z"));
  EXPECT_EQ(next.time_since_epoch() % std::chrono::minutes(1), SystemTime::duration::zero());
}

TEST(CronScheduleTest, HourlyAndDaily) {
  EXPECT_EQ(NextAfter("@hourly", "2026-03-04T10:00:00Z"), "2026-03-04T11:00:00.000Z");
  EXPECT_EQ(NextAfter("@hourly", "2026-03-04T10:59:59Z"), "2026-03-04T11:00:00.000Z");
  EXPECT_EQ(NextAfter("@hourly", "2026-03-04T23:30:00Z"), "2026-03-05T00:00:00.000Z");
  EXPECT_EQ(NextAfter("@daily", "2026-03-04T00:00:00Z"), "2026-03-05T00:00:00.000Z");
  EXPECT_EQ(NextAfter("@midnight", "2026-03-04T12:00:00Z"), "2026-03-05T00:00:00.000Z");
  EXPECT_EQ(NextAfter("30 6 * * *", "2026-03-04T06:29:00Z"), "2026-03-04T06:30:00.000Z");
  EXPECT_EQ(NextAfter("30 6 * * *", "2026-03-04T06:30:00Z"), "2026-03-05T06:30:00.000Z");
  EXPECT_EQ(NextAfter("15,45 9-17/4 * * *", "2026-03-04T09:20:00Z"), "2026-03-04T09:45:00.000Z");
  EXPECT_EQ(NextAfter("15,45 9-17/4 * * *", "2026-03-04T09:45:00Z"), "2026-03-04T13:15:00.000Z");
  EXPECT_EQ(NextAfter("15,45 9-17/4 * * *", "2026-03-04T17:45:00Z"), "2026-03-05T09:15:00.000Z");
  EXPECT_EQ(NextAfter("5/20 * * * *", "2026-03-04T09:46:00Z"), "2026-03-04T10:05:00.000Z");
}

TEST(CronScheduleTest, WeeklyMonthlyYearly) {
  // 2026-03-04 is a Wednesday.
  EXPECT_EQ(NextAfter("@weekly", "2026-03-04T10:00:00Z"), "2026-03-08T00:00:00.000Z");
  EXPECT_EQ(NextAfter("@monthly", "2026-03-04T10:00:00Z"), "2026-04-01T00:00:00.000Z");
  EXPECT_EQ(NextAfter("@yearly", "2026-03-04T10:00:00Z"), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(NextAfter("@annually", "2026-01-01T00:00:00Z"), "2027-01-01T00:00:00.000Z");
}

TEST(CronScheduleTest, DayOfWeekNamesAndSeven) {
  // 2026-03-04 is a Wednesday; Sunday is 03-08.
  EXPECT_EQ(NextAfter("0 0 * * 0", "2026-03-04T10:00:00Z"), "2026-03-08T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 * * 7", "2026-03-04T10:00:00Z"), "2026-03-08T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 * * sun", "2026-03-04T10:00:00Z"), "2026-03-08T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 9 * * MON-FRI", "2026-03-06T09:00:00Z"), "2026-03-09T09:00:00.000Z");
  EXPECT_EQ(NextAfter("0 9 * * FRI-SUN", "2026-03-04T10:00:00Z"), "2026-03-06T09:00:00.000Z");
  EXPECT_EQ(NextAfter("0 9 * * FRI-SUN", "2026-03-07T09:00:00Z"), "2026-03-08T09:00:00.000Z");
  EXPECT_EQ(NextAfter("0 9 * * FRI-SUN", "2026-03-08T09:00:00Z"), "2026-03-13T09:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 * * 5-7", "2026-03-08T09:00:00Z"), "2026-03-13T00:00:00.000Z");
}

TEST(CronScheduleTest, MonthNames) {
  EXPECT_EQ(NextAfter("0 0 1 jul *", "2026-03-04T10:00:00Z"), "2026-07-01T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 1 JAN,Jul *", "2026-07-01T00:00:00Z"), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 1 oct-dec/2 *", "2026-10-01T00:00:00Z"), "2026-12-01T00:00:00.000Z");
}

TEST(CronScheduleTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 13th OR any Friday. From Wed 2026-03-04: Friday 03-06 comes first.
  EXPECT_EQ(NextAfter("0 0 13 * 5", "2026-03-04T10:00:00Z"), "2026-03-06T00:00:00.000Z");
  // From Wed 03-11: the 13th (a Friday itself) then Friday 03-20.
  EXPECT_EQ(NextAfter("0 0 13 * 5", "2026-03-11T10:00:00Z"), "2026-03-13T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 13 * 5", "2026-03-13T00:00:00Z"), "2026-03-20T00:00:00.000Z");
  // The 1st OR Monday: Monday 03-30 and then the 1st, a Wednesday.
  EXPECT_EQ(NextAfter("0 0 1 * MON", "2026-03-24T00:00:00Z"), "2026-03-30T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 1 * MON", "2026-03-30T00:00:00Z"), "2026-04-01T00:00:00.000Z");
}

TEST(CronScheduleTest, DayOfMonthAndDayOfWeekWhenOneIsStar) {
  // Day-of-week starts with `*`: both must match (odd days that are Mondays).
  // Mondays in March 2026: 2, 9, 16, 23, 30. From 03-04 the first odd one is 03-09.
  EXPECT_EQ(NextAfter("0 0 */2 * MON", "2026-03-04T00:00:00Z"), "2026-03-09T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 */2 * MON", "2026-03-09T00:00:00Z"), "2026-03-23T00:00:00.000Z");
  // Day-of-month is `*`: only the weekday matters.
  EXPECT_EQ(NextAfter("0 0 * * MON", "2026-03-04T00:00:00Z"), "2026-03-09T00:00:00.000Z");
  // Day-of-week is `*`: only the day of month matters.
  EXPECT_EQ(NextAfter("0 0 13 * *", "2026-03-04T00:00:00Z"), "2026-03-13T00:00:00.000Z");
}

TEST(CronScheduleTest, MonthEnds) {
  EXPECT_EQ(NextAfter("0 0 31 * *", "2026-04-01T00:00:00Z"), "2026-05-31T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 31 * *", "2026-05-31T00:00:00Z"), "2026-07-31T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 30 * *", "2026-01-30T00:00:00Z"), "2026-03-30T00:00:00.000Z");
  EXPECT_EQ(NextAfter("59 23 * * *", "2026-04-30T23:59:00Z"), "2026-05-01T23:59:00.000Z");
  EXPECT_EQ(NextAfter("0 12 28-31 2 *", "2026-02-28T12:00:00Z"), "2027-02-28T12:00:00.000Z");
}

TEST(CronScheduleTest, LeapDay) {
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2026-03-04T00:00:00Z"), "2028-02-29T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2028-02-29T00:00:00Z"), "2032-02-29T00:00:00.000Z");
  // 2100 is not a leap year: the gap is eight years.
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2096-02-29T00:00:00Z"), "2104-02-29T00:00:00.000Z");
  // 2000 is (divisible by 400).
  EXPECT_EQ(NextAfter("0 0 29 2 *", "1999-01-01T00:00:00Z"), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 * 2 *", "2028-02-28T00:00:00Z"), "2028-02-29T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 * 2 *", "2027-02-28T00:00:00Z"), "2028-02-01T00:00:00.000Z");
}

TEST(CronScheduleTest, YearRollover) {
  EXPECT_EQ(NextAfter("* * * * *", "2026-12-31T23:59:00Z"), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(NextAfter("*/2 * * * *", "2026-12-31T23:58:30Z"), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(NextAfter("0 0 1 1 *", "2026-12-31T23:59:59.999Z"), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(NextAfter("30 8 * NOV *", "2026-11-30T08:30:00Z"), "2027-11-01T08:30:00.000Z");
}

TEST(CronScheduleTest, EveryAddsIntervalToAfter) {
  const SystemTime t = At("2026-03-04T10:00:00.250Z");
  EXPECT_EQ(MustParse("@every 2s").Next(t), t + 2s);
  EXPECT_EQ(MustParse("@every 1h30m").Next(t), t + 90min);
  EXPECT_EQ(FormatRfc3339(MustParse("@every 1h30m").Next(t)), "2026-03-04T11:30:00.250Z");
  EXPECT_EQ(MustParse("@every 500ms").Next(t), t + 500ms);
}

TEST(CronScheduleTest, NextSaturatesAtTheEndOfTime) {
  EXPECT_EQ(MustParse("@every 2s").Next(SystemTime::max() - 1s), SystemTime::max());
  EXPECT_EQ(MustParse("* * * * *").Next(SystemTime::max() - 1s), SystemTime::max());
}

TEST(CronScheduleTest, NextIsStrictlyIncreasingOverAYear) {
  const CronSchedule s = MustParse("7 */5 1,15 * WED");
  SystemTime t = At("2026-01-01T00:00:00Z");
  int fires = 0;
  while (t < At("2027-01-01T00:00:00Z")) {
    const SystemTime next = s.Next(t);
    ASSERT_GT(next, t);
    t = next;
    ++fires;
  }
  // (24 days on the 1st/15th + 52 Wednesdays - overlaps) * 5 fires a day.
  EXPECT_GT(fires, 5 * 70);
  EXPECT_LT(fires, 5 * 80);
}

// What the enforcer's alert allows between two scheduled sweeps
// (sandboxd_enforcer_schedule_gap_seconds).
TEST(CronScheduleTest, LongestGapIsTheWidestWaitBetweenTwoFires) {
  const SystemTime from = *ParseRfc3339("2026-03-01T10:00:30Z");
  EXPECT_EQ(MustParse("@every 2m").LongestGap(from), Millis(120'000));
  EXPECT_EQ(MustParse("*/5 * * * *").LongestGap(from), Millis(5 * 60'000));
  EXPECT_EQ(MustParse("@hourly").LongestGap(from), Millis(3'600'000));
  // Weekdays at 9 and 17: Friday 17:00 to Monday 09:00.
  EXPECT_EQ(MustParse("0 9,17 * * MON-FRI").LongestGap(from), Millis((2 * 24 + 16) * 3'600'000LL));
  // A month of 31 days is the longest wait of @monthly.
  EXPECT_EQ(MustParse("@monthly").LongestGap(from), Millis(31LL * 24 * 3'600'000));
}

}  // namespace
}  // namespace sbx::jobs
